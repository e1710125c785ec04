"""The sql server's own settings (environment prefix `TESSERA_SQL_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from mcp_servers.kit.settings import ServerSettings


class SqlSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="TESSERA_SQL_")

    allowlist_file: Path | None = Field(
        default=None,
        description="YAML or JSON file listing the readable tables (schema.table), their "
        "columns, and optional data classes and roles. Unset: the shipped allow-list over "
        "the demo plant schema plant_demo.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL of a login role of the sql server's own, member of "
        "reader_role and of nothing else (recommended in production). Unset: the "
        "application URL (TESSERA_DATABASE_URL), which switches to reader_role with SET "
        "LOCAL ROLE for each statement.",
    )
    reader_role: str = Field(
        default="tessera_sql_reader",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="Database role every statement runs as (SET LOCAL ROLE): SELECT on the "
        "allow-listed columns only. The migration creates tessera_sql_reader.",
    )
    max_rows: int = Field(
        default=200, ge=1, le=10_000,
        description="Most rows one sql.query returns; the outermost LIMIT is rewritten to "
        "min(requested, max_rows).",
    )
    statement_timeout_ms: int = Field(
        default=3000, ge=100, le=600_000,
        description="statement_timeout of each sql.query statement.",
    )
    max_statement_chars: int = Field(
        default=10_000, ge=100, le=1_000_000, description="Longest statement accepted."
    )
    max_nodes: int = Field(
        default=1500, ge=50, le=100_000,
        description="Most syntax-tree nodes in one statement (bounds the guard's own work).",
    )
    max_selects: int = Field(
        default=32, ge=1, le=1000,
        description="Most SELECTs (subqueries, CTEs, UNION branches) in one statement.",
    )
    max_tables: int = Field(
        default=8, ge=1, le=64, description="Most table references in one statement."
    )
    max_cell_chars: int = Field(
        default=2000, ge=16, le=1_000_000,
        description="Longer text values in a result are cut to this many characters.",
    )

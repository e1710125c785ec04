"""The allow-list: which tables and columns `sql.query` may read, and who may read them.

It is data, loaded from a YAML or JSON file (`TESSERA_SQL_ALLOWLIST_FILE`, the
shipped `allowlist.yaml` by default). `AllowList.visible_to(ctx)` narrows it to
what one caller may see: tables whose `roles` the caller lacks, and tables or
columns above the caller's clearance, are left out, so the guard refuses them
and `sql.describe` never mentions them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mcp_servers.kit.context import CallContext
from mcp_servers.kit.spec import DataClass

DEFAULT_FILE = Path(__file__).parent / "allowlist.yaml"
IDENTIFIER = r"^[a-z_][a-z0-9_]{0,62}$"


class ColumnRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=IDENTIFIER, description="Column name (lower case, unquoted).")
    description: str | None = Field(default=None, description="Shown by sql.describe.")
    data_class: DataClass | None = Field(
        default=None, description="The column's classification; the table's when omitted."
    )


class TableRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=r"^[a-z_][a-z0-9_]{0,62}\.[a-z_][a-z0-9_]{0,62}$",
        description="schema.table, lower case.",
    )
    description: str | None = Field(default=None, description="Shown by sql.describe.")
    data_class: DataClass = Field(default=DataClass.II, description="The table's classification.")
    roles: tuple[str, ...] = Field(
        default=(), description="Only callers with one of these roles may read it; anyone if empty."
    )
    columns: tuple[ColumnRule, ...] = Field(min_length=1, description="The readable columns.")

    @field_validator("columns", mode="before")
    @classmethod
    def _names_or_rules(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [{"name": item} if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _unique_columns(self) -> TableRule:
        names = [column.name for column in self.columns]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.name} lists a column twice")
        return self

    @property
    def schema_name(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def table_name(self) -> str:
        return self.name.split(".", 1)[1]

    def column_class(self, column: ColumnRule) -> DataClass:
        return column.data_class or self.data_class


class AllowList(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default_schema: str | None = Field(
        default=None, pattern=IDENTIFIER,
        description="Schema of a table named without one in a query.",
    )
    tables: tuple[TableRule, ...] = Field(description="The readable tables.")

    @model_validator(mode="after")
    def _safe_and_unique(self) -> AllowList:
        names = [table.name for table in self.tables]
        if len(names) != len(set(names)):
            raise ValueError("the allow-list names a table twice")
        system = [n for n in names if n.split(".")[0] in SYSTEM_SCHEMAS or n.startswith("pg_")]
        if system:
            raise ValueError(f"system catalogs cannot be allow-listed: {', '.join(system)}")
        return self

    @classmethod
    def load(cls, path: Path) -> AllowList:
        """Read a YAML (or JSON) allow-list file."""
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        return cls.model_validate(data)

    def table(self, name: str) -> TableRule | None:
        return next((table for table in self.tables if table.name == name), None)

    def visible_to(self, ctx: CallContext) -> AllowList:
        """The part of the allow-list this caller may read (role and clearance)."""
        tables = []
        for table in self.tables:
            if table.roles and not ctx.has_role(*table.roles):
                continue
            if not ctx.clearance.allows(table.data_class):
                continue
            columns = tuple(c for c in table.columns if ctx.clearance.allows(table.column_class(c)))
            if columns:
                tables.append(table.model_copy(update={"columns": columns}))
        return self.model_copy(update={"tables": tuple(tables)})

    def highest_class(self) -> DataClass:
        """The most sensitive class of data any allow-listed column holds."""
        classes = [t.column_class(c) for t in self.tables for c in t.columns] or [DataClass.I]
        return max(classes, key=lambda data_class: data_class.rank)

    def sqlglot_schema(self) -> dict[str, dict[str, dict[str, str]]]:
        """{schema: {table: {column: type}}} for sqlglot's qualifier (types are not needed)."""
        mapping: dict[str, dict[str, dict[str, str]]] = {}
        for table in self.tables:
            columns = {column.name: "unknown" for column in table.columns}
            mapping.setdefault(table.schema_name, {})[table.table_name] = columns
        return mapping


SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})

"""Where the host's tables come from: its migration set, applied after the core's."""

from __future__ import annotations

from pathlib import Path

from mcp_servers.kit.store.migrate import MigrationSet

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def host_migrations() -> MigrationSet:
    return MigrationSet.from_directory("host", MIGRATIONS)

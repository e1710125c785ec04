"""Versioned, plain-SQL migrations, per component.

A component (the kit's `core`, each server, later the host) ships a folder of
files named `NNNN_description.sql`. `migrate` applies the ones a database lacks,
each in its own transaction, under an advisory lock so two processes never
migrate at once, and records what ran (version, name, checksum) in
`tessera_schema_migrations`. It refuses a database that is newer than the code,
and one whose applied migrations were edited afterwards.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from mcp_servers.kit.errors import Conflict, UpstreamUnavailable

CORE_MIGRATIONS = Path(__file__).parent / "migrations"
FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
LOCK_KEY = 7_263_544_001  # pg_advisory_lock key reserved for migrations

LEDGER = """
CREATE TABLE IF NOT EXISTS tessera_schema_migrations (
    component  text        NOT NULL,
    version    integer     NOT NULL,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""


class MigrationError(Conflict):
    """The database and the code disagree about the schema."""


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class MigrationSet:
    """All migrations of one component, in version order."""

    component: str
    migrations: tuple[Migration, ...]

    @classmethod
    def from_directory(cls, component: str, directory: Path) -> MigrationSet:
        if not directory.is_dir():
            raise ValueError(f"{directory}: the migrations folder of {component!r} does not exist")
        found = []
        for path in sorted(directory.glob("*.sql")):
            match = FILE_PATTERN.match(path.name)
            if not match:
                raise ValueError(f"{path}: migration files are named NNNN_description.sql")
            found.append(Migration(component, int(match[1]), match[2], path.read_text()))
        versions = [m.version for m in found]
        if versions != list(range(1, len(found) + 1)):
            raise ValueError(f"{directory}: versions must run 1, 2, 3… without gaps: {versions}")
        return cls(component, tuple(found))

    @property
    def latest(self) -> int:
        return self.migrations[-1].version if self.migrations else 0


@dataclass(frozen=True)
class Applied:
    component: str
    version: int
    name: str


def core_migrations() -> MigrationSet:
    return MigrationSet.from_directory("core", CORE_MIGRATIONS)


def migrate(admin_url: str, sets: list[MigrationSet]) -> list[Applied]:
    """Bring the database up to date; return the migrations that ran now."""
    with _connect(admin_url) as conn:
        _require_vector(conn)
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            conn.execute(LEDGER)
            recorded = _recorded(conn)
            for migration_set in sets:
                _check_not_newer(migration_set, recorded)
                _check_unchanged(migration_set, recorded)
            applied = []
            for migration_set in sets:
                for migration in migration_set.migrations:
                    if (migration.component, migration.version) in recorded:
                        continue
                    _apply(conn, migration)
                    applied.append(Applied(migration.component, migration.version, migration.name))
            return applied
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


def status(admin_url: str, sets: list[MigrationSet]) -> list[tuple[str, int, int]]:
    """(component, applied version, latest version in the code) for each set."""
    with _connect(admin_url) as conn:
        conn.execute(LEDGER)
        recorded = _recorded(conn)
    result = []
    for migration_set in sets:
        versions = [v for (c, v) in recorded if c == migration_set.component]
        result.append((migration_set.component, max(versions, default=0), migration_set.latest))
    return result


def check_current(admin_url: str, sets: list[MigrationSet]) -> None:
    """Raise `MigrationError` unless the database is exactly at the code's schema."""
    with _connect(admin_url) as conn:
        conn.execute(LEDGER)
        recorded = _recorded(conn)
    for migration_set in sets:
        _check_not_newer(migration_set, recorded)
        _check_unchanged(migration_set, recorded)
        applied = max((v for (c, v) in recorded if c == migration_set.component), default=0)
        if applied < migration_set.latest:
            raise MigrationError(
                f"The database's {migration_set.component!r} schema is at version {applied}; "
                f"this code needs {migration_set.latest}. Run `tessera db migrate` first."
            )


def _connect(admin_url: str) -> psycopg.Connection:
    try:
        return psycopg.connect(admin_url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise UpstreamUnavailable(f"Cannot connect to the database: {_first_line(exc)}") from None


def _require_vector(conn: psycopg.Connection) -> None:
    row = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"
    ).fetchone()
    if row is None:
        raise MigrationError(
            "This PostgreSQL server lacks the pgvector extension ('vector'). Install pgvector "
            "0.8 or newer on it (e.g. the postgresql-NN-pgvector package, or build it from "
            "github.com/pgvector/pgvector), or unset TESSERA_DATABASE_URL to use Tessera's "
            "embedded PostgreSQL."
        )


def _recorded(conn: psycopg.Connection) -> dict[tuple[str, int], str]:
    rows = conn.execute(
        "SELECT component, version, checksum FROM tessera_schema_migrations"
    ).fetchall()
    return {(component, version): checksum for component, version, checksum in rows}


def _check_not_newer(migration_set: MigrationSet, recorded: dict[tuple[str, int], str]) -> None:
    newest = max((v for (c, v) in recorded if c == migration_set.component), default=0)
    if newest > migration_set.latest:
        raise MigrationError(
            f"The database's {migration_set.component!r} schema is at version {newest}, newer "
            f"than this code knows ({migration_set.latest}). Upgrade Tessera before using "
            "this database."
        )


def _check_unchanged(migration_set: MigrationSet, recorded: dict[tuple[str, int], str]) -> None:
    for migration in migration_set.migrations:
        checksum = recorded.get((migration.component, migration.version))
        if checksum is not None and checksum != migration.checksum:
            raise MigrationError(
                f"Migration {migration.component}/{migration.version:04d}_{migration.name} was "
                "edited after it was applied. Restore the original file and add a new migration."
            )


def _apply(conn: psycopg.Connection, migration: Migration) -> None:
    with conn.transaction():
        conn.execute(migration.sql)
        conn.execute(
            "INSERT INTO tessera_schema_migrations (component, version, name, checksum) "
            "VALUES (%s, %s, %s, %s)",
            (migration.component, migration.version, migration.name, migration.checksum),
        )


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

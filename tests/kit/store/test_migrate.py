"""Migrations on a scratch database of this module's own (the session database is shared)."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from mcp_servers.kit.errors import UpstreamUnavailable
from mcp_servers.kit.store.migrate import (
    CORE_MIGRATIONS,
    LOCK_KEY,
    Applied,
    MigrationError,
    MigrationSet,
    core_migrations,
    migrate,
    status,
)
from mcp_servers.memory import definition as memory_definition
from tessera import runtime
from tests.helpers import free_port

BOUND_S = 30.0
MEMORY_MIGRATIONS = memory_definition.migrations
assert MEMORY_MIGRATIONS is not None


def real_sets() -> list[MigrationSet]:
    memory = memory_definition.migration_set()
    assert memory is not None
    return [core_migrations(), memory]


def write_set(directory: Path, component: str, files: dict[str, str]) -> MigrationSet:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return MigrationSet.from_directory(component, directory)


def ledger(url: str, component: str | None = None) -> list[tuple[str, int, str, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT component, version, name, checksum FROM tessera_schema_migrations "
            "WHERE %(c)s::text IS NULL OR component = %(c)s ORDER BY component, version",
            {"c": component}).fetchall()


@pytest.fixture(scope="module")
def scratch_url(database) -> Iterator[str]:
    name = f"tessera_migrate_{uuid.uuid4().hex[:10]}"
    with database.admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield runtime.with_dbname(database.admin_url, name)
    finally:
        with database.admin() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                          .format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def first_run(scratch_url: str) -> list[Applied]:
    """What the first migration of the empty scratch database applied."""
    return migrate(scratch_url, real_sets())


def test_first_run_applies_core_then_memory(first_run):
    expected = [Applied(component, int(path.name[:4]), path.stem[5:])
                for component, directory in (("core", CORE_MIGRATIONS),
                                             ("memory", MEMORY_MIGRATIONS))
                for path in sorted(directory.glob("*.sql"))]
    assert first_run == expected
    assert [a.component for a in first_run][:1] == ["core"]


def test_the_ledger_records_each_migration_with_its_file_checksum(scratch_url, first_run):
    expected = sorted(
        (component, int(path.name[:4]), path.stem[5:],
         hashlib.sha256(path.read_text().encode()).hexdigest())
        for component, directory in (("core", CORE_MIGRATIONS), ("memory", MEMORY_MIGRATIONS))
        for path in directory.glob("*.sql"))
    assert [row for row in ledger(scratch_url) if row[0] in ("core", "memory")] == expected


def test_the_schema_exists_after_migrating(scratch_url, first_run):
    with psycopg.connect(scratch_url, autocommit=True) as conn:
        tables = {row[0] for row in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind = 'r'").fetchall()}
    assert {"audit_events", "embedding_spaces", "memories", "tessera_schema_migrations"} <= tables


def test_a_second_run_applies_nothing(scratch_url, first_run):
    before = ledger(scratch_url)
    assert migrate(scratch_url, real_sets()) == []
    assert ledger(scratch_url) == before


def test_a_database_newer_than_the_code_is_refused(scratch_url, first_run, tmp_path):
    files = {"0001_one.sql": "CREATE TABLE future_one (id int);",
             "0002_two.sql": "CREATE TABLE future_two (id int);"}
    migrate(scratch_url, [*real_sets(), write_set(tmp_path / "new", "future", files)])
    older = write_set(tmp_path / "old", "future", {"0001_one.sql": files["0001_one.sql"]})

    with pytest.raises(MigrationError) as refused:
        migrate(scratch_url, [*real_sets(), older])

    message = str(refused.value)
    assert "'future'" in message and "version 2" in message and "(1)" in message


def test_a_migration_edited_after_it_was_applied_is_refused_before_anything_runs(
        scratch_url, first_run, tmp_path):
    core, memory = real_sets()
    edited = MigrationSet("memory", tuple(
        dataclasses.replace(m, sql=m.sql + "\n-- an innocent-looking edit\n")
        for m in memory.migrations))
    pending = write_set(tmp_path, "pending", {"0001_table.sql": "CREATE TABLE pending (id int);"})

    with pytest.raises(MigrationError, match="edited after it was applied") as refused:
        migrate(scratch_url, [core, pending, edited])

    assert "memory/0001_memories" in str(refused.value)
    assert ledger(scratch_url, "pending") == []  # checked everything before applying anything


@pytest.mark.parametrize("bad_name", [
    "1_init.sql", "00001_init.sql", "0001-init.sql", "0001_Init.sql", "0001_in it.sql",
    "0001_.sql", "init.sql", "0001_init.sql.sql",
])
def test_from_directory_refuses_badly_named_files(tmp_path, bad_name):
    (tmp_path / "0001_fine.sql").write_text("SELECT 1;")
    (tmp_path / bad_name).write_text("SELECT 1;")
    with pytest.raises(ValueError, match="NNNN_description.sql"):
        MigrationSet.from_directory("probe", tmp_path)


@pytest.mark.parametrize("names", [
    ["0001_a.sql", "0003_c.sql"],
    ["0002_b.sql"],
    ["0001_a.sql", "0001_again.sql"],
    ["0000_zero.sql", "0001_a.sql"],
], ids=["gap", "not-from-one", "duplicate", "zero"])
def test_from_directory_refuses_version_gaps(tmp_path, names):
    for name in names:
        (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(ValueError, match="without gaps"):
        MigrationSet.from_directory("probe", tmp_path)


def test_from_directory_orders_by_version(tmp_path):
    for name in ("0002_second.sql", "0010_tenth.sql", "0001_first.sql", *(
            f"{n:04d}_n{n}.sql" for n in range(3, 10))):
        (tmp_path / name).write_text(f"-- {name}")
    loaded = MigrationSet.from_directory("probe", tmp_path)
    assert [m.version for m in loaded.migrations] == list(range(1, 11))
    assert (loaded.migrations[0].name, loaded.migrations[0].sql) == ("first", "-- 0001_first.sql")
    assert loaded.latest == 10


def test_from_directory_refuses_a_missing_directory(tmp_path):
    with pytest.raises((ValueError, FileNotFoundError)):
        MigrationSet.from_directory("probe", tmp_path / "migration")  # a typo for migrations


def wait_until(condition: Callable[[], bool], *, timeout_s: float = BOUND_S) -> None:
    """Poll a database condition that has no notification, bounded by timeout_s."""
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s} s")
        pause.wait(0.01)


def test_concurrent_migrations_apply_each_migration_exactly_once(scratch_url, first_run,
                                                                 tmp_path):
    probe = write_set(tmp_path, "race", {"0001_one.sql": "CREATE TABLE race_one (id int);",
                                         "0002_two.sql": "CREATE TABLE race_two (id int);"})
    sets = [*real_sets(), probe]

    def blocked_on_migration_lock(conn: psycopg.Connection) -> bool:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid = %s AND objid = %s",
            (LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF)).fetchone()
        return row is not None and row[0] == 2

    with psycopg.connect(scratch_url, autocommit=True) as holder, \
            ThreadPoolExecutor(max_workers=2) as pool:
        # Hold the migration lock so both calls are provably inside migrate() at once.
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            futures = [pool.submit(migrate, scratch_url, sets) for _ in range(2)]
            wait_until(lambda: blocked_on_migration_lock(holder))
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        results = [future.result(timeout=BOUND_S) for future in futures]

    assert sorted(results, key=len) == [[], [Applied("race", 1, "one"), Applied("race", 2, "two")]]
    assert [row[:3] for row in ledger(scratch_url, "race")] == [("race", 1, "one"),
                                                                ("race", 2, "two")]


@pytest.mark.parametrize("call", [
    migrate,
    status,
])
def test_an_unreachable_database_is_upstream_unavailable_in_one_line(call):
    url = f"postgresql://tessera@127.0.0.1:{free_port()}/nowhere?connect_timeout=5"
    with pytest.raises(UpstreamUnavailable) as unavailable:
        call(url, real_sets())
    message = str(unavailable.value)
    assert message.startswith("Cannot connect to the database") or "unavailable" in message
    assert "\n" not in message

"""Tenant isolation enforced by PostgreSQL itself (row-level security), as the app role.

The application code is not trusted to filter by tenant: every attack here is
SQL an application bug could send, run as `tessera_app` with tenant A set, and
B's rows must stay invisible and untouched. Rows are seeded and checked as the
superuser, which bypasses RLS, so the checks see the truth.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from mcp_servers.kit.errors import Forbidden, TesseraError
from mcp_servers.kit.store import Store

pytestmark = pytest.mark.anyio

VECTOR_256 = "[" + ",".join(["1"] + ["0"] * 255) + "]"
TABLES = ("memories", "audit_events")


@dataclass(frozen=True)
class Tenants:
    a: str
    b: str
    a_memory_ids: list[uuid.UUID]
    b_memory_ids: list[uuid.UUID]

    def params(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "a_ids": self.a_memory_ids, "b_ids": self.b_memory_ids,
                "a_id": self.a_memory_ids[0], "b_id": self.b_memory_ids[0]}


def seed_memory(admin: psycopg.Connection, tenant: str, content: str) -> uuid.UUID:
    row = admin.execute(
        "INSERT INTO memories (tenant_id, user_id, kind, content, embedding, embedding_model,"
        " embedding_dim) VALUES (%s, %s, 'FACT', %s, %s::vector, 'test', 256) RETURNING id",
        (tenant, f"user-{tenant}", content, VECTOR_256),
    ).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture
def tenants(database) -> Tenants:
    """Two fresh tenants, each with two memories and two audit events."""
    suffix = uuid.uuid4().hex[:8]
    a, b = f"rls-a-{suffix}", f"rls-b-{suffix}"
    ids: dict[str, list[uuid.UUID]] = {}
    with database.admin() as admin:
        for tenant in (a, b):
            ids[tenant] = [seed_memory(admin, tenant, f"{tenant} secret {n}") for n in (1, 2)]
            for n in (1, 2):
                admin.execute("INSERT INTO audit_events (tenant_id, actor, action) "
                              "VALUES (%s, 'seed', %s)", (tenant, f"seed-{n}"))
    return Tenants(a, b, ids[a], ids[b])


@contextmanager
def as_app(database, tenant: str | None) -> Iterator[psycopg.Connection]:
    """One app-role transaction, with `tessera.tenant` set locally unless tenant is None."""
    with database.app() as conn, conn.transaction():
        if tenant is not None:
            conn.execute("SELECT set_config('tessera.tenant', %s, true)", (tenant,))
        yield conn


def snapshot(database, tenant: str) -> dict[str, list[tuple]]:
    """Everything a tenant owns, read as the superuser (which RLS does not filter)."""
    with database.admin() as admin:
        return {
            "memories": admin.execute(
                "SELECT id, tenant_id, user_id, content, importance FROM memories "
                "WHERE tenant_id = %s ORDER BY id", (tenant,)).fetchall(),
            "audit_events": admin.execute(
                "SELECT id, tenant_id, seq, actor, action, details::text, hash FROM audit_events "
                "WHERE tenant_id = %s ORDER BY id", (tenant,)).fetchall(),
        }


@pytest.fixture
async def store(database, anyio_backend) -> AsyncIterator[Store]:
    async with Store(database.app_url, application_name="test-rls", min_size=1,
                     max_size=2, open_timeout_s=5) as opened:
        yield opened


# --- reading ------------------------------------------------------------------------------

# (WHERE clause, what tenant A may get back: its own rows or nothing)
SELECT_ATTACKS = [
    ("tenant_id = %(b)s", "nothing"),
    ("tenant_id = %(b)s OR true", "own"),
    ("true OR true", "own"),
    ("tenant_id = %(b)s OR tenant_id IS NOT NULL", "own"),
    ("tenant_id <> %(a)s", "nothing"),
    ("tenant_id IN (SELECT tenant_id FROM {table} WHERE tenant_id = %(b)s)", "nothing"),
    ("EXISTS (SELECT 1 FROM {table} x WHERE x.tenant_id = %(b)s)", "nothing"),
]


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize(("where", "visible"), SELECT_ATTACKS, ids=[w for w, _ in SELECT_ATTACKS])
def test_a_cannot_read_b_rows_with_crafted_where(database, tenants, table, where, visible):
    query = f"SELECT tenant_id FROM {table} WHERE " + where.format(table=table)
    with as_app(database, tenants.a) as conn:
        seen = [row[0] for row in conn.execute(query, tenants.params()).fetchall()]
    expected = [tenants.a, tenants.a] if visible == "own" else []
    assert seen == expected


@pytest.mark.parametrize("table", TABLES)
def test_b_rows_are_invisible_even_to_aggregates(database, tenants, table):
    with as_app(database, tenants.a) as conn:
        count = conn.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s",
                             (tenants.b,)).fetchone()
        own = conn.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s",
                           (tenants.a,)).fetchone()
    assert (count, own) == ((0,), (2,))


# --- changing -----------------------------------------------------------------------------

# (statement, how many rows it may touch: only A's own two, or none). RETURNING shows whose.
WRITE_ATTACKS = [
    ("UPDATE memories SET content = 'pwned' WHERE tenant_id = %(b)s", 0),
    ("UPDATE memories SET content = 'pwned' WHERE id = ANY(%(b_ids)s)", 0),
    ("UPDATE memories SET content = 'pwned' WHERE tenant_id = %(b)s OR true", 2),
    ("UPDATE memories SET content = 'pwned' WHERE tenant_id IS NOT NULL", 2),
    ("UPDATE memories SET importance = 0 WHERE user_id = 'user-' || %(b)s", 0),
    ("DELETE FROM memories WHERE tenant_id = %(b)s", 0),
    ("DELETE FROM memories WHERE id = ANY(%(b_ids)s)", 0),
    ("DELETE FROM memories WHERE tenant_id = %(b)s OR true", 2),
    ("DELETE FROM memories WHERE tenant_id IS NOT NULL", 2),
]


@pytest.mark.parametrize(("statement", "touched"), WRITE_ATTACKS,
                         ids=[s for s, _ in WRITE_ATTACKS])
def test_a_cannot_update_or_delete_b_rows(database, tenants, statement, touched):
    before = snapshot(database, tenants.b)
    with as_app(database, tenants.a) as conn:
        owners = [row[0] for row in
                  conn.execute(statement + " RETURNING tenant_id", tenants.params()).fetchall()]
    assert owners == [tenants.a] * touched
    assert snapshot(database, tenants.b) == before


@pytest.mark.parametrize("statement", [
    "UPDATE memories SET tenant_id = %(b)s WHERE id = %(a_id)s",
    "UPDATE memories SET tenant_id = %(b)s",
    "UPDATE memories SET tenant_id = NULL WHERE id = %(a_id)s",
    "INSERT INTO memories (tenant_id, user_id, kind, content, embedding, embedding_model, "
    "embedding_dim) SELECT %(b)s, user_id, kind, content, embedding, embedding_model, "
    "embedding_dim FROM memories",
    "INSERT INTO audit_events (tenant_id, actor, action) VALUES (%(b)s, 'x', 'planted')",
    "INSERT INTO memories (tenant_id, user_id, kind, content, embedding, embedding_model, "
    "embedding_dim) VALUES (%(b)s, 'u', 'FACT', 'planted', %(vector)s::vector, 'test', 256)",
])
async def test_a_cannot_write_rows_into_b_and_store_maps_it_to_forbidden(
        database, tenants, store, statement):
    before = {tenant: snapshot(database, tenant) for tenant in (tenants.a, tenants.b)}
    with pytest.raises(Forbidden):
        async with store.tenant(tenants.a) as conn:
            await conn.execute(statement, {**tenants.params(), "vector": VECTOR_256})
    assert {tenant: snapshot(database, tenant) for tenant in (tenants.a, tenants.b)} == before


def test_the_database_itself_refuses_a_row_for_another_tenant(database, tenants):
    """Below the Store: the refusal is PostgreSQL's RLS check, not a Python filter."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        with as_app(database, tenants.a) as conn:
            conn.execute("INSERT INTO audit_events (tenant_id, actor, action) "
                         "VALUES (%s, 'x', 'planted')", (tenants.b,))


# --- no tenant ----------------------------------------------------------------------------

@pytest.mark.parametrize("tenant", [None, ""], ids=["unset", "empty"])
@pytest.mark.parametrize("table", TABLES)
def test_a_transaction_without_tenant_sees_nothing(database, tenants, table, tenant):
    with as_app(database, tenant) as conn:
        rows = conn.execute(f"SELECT tenant_id FROM {table} WHERE true OR tenant_id = %s",
                            (tenants.b,)).fetchall()
    assert rows == []


@pytest.mark.parametrize("statement", [
    "INSERT INTO audit_events (actor, action) VALUES ('x', %(marker)s)",
    "INSERT INTO audit_events (tenant_id, actor, action) VALUES (%(b)s, 'x', %(marker)s)",
    "INSERT INTO memories (user_id, kind, content, embedding, embedding_model, embedding_dim) "
    "VALUES ('u', 'FACT', %(marker)s, %(vector)s::vector, 'test', 256)",
    "INSERT INTO memories (tenant_id, user_id, kind, content, embedding, embedding_model, "
    "embedding_dim) VALUES (%(b)s, 'u', 'FACT', %(marker)s, %(vector)s::vector, 'test', 256)",
])
async def test_a_transaction_without_tenant_can_insert_nothing(database, tenants, store,
                                                               statement):
    marker = f"unscoped-{uuid.uuid4().hex}"
    with pytest.raises(Forbidden):
        async with store.unscoped() as conn:
            await conn.execute(statement, {**tenants.params(), "marker": marker,
                                           "vector": VECTOR_256})
    with database.admin() as admin:
        planted = admin.execute(
            "SELECT (SELECT count(*) FROM audit_events WHERE action = %(m)s)"
            " + (SELECT count(*) FROM memories WHERE content = %(m)s)", {"m": marker}).fetchone()
    assert planted == (0,)


# --- pooled connections -------------------------------------------------------------------

class Boom(Exception):
    pass


@pytest.mark.parametrize("ending", ["commit", "exception", "database_error"])
async def test_tenant_scope_does_not_outlive_its_transaction(database, tenants, ending):
    async with Store(database.app_url, application_name="test-rls-leak", min_size=1,
                     max_size=1, open_timeout_s=5) as store:
        try:
            async with store.tenant(tenants.a) as conn:
                first_pid = conn.info.backend_pid
                cursor = await conn.execute("SELECT count(*) FROM memories")
                assert await cursor.fetchone() == (2,)
                if ending == "exception":
                    raise Boom
                if ending == "database_error":
                    await conn.execute("SELECT 'x'::int")
        except (Boom, TesseraError):
            assert ending != "commit"

        async with store.unscoped() as conn:
            assert conn.info.backend_pid == first_pid  # the very same pooled connection
            cursor = await conn.execute(
                "SELECT tessera_current_tenant(), (SELECT count(*) FROM memories),"
                " (SELECT count(*) FROM audit_events)")
            assert await cursor.fetchone() == (None, 0, 0)

        async with store.tenant(tenants.b) as conn:
            assert conn.info.backend_pid == first_pid
            cursor = await conn.execute("SELECT DISTINCT tenant_id FROM memories")
            assert await cursor.fetchall() == [(tenants.b,)]


async def test_a_tenant_transaction_needs_a_tenant(store):
    with pytest.raises(ValueError):
        async with store.tenant(""):
            pass


# --- the role and the catalog -------------------------------------------------------------

def test_app_role_and_every_role_it_can_become_lack_superuser_and_bypassrls(database):
    with database.app() as conn:
        user = conn.execute("SELECT current_user").fetchone()
        powerful = conn.execute(
            "SELECT rolname FROM pg_roles WHERE pg_has_role(current_user, oid, 'MEMBER') "
            "AND (rolsuper OR rolbypassrls)").fetchall()
        memberships = conn.execute(
            "SELECT rolname FROM pg_roles WHERE pg_has_role(current_user, oid, 'MEMBER')"
        ).fetchall()
    assert user is not None and user[0] != "postgres"
    assert ("tessera_app",) in memberships  # the check below covers the role the brief names
    assert powerful == []


def test_app_role_owns_nothing_in_public(database):
    with database.app() as conn:
        owned = conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND pg_has_role(current_user, relowner, 'MEMBER')").fetchall()
        owned += conn.execute(
            "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
            "AND pg_has_role(current_user, proowner, 'MEMBER')").fetchall()
    assert owned == []


UNPROTECTED = """
SELECT c.relname
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.relnamespace = 'public'::regnamespace
  AND a.attname = 'tenant_id' AND NOT a.attisdropped
  AND CASE
        -- tables: RLS on, forced (so the owner is filtered too), and a policy to apply
        WHEN c.relkind IN ('r', 'p') THEN NOT (
            c.relrowsecurity AND c.relforcerowsecurity
            AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))
        -- a view reads as its owner unless security_invoker, bypassing the tables' RLS
        WHEN c.relkind = 'v' THEN NOT coalesce('security_invoker=true' = ANY(c.reloptions)
                                               OR 'security_invoker=on' = ANY(c.reloptions),
                                               false)
        -- materialized views and foreign tables cannot have row-level security
        WHEN c.relkind IN ('m', 'f') THEN true
        ELSE false
      END
ORDER BY c.relname
"""

TENANT_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
  AND a.attname = 'tenant_id' AND NOT a.attisdropped
"""


def test_every_relation_with_tenant_id_has_forced_rls_and_a_policy(database):
    with database.admin() as admin:
        unprotected = admin.execute(UNPROTECTED).fetchall()
        tenant_tables = {row[0] for row in admin.execute(TENANT_TABLES).fetchall()}
    assert set(TABLES) <= tenant_tables  # the check is not vacuous
    assert unprotected == []


@pytest.mark.parametrize("ddl", [
    "CREATE TABLE probe (tenant_id text)",
    "CREATE TABLE probe (tenant_id text); ALTER TABLE probe ENABLE ROW LEVEL SECURITY; "
    "CREATE POLICY p ON probe USING (tenant_id = tessera_current_tenant())",
    "CREATE TABLE probe (tenant_id text); ALTER TABLE probe ENABLE ROW LEVEL SECURITY; "
    "ALTER TABLE probe FORCE ROW LEVEL SECURITY",
    "CREATE VIEW probe AS SELECT tenant_id, content FROM memories",
    "CREATE MATERIALIZED VIEW probe AS SELECT tenant_id FROM memories",
], ids=["no-rls", "not-forced", "no-policy", "definer-view", "matview"])
def test_the_catalog_check_catches_an_unprotected_relation(database, ddl):
    with database.admin() as admin:
        with admin.transaction():
            admin.execute(ddl)
            unprotected = admin.execute(UNPROTECTED).fetchall()
            raise psycopg.Rollback
    assert unprotected == [("probe",)]

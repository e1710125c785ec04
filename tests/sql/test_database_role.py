"""The second line of defence: what runs past the guard still cannot do harm.

These tests hand statements straight to the executor, as if the parser had
missed them, and show that the database itself refuses: the transaction is
READ ONLY, the reader role can SELECT only the allow-listed columns, two
statements cannot be sent as one, statement_timeout applies, and row-level
security limits rows to the tenant. They also check the migration granted the
reader exactly the shipped allow-list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mcp_servers.kit.errors import TesseraError
from mcp_servers.kit.store import Store
from mcp_servers.sql.allowlist import DEFAULT_FILE, AllowList
from mcp_servers.sql.executor import QueryExecutor
from mcp_servers.sql.guard import GuardedQuery
from tests.sql.conftest import fingerprint

pytestmark = pytest.mark.anyio


@pytest.fixture
async def executor(settings, anyio_backend) -> AsyncIterator[QueryExecutor]:
    store = Store(settings.require_database_url(), application_name="test-sql", max_size=2)
    async with store:
        yield QueryExecutor(store, reader_role="tessera_sql_reader", statement_timeout_ms=300,
                            max_cell_chars=100)


async def run(executor: QueryExecutor, statement: str, tenant: str = "acme"):
    return await executor.run(tenant, GuardedQuery(sql=statement, tables=(), max_rows=50))


@pytest.mark.parametrize(("statement", "category", "rule"), [
    ("INSERT INTO plant_demo.machines (machine_id, name, line, machine_type, status, "
     "commissioned_on) VALUES ('X', 'x', 'L1', 'CNC', 'IDLE', current_date)",
     "forbidden", "database_privilege"),
    ("UPDATE plant_demo.machines SET status = 'DOWN'", "forbidden", "database_privilege"),
    ("DELETE FROM plant_demo.po_items", "forbidden", "database_privilege"),
    ("CREATE TABLE plant_demo.stolen (x int)", "forbidden", "database_privilege"),
    ("SELECT tax_id FROM plant_demo.suppliers", "forbidden", "database_privilege"),
    ("SELECT tenant_id FROM plant_demo.materials", "forbidden", "database_privilege"),
    ("SELECT s::text FROM plant_demo.suppliers s", "forbidden", "database_privilege"),
    ("SELECT * FROM plant_demo.supplier_bank_accounts", "forbidden", "database_privilege"),
    ("SELECT * FROM public.memories", "forbidden", "database_privilege"),
    ("SELECT * FROM public.audit_events", "forbidden", "database_privilege"),
    ("SELECT 1; DELETE FROM plant_demo.po_items", "validation", "database"),
    ("SELECT pg_sleep(5)", "upstream_timeout", "statement_timeout"),
    ("SELECT set_config('transaction_read_only', 'off', true)", "validation", "database"),
    ("SELECT nextval('x')", "validation", "database"),
])
async def test_the_database_refuses_what_the_guard_might_miss(executor, database, statement,
                                                              category, rule):
    before = fingerprint(database)
    with pytest.raises(TesseraError) as caught:
        await run(executor, statement)
    assert (caught.value.category.value, caught.value.details["rule"]) == (category, rule)
    assert fingerprint(database) == before


async def test_row_level_security_applies_to_the_reader(executor):
    acme = await run(executor, "SELECT count(*), min(po_number) FROM plant_demo.purchase_orders")
    globex = await run(executor, "SELECT count(*), min(po_number) FROM plant_demo.purchase_orders",
                       tenant="globex")
    assert acme.rows == [[90, "4501000001"]] and globex.rows == [[70, "4502000001"]]


async def test_the_transaction_is_read_only_and_the_role_is_the_reader(executor):
    result = await run(executor, "SELECT current_setting('transaction_read_only'), current_user, "
                                 "current_setting('statement_timeout'), "
                                 "current_setting('search_path')")
    assert result.rows == [["on", "tessera_sql_reader", "300ms", ""]]


def test_the_reader_may_read_exactly_the_shipped_allow_list(database):
    allowlist = AllowList.load(DEFAULT_FILE)
    with database.admin() as admin:
        granted = set(admin.execute(
            "SELECT table_schema || '.' || table_name, column_name "
            "FROM information_schema.column_privileges "
            "WHERE grantee = 'tessera_sql_reader' AND privilege_type = 'SELECT'").fetchall())
        other = admin.execute(
            "SELECT table_schema, table_name, privilege_type FROM information_schema.table_privileges "
            "WHERE grantee = 'tessera_sql_reader'").fetchall()
        role = admin.execute(
            "SELECT rolsuper, rolbypassrls, rolcanlogin, rolinherit, rolcreaterole, rolcreatedb "
            "FROM pg_roles WHERE rolname = 'tessera_sql_reader'").fetchone()
        app_inherits = admin.execute(
            "SELECT m.inherit_option, m.set_option FROM pg_auth_members m "
            "WHERE m.roleid = 'tessera_sql_reader'::regrole AND m.member = 'tessera_app'::regrole"
        ).fetchone()
    expected = {(t.name, c.name) for t in allowlist.tables for c in t.columns}
    assert granted == expected
    assert other == []  # no table-wide privilege, no INSERT/UPDATE/DELETE/TRUNCATE anywhere
    assert role == (False, False, False, False, False, False)
    assert app_inherits == (False, True)  # the app may SET ROLE to it but gains nothing


def test_the_app_role_itself_cannot_read_plant_data(database):
    import psycopg

    with database.app() as app, pytest.raises(psycopg.errors.InsufficientPrivilege):
        app.execute("SELECT count(*) FROM plant_demo.materials")


def test_every_plant_demo_table_has_forced_rls_and_a_policy(database):
    with database.admin() as admin:
        unprotected = admin.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'plant_demo'::regnamespace "
            "AND c.relkind = 'r' AND NOT (c.relrowsecurity AND c.relforcerowsecurity AND "
            "EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))").fetchall()
        tables = admin.execute("SELECT count(*) FROM pg_class WHERE relkind = 'r' AND "
                               "relnamespace = 'plant_demo'::regnamespace").fetchone()
    assert unprotected == [] and tables == (8,)


async def test_a_long_allowed_statement_is_cancelled(executor):
    with pytest.raises(TesseraError) as caught:
        await run(executor, "SELECT count(*) FROM plant_demo.po_items a, plant_demo.po_items b, "
                            "plant_demo.po_items c")
    assert caught.value.category.value == "upstream_timeout"
    assert caught.value.retryable


async def test_a_missing_reader_role_stops_the_server_with_a_clear_message(settings):
    from mcp_servers.sql.executor import ReaderRoleUnusable

    async with Store(settings.require_database_url(), application_name="test-sql") as store:
        executor = QueryExecutor(store, reader_role="no_such_role", statement_timeout_ms=300,
                                 max_cell_chars=100)
        with pytest.raises(ReaderRoleUnusable, match="tessera db migrate"):
            await executor.check_setup()

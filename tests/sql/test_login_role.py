"""The production set-up: the sql server logs in as a role of its own (TESSERA_SQL_DATABASE_URL).

That role is a member of tessera_sql_reader and nothing else, so even a
statement that tried to switch roles (set_config('role', ...)) has nowhere to
go; with the default set-up (the application URL plus SET LOCAL ROLE) the
guard's function allow-list is what stops that.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from fastmcp import Client
from psycopg import sql
from psycopg.conninfo import make_conninfo
from pydantic import SecretStr

from mcp_servers.kit.context import CONTEXT_META_KEY
from mcp_servers.kit.errors import TesseraError
from mcp_servers.kit.store import Store
from mcp_servers.sql import definition
from mcp_servers.sql.executor import QueryExecutor
from mcp_servers.sql.guard import GuardedQuery
from mcp_servers.sql.settings import SqlSettings

pytestmark = pytest.mark.anyio


@pytest.fixture
def login_url(database) -> Iterator[str]:
    name, password = f"tessera_sql_login_{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    with database.admin() as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} NOINHERIT IN ROLE tessera_sql_reader")
                      .format(sql.Identifier(name), sql.Literal(password)))
        admin.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}")
                      .format(sql.Identifier(database.name), sql.Identifier(name)))
    try:
        yield make_conninfo(database.app_url, user=name, password=password)
    finally:
        with database.admin() as admin:
            admin.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM {}")
                          .format(sql.Identifier(database.name), sql.Identifier(name)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


async def test_the_server_works_with_its_own_login(settings, tokens, login_url, anyio_backend):
    own = SqlSettings(_env_file=None, database_url=SecretStr(login_url))
    async with Client(definition.create(settings, own).mcp) as client:
        result = await client.call_tool_mcp(
            "sql.query", {"sql": "SELECT count(*) FROM materials"},
            meta={CONTEXT_META_KEY: tokens(tenant="globex", audience="sql")})
    assert result.structured_content["rows"] == [[110]]


async def test_its_own_login_cannot_switch_to_a_stronger_role(login_url, anyio_backend):
    async with Store(login_url, application_name="tessera-sql", max_size=1) as store:
        executor = QueryExecutor(store, reader_role="tessera_sql_reader",
                                 statement_timeout_ms=1000, max_cell_chars=100)
        for statement in ("SELECT set_config('role', 'tessera_app', true)",
                          "SELECT count(*) FROM public.memories"):
            with pytest.raises(TesseraError) as caught:
                await executor.run("acme", GuardedQuery(sql=statement, tables=(), max_rows=5))
            assert caught.value.details["rule"] in ("database_privilege", "database")

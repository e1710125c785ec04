"""An sql server on the test database, reached through a real in-memory MCP client.

Also the database-side evidence the attack tests rely on: a fingerprint (row
count and checksum) of every plant_demo table, the canary table included, taken
with the admin role, which row-level security does not filter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from fastmcp import Client
from mcp_types import CallToolResult

from mcp_servers.kit.context import CONTEXT_META_KEY
from mcp_servers.kit.settings import Settings
from mcp_servers.sql import definition
from mcp_servers.sql.settings import SqlSettings

Call = Callable[..., Any]

PLANT_TABLES = ("suppliers", "supplier_bank_accounts", "materials", "purchase_orders", "po_items",
                "machines", "production_orders", "quality_inspections")


@pytest.fixture
def sql_settings() -> SqlSettings:
    return SqlSettings(_env_file=None)


@pytest.fixture
async def client(settings: Settings, sql_settings: SqlSettings, anyio_backend: str
                 ) -> AsyncIterator[Client]:
    server = definition.create(settings, sql_settings)
    async with Client(server.mcp) as connected:
        yield connected


@pytest.fixture
def call(client: Client, tokens: Any) -> Call:
    """call(tool, args, tenant=..., user=..., roles=..., clearance=...) -> CallToolResult."""

    async def invoke(tool: str, arguments: dict[str, Any], **identity: Any) -> CallToolResult:
        meta = {CONTEXT_META_KEY: tokens(audience="sql", **identity)}
        return await client.call_tool_mcp(f"sql.{tool}", arguments, meta=meta)

    return invoke


@pytest.fixture
def query(call: Call) -> Call:
    """query(sql, tenant=..., ...) -> structured content (a success or an error payload)."""

    async def run(statement: str, **identity: Any) -> dict[str, Any]:
        result = await call("query", {"sql": statement}, **identity)
        return {"is_error": bool(result.is_error), **(result.structured_content or {})}

    return run


def fingerprint(database: Any) -> dict[str, tuple[int, str]]:
    """(rows, md5 of all rows) of every plant_demo table, seen by the admin role."""
    with database.admin() as admin:
        return {
            table: admin.execute(
                f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
                f"FROM plant_demo.{table} t").fetchone()
            for table in PLANT_TABLES
        }


def canaries(database: Any, tenant: str) -> list[str]:
    """Every marked value of one tenant's rows and every secret column value, as text."""
    with database.admin() as admin:
        rows = admin.execute(
            "SELECT name FROM plant_demo.suppliers WHERE tenant_id = %(t)s AND name LIKE 'Canary%%' "
            "UNION ALL SELECT tax_id FROM plant_demo.suppliers WHERE tenant_id = %(t)s "
            "UNION ALL SELECT iban FROM plant_demo.supplier_bank_accounts WHERE tenant_id = %(t)s "
            "UNION ALL SELECT description FROM plant_demo.materials WHERE tenant_id = %(t)s "
            "  AND description LIKE 'Canary%%' "
            "UNION ALL SELECT buyer FROM plant_demo.purchase_orders WHERE tenant_id = %(t)s "
            "  AND buyer LIKE 'canary%%' "
            "UNION ALL SELECT name FROM plant_demo.machines WHERE tenant_id = %(t)s "
            "  AND name LIKE 'Canary%%' "
            "UNION ALL SELECT inspector FROM plant_demo.quality_inspections WHERE tenant_id = %(t)s "
            "  AND inspector LIKE 'canary%%'",
            {"t": tenant}).fetchall()
    return [row[0] for row in rows]

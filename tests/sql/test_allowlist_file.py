"""A site's own allow-list file (TESSERA_SQL_ALLOWLIST_FILE): it alone decides what is readable."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from fastmcp import Client

from mcp_servers.kit.context import CONTEXT_META_KEY
from mcp_servers.kit.spec import DataClass
from mcp_servers.sql import definition
from mcp_servers.sql.settings import SqlSettings

pytestmark = pytest.mark.anyio

SITE_ALLOWLIST = {
    "default_schema": "plant_demo",
    "tables": [
        {"name": "plant_demo.machines", "roles": ["maintenance"],
         "description": "Shop-floor machines (maintenance only).",
         "columns": ["machine_id", "status"]},
        {"name": "plant_demo.materials", "columns": [
            "material_id", {"name": "standard_price", "data_class": "IV"}]},
    ],
}


@pytest.fixture
async def site_client(settings, tmp_path, anyio_backend) -> AsyncIterator[Client]:
    path = tmp_path / "allowlist.json"
    path.write_text(json.dumps(SITE_ALLOWLIST))
    own = SqlSettings(_env_file=None, allowlist_file=path, max_rows=5)
    async with Client(definition.create(settings, own).mcp) as client:
        yield client


async def call(client, tokens, tool, arguments, **identity):
    result = await client.call_tool_mcp(tool, arguments,
                                        meta={CONTEXT_META_KEY: tokens(audience="sql", **identity)})
    return result.structured_content


async def test_describe_shows_only_what_the_file_and_the_caller_allow(site_client, tokens):
    plain = await call(site_client, tokens, "sql.describe", {})
    assert [(t["name"], [c["name"] for c in t["columns"]]) for t in plain["tables"]] == [
        ("plant_demo.materials", ["material_id"])]
    cleared = await call(site_client, tokens, "sql.describe", {}, roles=("maintenance",),
                         clearance=DataClass.IV)
    tables = {t["name"]: t for t in cleared["tables"]}
    assert [c["name"] for c in tables["plant_demo.materials"]["columns"]] == [
        "material_id", "standard_price"]
    assert tables["plant_demo.machines"]["description"] == "Shop-floor machines (maintenance only)."
    assert cleared["max_rows"] == 5


async def test_query_follows_the_file(site_client, tokens):
    no_role = await call(site_client, tokens, "sql.query", {"sql": "SELECT status FROM machines"})
    assert (no_role["error_category"], no_role["details"]) == (
        "forbidden", {"rule": "table", "table": "plant_demo.machines"})
    with_role = await call(site_client, tokens, "sql.query",
                           {"sql": "SELECT machine_id, status FROM machines ORDER BY 1"},
                           roles=("maintenance",))
    assert with_role["row_count"] == 5 and with_role["truncated"] is True
    dropped = await call(site_client, tokens, "sql.query", {"sql": "SELECT * FROM suppliers"},
                         roles=("maintenance",), clearance=DataClass.IV)
    assert dropped["details"]["rule"] == "table"  # allowed by the shipped list, not by this one
    star = await call(site_client, tokens, "sql.query", {"sql": "SELECT * FROM materials LIMIT 1"})
    assert [c["name"] for c in star["columns"]] == ["material_id"]


async def test_the_tool_declares_the_files_highest_data_class(site_client):
    tools = {tool.name: tool for tool in await site_client.list_tools()}
    assert tools["sql.query"].meta["io.tessera/spec"]["data_class"] == "IV"

"""sql.query and sql.describe end to end: real MCP client, real PostgreSQL, real RLS."""

from __future__ import annotations

import pytest

from mcp_servers.kit.spec import DataClass

pytestmark = pytest.mark.anyio


async def test_a_select_returns_typed_rows_of_the_callers_tenant(query):
    result = await query("SELECT material_id, standard_price, currency FROM materials "
                         "ORDER BY material_id LIMIT 2")
    assert not result["is_error"]
    assert result["columns"] == [{"name": "material_id", "type": "text"},
                                 {"name": "standard_price", "type": "numeric(12,2)"},
                                 {"name": "currency", "type": "text"}]
    assert result["rows"] == [["M-10001", 32.95, "EUR"], ["M-10002", 64.4, "EUR"]]
    assert (result["row_count"], result["truncated"], result["tables"]) == (
        2, False, ["plant_demo.materials"])


async def test_dates_and_aggregates_come_back_as_json(query):
    result = await query("SELECT min(order_date) AS first, count(*) AS n, "
                         "date_trunc('month', min(order_date)) AS month FROM purchase_orders")
    assert result["rows"] == [["2026-01-08", 90, "2026-01-01T00:00:00+00:00"]]


@pytest.mark.parametrize(("tenant", "expected"), [("acme", 150), ("globex", 110),
                                                  ("conformance-b", 0), ("nobody", 0)])
async def test_each_tenant_counts_only_its_own_rows(query, tenant, expected):
    result = await query("SELECT count(*) FROM plant_demo.materials", tenant=tenant)
    assert result["rows"] == [[expected]]


async def test_no_query_shape_reaches_another_tenants_rows(query, database):
    from tests.sql.conftest import canaries

    globex = canaries(database, "globex")
    assert len(globex) > 20  # the check below is not vacuous
    for statement in (
        "SELECT * FROM suppliers",
        "SELECT s.name FROM suppliers s UNION ALL SELECT description FROM materials",
        "SELECT * FROM materials WHERE true OR 1 = 1",
        "WITH x AS (SELECT * FROM purchase_orders) SELECT * FROM x",
        "SELECT name FROM machines WHERE name LIKE '%canary%'",
    ):
        result = await query(statement, tenant="acme", clearance=DataClass.IV)
        text = repr(result["rows"])
        assert not result["is_error"] and result["rows"]
        assert not [value for value in globex if value in text]


async def test_the_row_limit_is_enforced_and_reported(query, call):
    over = await query("SELECT po_number FROM po_items LIMIT 100000")
    assert (over["row_count"], over["truncated"], over["max_rows"]) == (200, True, 200)
    asked = await call("query", {"sql": "SELECT po_number FROM po_items", "max_rows": 7})
    assert (asked.structured_content["row_count"], asked.structured_content["truncated"]) == (7, True)
    exact = await query("SELECT machine_id FROM machines")
    assert (exact["row_count"], exact["truncated"]) == (14, False)


async def test_columns_above_the_callers_clearance_are_refused_and_hidden(query, call):
    refused = await query("SELECT buyer FROM purchase_orders")
    assert (refused["error_category"], refused["details"]["rule"]) == ("forbidden", "column")
    star = await query("SELECT * FROM purchase_orders LIMIT 1")
    assert "buyer" not in [c["name"] for c in star["columns"]]
    cleared = await query("SELECT buyer FROM purchase_orders ORDER BY po_number LIMIT 1",
                          clearance=DataClass.III)
    assert cleared["rows"] == [["canary-acme-buyer"]]
    described = await call("describe", {"tables": ["purchase_orders"]})
    columns = [c["name"] for c in described.structured_content["tables"][0]["columns"]]
    assert "buyer" not in columns and "net_value" in columns


async def test_describe_lists_visible_tables_with_types_and_comments(call):
    result = await call("describe", {})
    tables = {t["name"]: t for t in result.structured_content["tables"]}
    assert set(tables) == {f"plant_demo.{t}" for t in (
        "suppliers", "materials", "purchase_orders", "po_items", "machines",
        "production_orders", "quality_inspections")}
    suppliers = {c["name"]: c for c in tables["plant_demo.suppliers"]["columns"]}
    assert "tax_id" not in suppliers
    assert suppliers["rating"]["type"] == "smallint"
    assert "1 (poor) to 5" in suppliers["rating"]["description"]
    assert tables["plant_demo.machines"]["description"] == "Machines on the shop floor."


async def test_a_database_error_names_its_condition_not_its_text(query):
    result = await query("SELECT material_id, count(*) FROM materials")
    assert result["error_category"] == "validation"
    assert result["details"] == {"rule": "database", "sqlstate": "42803",
                                 "condition": "GroupingError"}
    assert "materials" not in result["human_message"]


@pytest.mark.parametrize("literal", ["\\", "x\\n", "it''s", "a/* */b", "-- x", "$$"])
async def test_the_database_reads_literals_exactly_as_the_guard_did(query, literal):
    """No parser differential: what sqlglot took for one string is one string in PostgreSQL."""
    result = await query(f"SELECT '{literal}' AS v, count(*) FROM materials "
                         f"WHERE description = '{literal}'")
    assert result["rows"] == [[literal.replace("''", "'"), 0]]


async def test_nan_infinity_and_intervals_come_back_as_text(query):
    result = await query("SELECT 'NaN'::numeric AS a, 'Infinity'::float AS b, "
                         "CAST(1.5 AS numeric) AS c, interval '1 day' AS d")
    assert result["rows"] == [["NaN", "inf", 1.5, "1 day, 0:00:00"]]

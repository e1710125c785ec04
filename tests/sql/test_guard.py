"""Every guard rule, as an allow/deny matrix over the shipped allow-list (no database).

Each refusal must name its rule in details.rule, use the category the taxonomy
gives it, and carry a hint that says what to do instead.
"""

from __future__ import annotations

import pytest
import sqlglot

from mcp_servers.kit.context import CallContext
from mcp_servers.kit.errors import ErrorCategory, TesseraError
from mcp_servers.kit.spec import DataClass
from mcp_servers.sql.allowlist import DEFAULT_FILE, AllowList
from mcp_servers.sql.guard import Guard

ALLOWLIST = AllowList.load(DEFAULT_FILE)
GUARD = Guard(max_statement_chars=20_000, max_tables=4)
V, F = ErrorCategory.VALIDATION, ErrorCategory.FORBIDDEN

ALLOWED = [
    "SELECT * FROM materials",
    "SELECT m.material_id, s.name FROM plant_demo.materials m JOIN plant_demo.suppliers s "
    "ON s.supplier_id = m.supplier_id WHERE s.country = 'DE' ORDER BY 1",
    "SELECT supplier_id, count(*), sum(net_value) FROM purchase_orders GROUP BY 1 "
    "HAVING count(*) > 2 ORDER BY 2 DESC",
    "WITH open_po AS (SELECT po_number FROM purchase_orders WHERE status = 'OPEN') "
    "SELECT i.* FROM po_items i JOIN open_po o ON o.po_number = i.po_number",
    "SELECT material_id FROM materials UNION SELECT material_id FROM po_items",
    "SELECT date_trunc('month', order_date) AS month, count(*) FROM purchase_orders GROUP BY 1",
    "SELECT extract(year FROM order_date), now() - interval '30 days', current_date - 7 "
    "FROM purchase_orders",
    "SELECT row_number() OVER (PARTITION BY supplier_id ORDER BY net_value DESC) AS rn, po_number "
    "FROM purchase_orders",
    "SELECT coalesce(defect_code, 'none') || ':' || upper(result), round(avg(defects), 2) "
    "FROM quality_inspections GROUP BY 1",
    "SELECT * FROM materials m WHERE EXISTS (SELECT 1 FROM po_items i "
    "WHERE i.material_id = m.material_id) AND m.standard_price BETWEEN 1 AND 50",
    "SELECT material_id FROM materials WHERE description ILIKE '%bolt%' OR description ~ 'Seal'",
    "SELECT count(*) FILTER (WHERE status = 'DOWN') FROM machines",
    "SELECT order_id, CASE WHEN scrap_qty > 10 THEN 'high' ELSE 'ok' END, scrap_qty::int "
    "FROM production_orders",
    "select MATERIAL_ID from MATERIALS -- trailing comment",
    "TABLE machines",
]

REFUSED = [
    # (statement, rule, category)
    ("", "single_statement", V),
    ("SELECT (((", "parse", V),
    ("SELEC material_id FROM materials", "parse", V),
    ("SELECT 1; SELECT 2", "single_statement", V),
    ("SELECT 1; DROP TABLE plant_demo.materials", "single_statement", V),
    ("DROP TABLE plant_demo.materials", "select_only", F),
    ("DELETE FROM plant_demo.materials", "select_only", F),
    ("UPDATE plant_demo.materials SET description = 'x'", "select_only", F),
    ("INSERT INTO plant_demo.materials (material_id) VALUES ('x')", "select_only", F),
    ("COPY plant_demo.materials TO '/tmp/x'", "select_only", F),
    ("SET ROLE tessera_app", "select_only", F),
    ("RESET ROLE", "select_only", F),
    ("VALUES (1)", "select_only", F),
    ("EXPLAIN ANALYZE SELECT 1", "select_only", F),
    ("SELECT material_id INTO stolen FROM materials", "select_into", F),
    ("SELECT * FROM materials FOR UPDATE", "locking", F),
    ("SELECT * FROM materials FOR SHARE", "locking", F),
    ("WITH d AS (DELETE FROM plant_demo.materials RETURNING *) SELECT * FROM d", "no_writes", F),
    ("WITH u AS (UPDATE plant_demo.machines SET status = 'DOWN' RETURNING machine_id) "
     "SELECT * FROM u", "no_writes", F),
    ("SELECT pg_sleep(10)", "function", F),
    ("SELECT material_id FROM materials WHERE pg_sleep(1) IS NULL", "function", F),
    ("SELECT pg_read_file('/etc/passwd')", "function", F),
    ("SELECT lo_import('/etc/passwd')", "function", F),
    ("SELECT lo_export(1, '/tmp/x')", "function", F),
    ("SELECT dblink('host=x', 'SELECT 1')", "function", F),
    ("SELECT current_setting('is_superuser')", "function", F),
    ("SELECT set_config('role', 'tessera_app', true)", "function", F),
    ("SELECT pg_terminate_backend(1)", "function", F),
    ("SELECT version()", "function", F),
    ("SELECT current_user", "function", F),
    ("SELECT * FROM generate_series(1, 10)", "function", F),
    ("SELECT repeat('x', 100000000)", "function", F),
    ("SELECT string_agg(description, ',') FROM materials", "function", F),
    ("SELECT 'pg_authid'::regclass", "syntax", V),
    ("SELECT material_id::oid FROM materials", "syntax", V),
    ("SELECT material_id::bytea FROM materials", "type", F),
    ("SELECT material_id::json FROM materials", "type", F),
    ("SELECT $1", "syntax", V),
    ("SELECT material_id FROM materials FETCH FIRST 3 ROWS ONLY", "syntax", V),
    ("SELECT * FROM materials, LATERAL (SELECT 1) x", "syntax", V),
    ("SELECT E'\\x41'", "syntax", V),
    ("SELECT $$x$$", "syntax", V),
    ("SELECT pg_catalog.pg_sleep(1)", "syntax", V),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
     "syntax", V),
    ("SELECT * FROM pg_catalog.pg_user", "system_catalog", F),
    ("SELECT usename FROM pg_user", "system_catalog", F),
    ("SELECT x.a FROM (WITH pg_user AS (SELECT 1 AS a) SELECT a FROM pg_user) x, pg_user p",
     "system_catalog", F),  # a CTE name out of its scope is not a CTE
    ("SELECT * FROM pg_shadow", "system_catalog", F),
    ("SELECT table_name FROM information_schema.tables", "system_catalog", F),
    ("SELECT * FROM plant_demo.supplier_bank_accounts", "table", F),
    ("SELECT * FROM public.memories", "table", F),
    ("SELECT * FROM audit_events", "table", F),
    ("SELECT * FROM \"Materials\"", "table", F),
    ("SELECT * FROM otherdb.plant_demo.materials", "table", F),
    ("SELECT 1 FROM materials a, materials b, materials c, materials d, materials e",
     "table_count", F),
    ("SELECT tax_id FROM suppliers", "column", F),
    ("SELECT tenant_id FROM materials", "column", F),
    ("SELECT m.tenant_id FROM materials m", "column", F),
    ("SELECT s FROM suppliers s", "column", F),
    ("SELECT s::text FROM suppliers s", "column", F),
    ("SELECT count(s) FROM suppliers s", "column", F),
    ("SELECT material_id FROM materials LIMIT (SELECT 5)", "limit", V),
    ("SELECT material_id FROM materials LIMIT 5 OFFSET 1 + 1", "limit", V),
    ("SELECT " + "material_id, " * 2000 + "1 FROM materials", "length", V),
    ("SELECT 1 " + "UNION SELECT 1 " * 40, "complexity", V),
    ("SELECT material_id FROM materials WHERE " + " OR ".join(["material_id = 'x'"] * 400),
     "complexity", V),
]


def check(statement: str, allowlist: AllowList = ALLOWLIST, max_rows: int = 100):
    return GUARD.check(statement, allowlist, max_rows)


@pytest.mark.parametrize("statement", ALLOWED)
def test_allowed_statements_pass_and_stay_one_select(statement):
    guarded = check(statement)
    [reparsed] = sqlglot.parse(guarded.sql, read="postgres")
    assert isinstance(reparsed, (sqlglot.exp.Select, sqlglot.exp.SetOperation))
    assert reparsed.args["limit"] is not None
    assert guarded.tables and all(ALLOWLIST.table(t) for t in guarded.tables)


@pytest.mark.parametrize(("statement", "rule", "category"), REFUSED,
                         ids=[f"{r}-{i}" for i, (_, r, _c) in enumerate(REFUSED)])
def test_refused_statements_name_their_rule_and_a_fix(statement, rule, category):
    with pytest.raises(TesseraError) as caught:
        check(statement)
    error = caught.value
    assert (error.category, error.details["rule"]) == (category, rule)
    assert len(error.model_fix_hint) > 20
    assert error.model_fix_hint != type(error).default_hint


def test_every_rule_of_the_guard_has_a_refusal_here():
    from mcp_servers.sql import guard

    documented = {line.split()[0] for line in guard.__doc__.split("The rules, in order:")[1]
                  .split("Then")[0].strip().splitlines()}
    assert documented == {rule for _, rule, _ in REFUSED}


def test_a_refusal_never_echoes_an_unsafe_name():
    with pytest.raises(TesseraError) as caught:
        check("SELECT \"x'; DROP TABLE t; --\" FROM materials")
    assert "DROP" not in caught.value.human_message
    assert "column" not in caught.value.details  # only plain names are named


@pytest.mark.parametrize(("statement", "max_rows", "limit", "cap"), [
    ("SELECT material_id FROM materials", 100, 101, 100),          # none: cap + 1 to see more
    ("SELECT material_id FROM materials LIMIT 10", 100, 10, 10),    # under the cap: kept
    ("SELECT material_id FROM materials LIMIT 100000", 100, 101, 100),  # over: capped
    ("SELECT material_id FROM materials LIMIT ALL", 50, 51, 50),
    ("SELECT material_id FROM materials UNION SELECT supplier_id FROM suppliers LIMIT 7", 5, 6, 5),
    ("SELECT * FROM (SELECT material_id FROM materials LIMIT 1000) x", 20, 21, 20),
])
def test_the_outermost_limit_is_rewritten_to_the_cap(statement, max_rows, limit, cap):
    guarded = check(statement, max_rows=max_rows)
    reparsed = sqlglot.parse_one(guarded.sql, read="postgres")
    assert int(reparsed.args["limit"].expression.this) == limit
    assert guarded.max_rows == cap


def test_comments_never_reach_the_database():
    guarded = check("SELECT material_id /* ; DROP */ FROM materials -- */ DROP TABLE x")
    assert "--" not in guarded.sql and "/*" not in guarded.sql and "DROP" not in guarded.sql


def test_unqualified_tables_resolve_to_the_default_schema_only():
    guarded = check("SELECT material_id FROM materials")
    assert '"plant_demo"."materials"' in guarded.sql


def test_stars_expand_to_allow_listed_columns_only():
    guarded = check("SELECT * FROM suppliers")
    assert "tax_id" not in guarded.sql and "tenant_id" not in guarded.sql
    assert guarded.sql.count(" AS ") == 1 + 6  # the table alias and six columns


CONTEXT = {"tenant": "acme", "user": "ann"}


def test_clearance_hides_columns_and_tables_above_it():
    restricted = AllowList.model_validate({
        "default_schema": "plant_demo",
        "tables": [
            {"name": "plant_demo.materials", "columns": ["material_id", {
                "name": "standard_price", "data_class": "III"}]},
            {"name": "plant_demo.suppliers", "data_class": "IV", "columns": ["name"]},
            {"name": "plant_demo.machines", "roles": ["maintenance"], "columns": ["machine_id"]},
        ],
    })
    low = restricted.visible_to(CallContext(**CONTEXT, clearance=DataClass.II))
    high = restricted.visible_to(CallContext(**CONTEXT, clearance=DataClass.IV,
                                             roles=("maintenance",)))
    assert [t.name for t in low.tables] == ["plant_demo.materials"]
    with pytest.raises(TesseraError) as caught:
        check("SELECT standard_price FROM materials", low)
    assert caught.value.details["rule"] == "column"
    for statement in ("SELECT name FROM suppliers", "SELECT machine_id FROM machines"):
        with pytest.raises(TesseraError) as caught:
            check(statement, low)
        assert caught.value.details["rule"] == "table"
        assert check(statement, high).tables
    assert check("SELECT standard_price FROM materials", high).tables


def test_an_allow_list_cannot_name_a_system_catalog():
    with pytest.raises(ValueError, match="system catalogs"):
        AllowList.model_validate({"tables": [{"name": "pg_catalog.pg_authid",
                                              "columns": ["rolname"]}]})

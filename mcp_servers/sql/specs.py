"""The sql server's tool contracts."""

from __future__ import annotations

from mcp_servers.kit.errors import ErrorCategory as E
from mcp_servers.kit.spec import DataClass, Risk, ToolSpec
from mcp_servers.sql import models as m

DESCRIBE = ToolSpec(
    name="sql.describe",
    title="Describe the queryable tables",
    description=(
        "List the database tables and columns you may query with sql.query, with their types "
        "and what they hold. Call it before writing a query."
    ),
    input_model=m.DescribeInput,
    output_model=m.DescribeOutput,
    examples=(
        {},
        {"tables": ["plant_demo.purchase_orders", "po_items"]},
    ),
    errors=frozenset({E.UPSTREAM_UNAVAILABLE, E.UPSTREAM_TIMEOUT}),
    risk=Risk.READ,
    data_class=DataClass.I,
)

QUERY = ToolSpec(
    name="sql.query",
    title="Run one read-only SQL query",
    description=(
        "Run one PostgreSQL SELECT over the tables sql.describe lists and return the rows "
        "(at most max_rows; truncated says when more matched). Read-only: writes, system "
        "catalogs and most server functions are refused, with a hint saying how to fix the query."
    ),
    input_model=m.QueryInput,
    output_model=m.QueryOutput,
    examples=(
        {"sql": "SELECT po_number, supplier_id, status, net_value FROM plant_demo.purchase_orders "
                "WHERE status = 'OPEN' ORDER BY delivery_date LIMIT 20"},
        {"sql": "SELECT m.material_type, count(*) AS materials, round(avg(m.standard_price), 2) "
                "AS avg_price FROM materials m GROUP BY m.material_type ORDER BY 2 DESC",
         "max_rows": 10},
        {"sql": "SELECT defect_code, sum(defects) AS defects FROM quality_inspections "
                "WHERE result <> 'PASS' GROUP BY defect_code ORDER BY defects DESC"},
    ),
    errors=frozenset({E.FORBIDDEN, E.UPSTREAM_UNAVAILABLE, E.UPSTREAM_TIMEOUT}),
    risk=Risk.READ,
    data_class=DataClass.III,  # the shipped allow-list's highest; build() sets the file's
)

ALL = (DESCRIBE, QUERY)

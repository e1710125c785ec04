"""The `sql` server: guarded, read-only SQL over allow-listed tables, per tenant."""

from pathlib import Path

from mcp_servers.kit.definition import IsolationProbe, ServerDefinition, ToolCall
from mcp_servers.sql.server import build
from mcp_servers.sql.settings import SqlSettings

# sql has no write tool: its data comes from the database. The migration seeds a
# three-row plant for the conformance suite's tenant A and none for tenant B, so
# the probe's read (which carries the marker as a projected literal) shows the
# marker exactly when the caller's tenant has rows, i.e. only for tenant A.
# The "write" is a harmless read that must succeed, as the probe requires.
_READ_A_ROWS = (
    "SELECT '{marker}' AS probe, {columns} FROM plant_demo.{table} ORDER BY 2 LIMIT 3"
)

definition = ServerDefinition(
    name="sql",
    description="Guarded read-only SQL over allow-listed tables (plant_demo by default).",
    build=build,
    default_port=8716,
    settings_model=SqlSettings,
    migrations=Path(__file__).parent / "migrations",
    isolation_probes=(
        IsolationProbe(
            write=ToolCall("sql.describe", {}),
            read=ToolCall("sql.query", {"sql": _READ_A_ROWS.format(
                marker="{marker}", columns="material_id, description", table="materials")}),
        ),
        IsolationProbe(
            write=ToolCall("sql.describe", {"tables": ["purchase_orders"]}),
            read=ToolCall("sql.query", {"sql": _READ_A_ROWS.format(
                marker="{marker}", columns="po_number, supplier_id", table="purchase_orders")}),
        ),
    ),
)

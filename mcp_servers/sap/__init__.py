"""The `sap` server: SAP ERP over OData v2 — purchase orders, materials, stock, cost centers."""

from mcp_servers.kit.definition import IsolationProbe, ServerDefinition, ToolCall
from mcp_servers.sap.backends import simulated_backends
from mcp_servers.sap.server import build
from mcp_servers.sap.settings import SapSettings

definition = ServerDefinition(
    name="sap",
    description="SAP ERP over OData v2: purchase orders, materials, stock, cost centers; "
    "PO and goods-receipt writes.",
    build=build,
    default_port=8714,
    settings_model=SapSettings,
    test_backends=simulated_backends,
    isolation_probes=(
        IsolationProbe(
            write=ToolCall("sap.create_purchase_order", {
                "idempotency_key": "iso-{marker}", "supplier": "100001",
                "items": [{"material": "RM-10002", "quantity": 7, "plant": "1000",
                           "text": "probe {marker}"}],
            }),
            read=ToolCall("sap.list_purchase_order_items", {"text_contains": "{marker}"}),
        ),
    ),
)

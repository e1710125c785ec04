"""The `mes` server: the plant's MES over REST — orders, machines, downtime, quality."""

from mcp_servers.kit.definition import IsolationProbe, ServerDefinition, ToolCall
from mcp_servers.mes.backends import simulated_backends
from mcp_servers.mes.server import build
from mcp_servers.mes.settings import MesSettings

definition = ServerDefinition(
    name="mes",
    description="The plant's MES over REST: production orders, machine status, downtime, "
    "quality; hold/release and downtime-reason writes.",
    build=build,
    default_port=8715,
    settings_model=MesSettings,
    test_backends=simulated_backends,
    isolation_probes=(
        IsolationProbe(
            write=ToolCall("mes.record_downtime_reason", {
                "idempotency_key": "iso-{marker}", "event": "DT-000010",
                "reason_code": "SETUP", "comment": "probe {marker}"}),
            read=ToolCall("mes.list_downtime_events", {"text_contains": "{marker}"}),
        ),
    ),
)

"""The `citations` server: claim-level attribution of answers to kb chunks, and quote checks."""

from pathlib import Path

from mcp_servers.citations.server import build
from mcp_servers.citations.settings import CitationsSettings
from mcp_servers.kit.definition import IsolationProbe, ServerDefinition, ToolCall

definition = ServerDefinition(
    name="citations",
    description="Claim-level citations: attribute an answer to chunks, verify quotes.",
    build=build,
    default_port=8713,
    settings_model=CitationsSettings,
    migrations=Path(__file__).parent / "migrations",
    isolation_probes=(
        IsolationProbe(
            write=ToolCall("citations.add_source", {"source_id": "probe-{marker}",
                                                    "text": "The vault code is {marker}."}),
            read=ToolCall("citations.verify_quote", {"chunk_id": "probe-{marker}",
                                                     "quote": "vault code is {marker}"}),
        ),
    ),
)

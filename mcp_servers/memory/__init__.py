"""The `memory` server: durable, per-user memories with semantic recall."""

from pathlib import Path

from mcp_servers.kit.definition import IsolationProbe, ServerDefinition, ToolCall
from mcp_servers.memory.server import build
from mcp_servers.memory.settings import MemorySettings

definition = ServerDefinition(
    name="memory",
    description="Per-user long-term memory: remember, recall, forget, export, erase.",
    build=build,
    default_port=8711,
    settings_model=MemorySettings,
    migrations=Path(__file__).parent / "migrations",
    isolation_probes=(
        IsolationProbe(
            write=ToolCall("memory.remember", {"content": "The vault code is {marker}."}),
            read=ToolCall("memory.recall", {"query": "vault code {marker}", "min_similarity": -1}),
        ),
        IsolationProbe(
            write=ToolCall("memory.remember", {"content": "Badge number {marker}", "kind": "FACT"}),
            read=ToolCall("memory.export_user", {}),
        ),
    ),
)

"""The `kb` server: documents in, hybrid retrieval with citable hits out."""

from pathlib import Path

from mcp_servers.kb.server import build
from mcp_servers.kb.settings import KbSettings
from mcp_servers.kit.definition import IsolationProbe, ServerDefinition, ToolCall

definition = ServerDefinition(
    name="kb",
    description="Knowledge base: ingest documents, hybrid search, chunks and documents to cite.",
    build=build,
    default_port=8712,
    settings_model=KbSettings,
    migrations=Path(__file__).parent / "migrations",
    isolation_probes=(
        IsolationProbe(
            write=ToolCall("kb.ingest", {"documents": [{
                "source_uri": "probe://isolation/{marker}.md",
                "content": "# Vault\n\nThe vault code is {marker}."}]}),
            read=ToolCall("kb.search", {"query": "vault code {marker}"}),
        ),
        IsolationProbe(
            write=ToolCall("kb.ingest", {"documents": [{
                "source_uri": "probe://isolation/{marker}-2.txt",
                "content": "Badge number {marker}."}]}),
            read=ToolCall("kb.get_document", {"source_uri": "probe://isolation/{marker}-2.txt"}),
        ),
    ),
)

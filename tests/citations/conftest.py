"""A citations server and a kb server on the same test database, through real MCP clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastmcp import Client

from mcp_servers.citations import definition as citations_definition
from mcp_servers.citations.settings import CitationsSettings
from mcp_servers.kb import definition as kb_definition
from mcp_servers.kit.context import CONTEXT_META_KEY
from mcp_servers.kit.settings import Settings


@pytest.fixture
def citations_settings() -> CitationsSettings:
    return CitationsSettings(_env_file=None)


@pytest.fixture
async def clients(settings: Settings, citations_settings: CitationsSettings, anyio_backend: str
                  ) -> AsyncIterator[dict[str, Client]]:
    kb = kb_definition.create(settings)
    citations = citations_definition.create(settings, citations_settings)
    async with Client(kb.mcp) as kb_client, Client(citations.mcp) as citations_client:
        yield {"kb": kb_client, "citations": citations_client}


@pytest.fixture
def call(clients: dict[str, Client], tokens: Any):
    """call("citations.attribute", args, tenant=..., clearance=...) -> CallToolResult."""

    async def invoke(tool: str, arguments: dict[str, Any], **identity: Any):
        server = tool.split(".")[0]
        identity.setdefault("tenant", "cite-tests")
        meta = {CONTEXT_META_KEY: tokens(audience=server, **identity)}
        return await clients[server].call_tool_mcp(tool, arguments, meta=meta)

    return invoke


async def chunk_ids(call, uri: str, content: str, **identity: Any) -> list[str]:
    """Ingest a document into the kb and return its chunk ids, in order."""
    done = await call("kb.ingest", {"documents": [{"source_uri": uri, "content": content}]},
                      **identity)
    assert done.structured_content["results"][0]["status"] in ("created", "unchanged"), done
    doc = await call("kb.get_document", {"source_uri": uri, "include_chunks": True}, **identity)
    return [c["chunk_id"] for c in doc.structured_content["chunks"]]

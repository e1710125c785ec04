"""Assembling the citations server: store, embedder, service and tools."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp_servers.citations import specs
from mcp_servers.citations.service import CitationsService
from mcp_servers.citations.settings import CitationsSettings
from mcp_servers.kit.embeddings import build_embedder
from mcp_servers.kit.server import ToolServer
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.store import Store

VERSION = "0.1.0"
INSTRUCTIONS = (
    "Claim-level citations. After drafting an answer from kb.search hits, call "
    "citations.attribute with the answer and the chunk ids used; drop or fix the claims it "
    "reports unsupported. Check any verbatim quote with citations.verify_quote."
)


def build(settings: Settings, citations_settings: CitationsSettings) -> ToolServer:
    store = Store.from_settings(settings, application_name="tessera-citations")
    service = CitationsService(store, build_embedder(settings), citations_settings)

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[dict[str, Any]]:
        async with store:
            yield {}

    server = ToolServer("citations", settings, version=VERSION, instructions=INSTRUCTIONS,
                        lifespan=lifespan)
    server.add(specs.ATTRIBUTE, service.attribute)
    server.add(specs.VERIFY_QUOTE, service.verify_quote)
    server.add(specs.ADD_SOURCE, service.add_source)
    return server

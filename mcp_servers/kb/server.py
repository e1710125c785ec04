"""Assembling the kb server: store, embedder, service and tools."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp_servers.kb import specs
from mcp_servers.kb.service import KbService
from mcp_servers.kb.settings import KbSettings
from mcp_servers.kit.embeddings import build_embedder
from mcp_servers.kit.server import ToolServer
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.store import Store
from mcp_servers.kit.store.vectors import claim_embedding_space

VERSION = "0.1.0"
COLLECTION = "kb_chunks"
INSTRUCTIONS = (
    "The tenant's knowledge base of documents. Search it before answering questions about "
    "procedures, specifications, policies or anything documented; answer from the hits and "
    "cite them by chunk_id. Read a chunk in full with kb.get_chunk before quoting it."
)


def build_service(settings: Settings, kb_settings: KbSettings) -> tuple[Store, KbService, Any]:
    """The store, the service and the embedder; the CLI and evals use them without MCP."""
    store = Store.from_settings(settings, application_name="tessera-kb")
    embedder = build_embedder(settings)
    return store, KbService(store, embedder, kb_settings), embedder


def build(settings: Settings, kb_settings: KbSettings) -> ToolServer:
    store, service, embedder = build_service(settings, kb_settings)

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[dict[str, Any]]:
        async with store:
            await claim_embedding_space(store, COLLECTION, embedder.info)
            yield {}

    server = ToolServer("kb", settings, version=VERSION, instructions=INSTRUCTIONS,
                        lifespan=lifespan)
    server.add(specs.INGEST, service.ingest)
    server.add(specs.SEARCH, service.search)
    server.add(specs.GET_CHUNK, service.get_chunk)
    server.add(specs.GET_DOCUMENT, service.get_document)
    server.add(specs.DELETE, service.delete)
    return server

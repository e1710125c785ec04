"""Assembling the memory server: store, embedder, service and tools."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp_servers.kit.embeddings import build_embedder
from mcp_servers.kit.server import ToolServer
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.store import Store
from mcp_servers.kit.store.vectors import claim_embedding_space
from mcp_servers.memory import specs
from mcp_servers.memory.service import MemoryService
from mcp_servers.memory.settings import MemorySettings

VERSION = "0.1.0"
INSTRUCTIONS = (
    "Long-term memory for the current user. Recall before answering questions that may "
    "depend on earlier conversations; remember durable facts and preferences the user "
    "states. Memories are private to the user within their tenant."
)


def build(settings: Settings, memory_settings: MemorySettings) -> ToolServer:
    store = Store.from_settings(settings, application_name="tessera-memory")
    embedder = build_embedder(settings)
    service = MemoryService(store, embedder, memory_settings)

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[dict[str, Any]]:
        async with store:
            await claim_embedding_space(store, "memories", embedder.info)
            yield {}

    server = ToolServer("memory", settings, version=VERSION, instructions=INSTRUCTIONS,
                        lifespan=lifespan)
    server.add(specs.REMEMBER, service.remember)
    server.add(specs.RECALL, service.recall)
    server.add(specs.FORGET, service.forget)
    server.add(specs.EXPORT_USER, service.export_user)
    server.add(specs.ERASE_USER, service.erase_user)
    return server

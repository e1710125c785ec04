"""A memory server on the test database, reached through a real in-memory MCP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from fastmcp import Client
from mcp_types import CallToolResult

from mcp_servers.kit.context import CONTEXT_META_KEY
from mcp_servers.kit.settings import Settings
from mcp_servers.memory import definition
from mcp_servers.memory.settings import MemorySettings

Call = Callable[..., Any]


@pytest.fixture
def memory_settings() -> MemorySettings:
    return MemorySettings(_env_file=None)


@pytest.fixture
async def client(settings: Settings, memory_settings: MemorySettings, anyio_backend: str
                 ) -> AsyncIterator[Client]:
    server = definition.create(settings, memory_settings)
    async with Client(server.mcp) as connected:
        yield connected


@pytest.fixture
def call(client: Client, tokens: Any) -> Call:
    """call(tool, args, tenant=..., user=..., roles=..., clearance=...) -> CallToolResult."""

    async def invoke(tool: str, arguments: dict[str, Any], **identity: Any) -> CallToolResult:
        token = tokens(**identity) if identity.get("token", True) is not None else None
        identity.pop("token", None)
        meta = {CONTEXT_META_KEY: tokens(**identity)} if token else None
        return await client.call_tool_mcp(f"memory.{tool}", arguments, meta=meta)

    return invoke

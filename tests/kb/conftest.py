"""A kb server on the test database, reached through a real in-memory MCP client."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from fastmcp import Client

from mcp_servers.kb import definition
from mcp_servers.kb.settings import KbSettings
from mcp_servers.kit.context import CONTEXT_META_KEY
from mcp_servers.kit.settings import Settings

Call = Callable[..., Any]


@pytest.fixture
def kb_settings() -> KbSettings:
    return KbSettings(_env_file=None)


@pytest.fixture
async def client(settings: Settings, kb_settings: KbSettings, anyio_backend: str
                 ) -> AsyncIterator[Client]:
    server = definition.create(settings, kb_settings)
    async with Client(server.mcp) as connected:
        yield connected


@pytest.fixture
def call(client: Client, tokens: Any) -> Call:
    """call(tool, args, tenant=..., user=..., roles=..., clearance=...) -> CallToolResult."""

    async def invoke(tool: str, arguments: dict[str, Any], **identity: Any):
        identity.setdefault("tenant", "kb-tests")
        meta = {CONTEXT_META_KEY: tokens(audience="kb", **identity)}
        return await client.call_tool_mcp(f"kb.{tool}", arguments, meta=meta)

    return invoke


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def ingest(call: Call, *documents: dict[str, Any], **identity: Any) -> list[dict[str, Any]]:
    result = await call("ingest", {"documents": list(documents)}, **identity)
    assert not result.is_error, result.structured_content
    return result.structured_content["results"]

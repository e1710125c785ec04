"""The mes server against the MES simulator served for real on loopback, through an MCP client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from mcp_types import CallToolResult

from mcp_servers.kit.context import CONTEXT_META_KEY
from mcp_servers.mes import definition
from mcp_servers.mes.backends import connections_for
from mcp_servers.mes.settings import MesSettings
from mcp_servers.mes.simulator import build_app
from tests.helpers import serving

TENANTS = {"acme": "1000", "globex": "2000"}


def write_connections(folder: Path, url: str, **overrides: Any) -> Path:
    document = connections_for(url, TENANTS, folder)
    for entry in document["tenants"].values():
        entry.update(overrides)
    path = folder / "connections.json"
    path.write_text(json.dumps(document))
    return path


class Mes:
    def __init__(self, client: Client, tokens: Any, simulator: Any) -> None:
        self.client, self.tokens, self.simulator = client, tokens, simulator

    async def call(self, tool: str, arguments: dict[str, Any], *, tenant: str = "acme",
                   user: str = "lea@acme.example") -> CallToolResult:
        meta = {CONTEXT_META_KEY: self.tokens(tenant=tenant, user=user, audience="mes")}
        return await self.client.call_tool_mcp(f"mes.{tool}", arguments, meta=meta)

    async def ok(self, tool: str, arguments: dict[str, Any], **identity: Any) -> dict[str, Any]:
        result = await self.call(tool, arguments, **identity)
        assert not result.is_error, result.structured_content
        return result.structured_content


@pytest.fixture
def mes_app():
    return build_app(1000, sites=tuple(TENANTS.values()),
                     tokens={f"token-for-site-{s}": (s,) for s in TENANTS.values()})


@pytest.fixture
async def mes_url(mes_app, anyio_backend) -> AsyncIterator[str]:
    async with serving(mes_app) as url:
        yield url


async def connect(settings, tokens, simulator, connections: Path) -> AsyncIterator[Mes]:
    server = definition.create(settings, MesSettings(_env_file=None,
                                                     connections_file=connections))
    async with Client(server.mcp) as client:
        yield Mes(client, tokens, simulator)


@pytest.fixture
async def mes(settings, tokens, mes_app, mes_url, tmp_path) -> AsyncIterator[Mes]:
    async for connected in connect(settings, tokens, mes_app.state.simulator,
                                   write_connections(tmp_path, mes_url)):
        yield connected

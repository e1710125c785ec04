"""The sap server against the SAP simulator served for real on loopback, through an MCP client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from mcp_types import CallToolResult

from mcp_servers.kit.context import CONTEXT_META_KEY
from mcp_servers.sap import definition
from mcp_servers.sap.backends import connections_for
from mcp_servers.sap.settings import SapSettings
from mcp_servers.sap.simulator import DEMO_PASSWORD, build_app
from tests.helpers import serving

TENANTS = {"acme": "100", "globex": "200"}


def write_connections(folder: Path, url: str, tenants: dict[str, str] = TENANTS,
                      **overrides: Any) -> Path:
    secret = folder / "sap-password"
    secret.write_text(overrides.pop("password", DEMO_PASSWORD))
    document = connections_for(url, tenants, secret)
    for entry in document["tenants"].values():
        entry.update(overrides)
    path = folder / "connections.json"
    path.write_text(json.dumps(document))
    return path


class Sap:
    """A connected sap server plus the simulator behind it."""

    def __init__(self, client: Client, tokens: Any, simulator: Any) -> None:
        self.client, self.tokens, self.simulator = client, tokens, simulator

    async def call(self, tool: str, arguments: dict[str, Any], *, tenant: str = "acme",
                   user: str = "ann@acme.example") -> CallToolResult:
        meta = {CONTEXT_META_KEY: self.tokens(tenant=tenant, user=user, audience="sap")}
        return await self.client.call_tool_mcp(f"sap.{tool}", arguments, meta=meta)

    async def ok(self, tool: str, arguments: dict[str, Any], **identity: Any) -> dict[str, Any]:
        result = await self.call(tool, arguments, **identity)
        assert not result.is_error, result.structured_content
        return result.structured_content


@pytest.fixture
def sap_app():
    return build_app(1000, clients=tuple(TENANTS.values()))


@pytest.fixture
async def sap_url(sap_app, anyio_backend) -> AsyncIterator[str]:
    async with serving(sap_app) as url:
        yield url


async def connect(settings, tokens, simulator, connections: Path) -> AsyncIterator[Sap]:
    server = definition.create(settings, SapSettings(_env_file=None,
                                                     connections_file=connections))
    async with Client(server.mcp) as client:
        yield Sap(client, tokens, simulator)


@pytest.fixture
async def sap(settings, tokens, sap_app, sap_url, tmp_path) -> AsyncIterator[Sap]:
    async for connected in connect(settings, tokens, sap_app.state.simulator,
                                   write_connections(tmp_path, sap_url)):
        yield connected

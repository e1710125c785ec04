"""The mes server against the MES simulator served for real on loopback, through an MCP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mcp_servers.mes import definition
from mcp_servers.mes.backends import connections_for
from mcp_servers.mes.settings import MesSettings
from mcp_servers.mes.simulator import build_app
from tests import connectors_support as support
from tests.connectors_support import Connected
from tests.helpers import serving

TENANTS = {"acme": "1000", "globex": "2000"}
USER = "lea@acme.example"
Mes = Connected


def write_connections(folder: Path, url: str, **overrides: Any) -> Path:
    return support.write_connections(folder, connections_for(url, TENANTS, folder), **overrides)


async def connect(settings, tokens, simulator, connections: Path) -> AsyncIterator[Mes]:
    async for connected in support.connect(
            definition, MesSettings(_env_file=None, connections_file=connections), settings,
            tokens, simulator, user=USER):
        yield connected


@pytest.fixture
def mes_app():
    return build_app(1000, sites=tuple(TENANTS.values()),
                     tokens={f"token-for-site-{s}": (s,) for s in TENANTS.values()})


@pytest.fixture
async def mes_url(mes_app, anyio_backend) -> AsyncIterator[str]:
    async with serving(mes_app) as url:
        yield url


@pytest.fixture
async def mes(settings, tokens, mes_app, mes_url, tmp_path) -> AsyncIterator[Mes]:
    async for connected in connect(settings, tokens, mes_app.state.simulator,
                                   write_connections(tmp_path, mes_url)):
        yield connected


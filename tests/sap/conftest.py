"""The sap server against the SAP simulator served for real on loopback, through an MCP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mcp_servers.sap import definition
from mcp_servers.sap.backends import connections_for
from mcp_servers.sap.settings import SapSettings
from mcp_servers.sap.simulator import DEMO_PASSWORD, build_app
from tests import connectors_support as support
from tests.connectors_support import Connected
from tests.helpers import serving

TENANTS = {"acme": "100", "globex": "200"}
USER = "ann@acme.example"
Sap = Connected


def write_connections(folder: Path, url: str, tenants: dict[str, str] = TENANTS,
                      **overrides: Any) -> Path:
    secret = folder / "sap-password"
    secret.write_text(overrides.pop("password", DEMO_PASSWORD))
    return support.write_connections(folder, connections_for(url, tenants, secret), **overrides)


async def connect(settings, tokens, simulator, connections: Path) -> AsyncIterator[Sap]:
    async for connected in support.connect(
            definition, SapSettings(_env_file=None, connections_file=connections), settings,
            tokens, simulator, user=USER):
        yield connected


@pytest.fixture
def sap_app():
    return build_app(1000, clients=tuple(TENANTS.values()))


@pytest.fixture
async def sap_url(sap_app, anyio_backend) -> AsyncIterator[str]:
    async with serving(sap_app) as url:
        yield url


@pytest.fixture
async def sap(settings, tokens, sap_app, sap_url, tmp_path) -> AsyncIterator[Sap]:
    async for connected in connect(settings, tokens, sap_app.state.simulator,
                                   write_connections(tmp_path, sap_url)):
        yield connected


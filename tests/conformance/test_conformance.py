"""The conformance suite, run against every registered server over in-memory and HTTP transports.

A new server registered under the `tessera.servers` entry point is picked up here
without any change to this file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport

from mcp_servers.kit.conformance import (
    TENANT_A,
    TENANT_B,
    CheckOptions,
    Outcome,
    isolation_checks,
    protocol_checks,
)
from mcp_servers.kit.definition import ServerDefinition, registered_servers
from mcp_servers.kit.server import MCP_PATH, http_app
from mcp_servers.kit.settings import ServerSettings
from mcp_servers.kit.spec import lint_spec
from tests.helpers import serving

pytestmark = pytest.mark.anyio

SERVERS = sorted(registered_servers())
TRANSPORTS = ["memory", "http"]


@asynccontextmanager
async def backends(definition: ServerDefinition) -> AsyncIterator[ServerSettings | None]:
    """The server's own settings, pointed at its test backends when it declares some."""
    if definition.test_backends is None:
        yield None
        return
    async with definition.test_backends((TENANT_A, TENANT_B)) as overrides:
        yield definition.server_settings(_env_file=None, **overrides)


@asynccontextmanager
async def connect(name: str, transport: str, settings) -> AsyncIterator[Client]:
    async with backends(registered_servers()[name]) as server_settings, \
            _connect(name, transport, settings, server_settings) as client:
        yield client


@asynccontextmanager
async def _connect(name: str, transport: str, settings, server_settings
                   ) -> AsyncIterator[Client]:
    server = registered_servers()[name].create(settings, server_settings)
    if transport == "memory":
        async with Client(server.mcp) as client:
            yield client
        return
    async with serving(http_app(server.mcp, settings)) as url, \
            Client(StreamableHttpTransport(f"{url}{MCP_PATH}")) as client:
        yield client


def _failures(results):
    return [f"{r.check} {r.subject}: {r.detail}" for r in results if r.outcome is Outcome.FAIL]


@pytest.mark.parametrize("name", SERVERS)
def test_every_tool_spec_passes_the_lint(name, settings):
    server = registered_servers()[name].create(settings)
    assert server.specs, f"{name} serves no tools"
    assert {spec: lint_spec(s) for spec, s in server.specs.items() if lint_spec(s)} == {}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("name", SERVERS)
async def test_protocol_checks_pass(name, transport, settings, tokens, anyio_backend):
    async with connect(name, transport, settings) as client:
        results = await protocol_checks(
            client,
            CheckOptions(tokens=lambda tenant: tokens(tenant=tenant, audience=name),
                         tenant=TENANT_A, allow_writes=True),
        )
    assert _failures(results) == []
    checked = {r.check for r in results if r.outcome is Outcome.PASS}
    assert {"initialize", "tools", "definition", "malformed", "no_context"} <= checked
    assert any(check.startswith("example") for check in checked)
    assert not [r for r in results if r.outcome is Outcome.SKIP]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("name", SERVERS)
async def test_tenant_a_cannot_read_tenant_b_data(name, transport, settings, tokens, anyio_backend):
    probes = registered_servers()[name].isolation_probes
    assert probes, f"{name} declares no isolation probes"
    async with connect(name, transport, settings) as client:
        results = await isolation_checks(
            client, probes, lambda tenant: tokens(tenant=tenant, user="same-user", audience=name)
        )
    assert _failures(results) == []
    assert len(results) == len(probes)

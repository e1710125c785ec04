"""Assembling a connector server: each tool is the service method named like it; clients close with it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from mcp_servers.kit.connectors.connections import Closable
from mcp_servers.kit.server import ToolServer
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.spec import ToolSpec


def connector_server(name: str, settings: Settings, *, clients: Closable, service: Any,
                     specs: Iterable[ToolSpec], version: str, instructions: str) -> ToolServer:
    """A `ToolServer` with `service.<tool>` as the handler of each spec `<name>.<tool>`."""

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {}
        finally:
            await clients.aclose()

    server = ToolServer(name, settings, version=version, instructions=instructions,
                        lifespan=lifespan)
    for spec in specs:
        server.add(spec, getattr(service, spec.name.split(".", 1)[1]))
    return server

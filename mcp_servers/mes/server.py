"""Assembling the mes server: per-tenant MES clients, the service and its tools."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp_servers.kit.server import ToolServer
from mcp_servers.kit.settings import Settings
from mcp_servers.mes import specs
from mcp_servers.mes.service import MesClients, MesService
from mcp_servers.mes.settings import MesSettings

VERSION = "0.1.0"
INSTRUCTIONS = (
    "The plant's MES for the caller's site: production orders, machine status and OEE, "
    "downtime events, quality inspections and defect rates. Read tools are safe to call. "
    "Writes (hold or release an order, record a downtime reason) need an idempotency_key and "
    "usually a human approval; each returns the MES transaction number."
)


def build(settings: Settings, mes_settings: MesSettings) -> ToolServer:
    clients = MesClients(mes_settings)
    service = MesService(clients)

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {}
        finally:
            await clients.aclose()

    server = ToolServer("mes", settings, version=VERSION, instructions=INSTRUCTIONS,
                        lifespan=lifespan)
    for spec in specs.ALL:
        server.add(spec, getattr(service, spec.name.split(".", 1)[1]))
    return server

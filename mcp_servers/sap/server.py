"""Assembling the sap server: per-tenant SAP clients, the service and its tools."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp_servers.kit.server import ToolServer
from mcp_servers.kit.settings import Settings
from mcp_servers.sap import specs
from mcp_servers.sap.service import SapClients, SapService
from mcp_servers.sap.settings import SapSettings

VERSION = "0.1.0"
INSTRUCTIONS = (
    "SAP ERP for the caller's company: purchase orders and their items, the material master, "
    "stock by plant and storage location, cost centers. Read tools are safe to call. Writes "
    "(create a purchase order, change an item, post a goods receipt) need an idempotency_key "
    "and usually a human approval; each returns the SAP document number."
)


def build(settings: Settings, sap_settings: SapSettings) -> ToolServer:
    clients = SapClients(sap_settings)
    service = SapService(clients)

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {}
        finally:
            await clients.aclose()

    server = ToolServer("sap", settings, version=VERSION, instructions=INSTRUCTIONS,
                        lifespan=lifespan)
    for spec in specs.ALL:
        server.add(spec, getattr(service, spec.name.split(".", 1)[1]))
    return server

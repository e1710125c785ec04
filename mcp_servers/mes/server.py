"""Assembling the mes server: per-tenant MES clients, the service and its tools."""

from __future__ import annotations

from mcp_servers.kit.connectors.server import connector_server
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
    return connector_server("mes", settings, clients=clients, service=MesService(clients),
                            specs=specs.ALL, version=VERSION, instructions=INSTRUCTIONS)

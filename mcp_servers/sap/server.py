"""Assembling the sap server: per-tenant SAP clients, the service and its tools."""

from __future__ import annotations

from mcp_servers.kit.connectors.server import connector_server
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
    return connector_server("sap", settings, clients=clients, service=SapService(clients),
                            specs=specs.ALL, version=VERSION, instructions=INSTRUCTIONS)

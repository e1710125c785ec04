"""Federation: connect to every capability server, keep their tools, call them with identity."""

from host.federation.connection import ServerConnection, ServerEndpoint, ServerHealth
from host.federation.federation import FederatedTool, Federation

__all__ = ["FederatedTool", "Federation", "ServerConnection", "ServerEndpoint", "ServerHealth"]

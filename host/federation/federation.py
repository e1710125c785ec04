"""The federation: every configured server, one namespaced catalog, one way to call a tool.

Tools are already namespaced by their server (`kb.search`, `sap.create_purchase_order`);
the federation refuses a tool whose name does not start with its server's name, so
one server can never shadow another's tool. Each call carries a freshly signed call
context (audience = the server) in `_meta`, and the OpenTelemetry trace parent, which
the MCP client injects. Upstream `isError` results pass through unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import anyio
import jsonschema
import mcp.types as mcp_types

from host.federation.connection import ServerConnection, ServerEndpoint, ServerHealth
from mcp_servers.kit.context import CONTEXT_META_KEY, CallContext, ContextSigner
from mcp_servers.kit.errors import NotFound
from mcp_servers.kit.spec import SPEC_META_KEY, DataClass, Risk

logger = logging.getLogger("tessera.host.federation")




@dataclass(frozen=True)
class FederatedTool:
    """A tool as the host sees it: where it lives and what its spec says about risk."""

    name: str
    server: str
    description: str
    input_schema: dict[str, Any]
    risk: Risk
    data_class: DataClass
    annotations: dict[str, Any]
    examples: tuple[dict[str, Any], ...] = field(default=())

    @cached_property
    def validator(self) -> jsonschema.Draft202012Validator:
        """The input schema, compiled once: compiling costs far more than validating."""
        return jsonschema.Draft202012Validator(self.input_schema)

    @classmethod
    def from_mcp(cls, server: str, tool: mcp_types.Tool) -> FederatedTool:
        meta = (tool.meta or {}).get(SPEC_META_KEY) or {}
        annotations = (tool.annotations.model_dump(by_alias=True, exclude_none=True)
                       if tool.annotations else {})
        # A tool without a Tessera spec is treated as the riskiest kind until policy says otherwise.
        risk = Risk(meta.get("risk", Risk.WRITE_HIGH if not annotations.get("readOnlyHint") else Risk.READ))
        return cls(
            name=tool.name,
            server=server,
            description=tool.description or "",
            input_schema=dict(tool.input_schema or {}),
            risk=risk,
            data_class=DataClass(meta.get("data_class", DataClass.IV)),
            annotations=annotations,
            examples=tuple(meta.get("examples", ())),
        )


class Federation:
    def __init__(self, endpoints: list[ServerEndpoint], signer: ContextSigner, *,
                 max_backoff_s: float = 30.0, health_interval_s: float = 5.0) -> None:
        self._signer = signer
        self.connections = {
            endpoint.name: ServerConnection(endpoint, max_backoff_s=max_backoff_s,
                                            health_interval_s=health_interval_s)
            for endpoint in endpoints
        }
        self._tools: dict[str, FederatedTool] = {}
        self.version = 0  # bumps whenever any server's tool list changes
        for connection in self.connections.values():
            connection.on_tools_changed(self._rebuild)

    async def run(self, task_group: anyio.abc.TaskGroup) -> None:
        for connection in self.connections.values():
            task_group.start_soon(connection.supervise, name=f"federation:{connection.name}")

    async def wait_ready(self, timeout_s: float) -> dict[str, bool]:
        ready: dict[str, bool] = {}
        with anyio.move_on_after(timeout_s):
            for name, connection in self.connections.items():
                ready[name] = await connection.wait_ready(timeout_s)
        return {name: self.connections[name].ready for name in self.connections}

    def _rebuild(self) -> None:
        tools: dict[str, FederatedTool] = {}
        for server, connection in self.connections.items():
            for name, tool in connection.tools.items():
                if not name.startswith(f"{server}."):
                    logger.warning("ignoring tool %s of server %s: not in its namespace", name, server)
                    continue
                tools[name] = FederatedTool.from_mcp(server, tool)
        self._tools = tools
        self.version += 1

    @property
    def tools(self) -> dict[str, FederatedTool]:
        return self._tools

    def tool(self, name: str) -> FederatedTool:
        tool = self._tools.get(name)
        if tool is None:
            raise NotFound(f"There is no tool named {name!r}.",
                           model_fix_hint="Use search_tools to find the right tool name.")
        return tool

    async def call(self, name: str, arguments: dict[str, Any], context: CallContext,
                   timeout_s: float | None = None) -> mcp_types.CallToolResult:
        tool = self.tool(name)
        token = self._signer.sign(context, audience=tool.server)
        return await self.connections[tool.server].call(
            name, arguments, {CONTEXT_META_KEY: token}, timeout_s=timeout_s
        )

    def health(self) -> list[ServerHealth]:
        return [connection.health() for connection in self.connections.values()]

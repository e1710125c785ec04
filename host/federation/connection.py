"""One federated server: a supervised MCP client session that restarts with back-off.

A `ServerConnection` owns its session in a task of its own (anyio cancel scopes
must be entered and left in one task), keeps the server's tool list fresh on
`notifications/tools/list_changed`, and reconnects with exponential back-off when
the session dies (a crashed stdio process, a dropped HTTP connection). Callers
only ever see `call()`; if the server is down, that is an `UpstreamUnavailable`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import anyio
import mcp.types as mcp_types
from fastmcp import Client
from fastmcp.client.messages import MessageHandler
from fastmcp.client.transports import ClientTransport

from mcp_servers.kit.errors import UpstreamTimeout, UpstreamUnavailable

logger = logging.getLogger("tessera.host.federation")

HEALTH_INTERVAL_S = 5.0


@dataclass(frozen=True)
class Connected:
    """A live way to talk to a server, and how its process is confined."""

    transport: ClientTransport
    confinement: str  # bubblewrap | landlock+seccomp | none | remote | in-process


@dataclass(frozen=True)
class ServerEndpoint:
    """How to reach one server: `connect()` gives a fresh connection per (re)start.

    `connect` is an async context manager: leaving it stops whatever it started
    (a sandboxed process, for instance). See `host.federation.endpoints`.
    """

    name: str
    connect: Callable[[], AbstractAsyncContextManager[Connected]]
    kind: str  # stdio | http | memory


@dataclass(frozen=True)
class ServerHealth:
    name: str
    ready: bool
    kind: str
    confinement: str
    restarts: int
    last_error: str | None
    tools: int


class _ListChanged(MessageHandler):
    def __init__(self, connection: ServerConnection) -> None:
        self._connection = connection

    async def on_tool_list_changed(self, message: Any) -> None:
        self._connection.request_refresh()


class ServerConnection:
    def __init__(self, endpoint: ServerEndpoint, *, max_backoff_s: float = 30.0,
                 call_timeout_s: float = 60.0, health_interval_s: float = HEALTH_INTERVAL_S) -> None:
        self.endpoint = endpoint
        self.tools: dict[str, mcp_types.Tool] = {}
        self.restarts = 0
        self.confinement = "not started"
        self.last_error: str | None = None
        self._client: Client | None = None
        self._ready = anyio.Event()
        self._refresh = anyio.Event()
        self._max_backoff_s = max_backoff_s
        self._call_timeout_s = call_timeout_s
        self._health_interval_s = health_interval_s
        self._on_tools_changed: Callable[[], None] = lambda: None

    @property
    def name(self) -> str:
        return self.endpoint.name

    @property
    def ready(self) -> bool:
        return self._client is not None and self._ready.is_set()

    def on_tools_changed(self, callback: Callable[[], None]) -> None:
        self._on_tools_changed = callback

    def request_refresh(self) -> None:
        self._refresh.set()

    async def wait_ready(self, timeout_s: float) -> bool:
        """True once the server is connected, however many attempts that takes; False at the timeout."""
        with anyio.move_on_after(timeout_s):
            while not self.ready:
                await self._ready.wait()  # a failed attempt sets it too, then a new one is waited for
        return self.ready

    async def supervise(self) -> None:
        """Run forever: connect, serve, and on failure reconnect after a growing pause."""
        backoff = 0.5
        while True:
            started = time.monotonic()
            try:
                await self._session()
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:  # a dead server must never take the host down
                self.last_error = _describe(exc)
                logger.warning("server %s disconnected: %s", self.name, self.last_error)
            self._client = None
            attempt, self._ready = self._ready, anyio.Event()
            attempt.set()  # wakes wait_ready, which finds the server not ready and waits again
            if time.monotonic() - started > 60:
                backoff = 0.5  # it ran fine for a while: this is a new failure, not a loop
            await anyio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff_s)
            self.restarts += 1

    async def _session(self) -> None:
        async with self.endpoint.connect() as connected:
            self.confinement = connected.confinement
            client = Client(connected.transport, message_handler=_ListChanged(self),
                            timeout=self._call_timeout_s)
            async with client:
                await self._serve(client)

    async def _serve(self, client: Client) -> None:
        await self._load_tools(client)
        self._client = client
        self.last_error = None
        self._ready.set()
        while True:
            with anyio.move_on_after(self._health_interval_s):
                await self._refresh.wait()
            # Listing tools doubles as the liveness probe: a dead session raises here.
            self._refresh = anyio.Event()
            await self._load_tools(client)

    async def _load_tools(self, client: Client) -> None:
        tools = {tool.name: tool for tool in await client.list_tools()}
        if tools != self.tools:
            self.tools = tools
            self._on_tools_changed()

    async def call(self, tool: str, arguments: dict[str, Any], meta: dict[str, Any],
                   timeout_s: float | None = None) -> mcp_types.CallToolResult:
        client = self._client
        if client is None:
            raise UpstreamUnavailable(f"The {self.name} server is not available right now.",
                                      retry_after_s=2.0)
        try:
            return await client.call_tool_mcp(tool, arguments, meta=meta,
                                              timeout=timeout_s or self._call_timeout_s)
        except TimeoutError:
            raise UpstreamTimeout(f"The {self.name} server did not answer in time.") from None
        except Exception as exc:
            self.last_error = _describe(exc)
            self.request_refresh()  # the health loop finds out whether the session is dead
            raise UpstreamUnavailable(f"The {self.name} server failed to answer.",
                                      retry_after_s=2.0) from None

    def health(self) -> ServerHealth:
        return ServerHealth(name=self.name, ready=self.ready, kind=self.endpoint.kind,
                            confinement=self.confinement, restarts=self.restarts,
                            last_error=self.last_error, tools=len(self.tools))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(inner) for inner in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"[:300]

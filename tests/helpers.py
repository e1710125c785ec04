"""Test helpers shared across the suite: real HTTP servers on loopback, tokens, calls."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import uvicorn

from mcp_servers.kit.context import CallContext, ContextSigner
from mcp_servers.kit.spec import DataClass

START_TIMEOUT_S = 15.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@asynccontextmanager
async def serving(app: Any, *, port: int | None = None) -> AsyncIterator[str]:
    """Run an ASGI app with uvicorn on a free loopback port; yield its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        # A handler still busy at the end (a reply scripted never to arrive) is cut off
        # after a few seconds instead of holding the test until it is done.
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                       timeout_graceful_shutdown=3)
    )
    async with anyio.create_task_group() as group:
        group.start_soon(server.serve)
        with anyio.fail_after(START_TIMEOUT_S):
            while not server.started:
                await anyio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


class Tokens:
    """Signs call contexts for tests, like the host would."""

    def __init__(self, signer: ContextSigner) -> None:
        self.signer = signer

    def __call__(
        self,
        tenant: str = "acme",
        user: str = "ann@acme.example",
        *,
        audience: str = "memory",
        roles: tuple[str, ...] = (),
        clearance: DataClass = DataClass.II,
        ttl_s: float | None = None,
    ) -> str:
        context = CallContext(tenant=tenant, user=user, roles=roles, clearance=clearance)
        return self.signer.sign(context, audience=audience, ttl_s=ttl_s)

"""Serving the simulator: in the foreground (`tessera simulate`) or in the background (tests).

`in_background` binds a loopback socket first and hands it to uvicorn, so the
port is known before the server starts and no other process can take it.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import uvicorn

START_TIMEOUT_S = 15.0


@asynccontextmanager
async def in_background(app: Any, *, host: str = "127.0.0.1", port: int = 0
                        ) -> AsyncIterator[str]:
    """Serve `app` while the block runs; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it; without it small responses wait for delayed ACKs.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: server.serve(sockets=[sock]))
            with anyio.fail_after(START_TIMEOUT_S):
                while not server.started:
                    await anyio.sleep(0.01)
            try:
                yield f"http://{host}:{sock.getsockname()[1]}"
            finally:
                server.should_exit = True
    finally:
        sock.close()


async def in_foreground(app: Any, *, host: str, port: int, log_level: str = "info") -> None:
    await uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level,
                                        lifespan="off")).serve()

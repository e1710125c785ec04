"""The ways to reach a server, each an `ServerEndpoint` the federation can (re)connect.

    sandboxed(name, launch)   a process the sandbox launcher starts; MCP over its pipes
    stdio(name, command)      a plain child process (development, or sandbox mode off)
    remote(name, url)         a server elsewhere, over streamable HTTP
    in_process(name, build)   a server object in this process (tests, embedding)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import anyio
from fastmcp.client.transports import FastMCPTransport, StdioTransport, StreamableHttpTransport

from host.federation.connection import Connected, ServerEndpoint


def sandboxed(name: str, launch: Callable[[], Any]) -> ServerEndpoint:
    """`launch()` returns a started `sandbox.SandboxedProcess`; it is closed on disconnect."""

    @contextlib.asynccontextmanager
    async def connect() -> AsyncIterator[Connected]:
        process = await anyio.to_thread.run_sync(launch)
        try:
            yield Connected(process.transport(), str(process.report.confinement))
        finally:
            await anyio.to_thread.run_sync(process.close)

    return ServerEndpoint(name, connect, "stdio")


def stdio(name: str, command: str, args: Sequence[str], env: Mapping[str, str]) -> ServerEndpoint:
    @contextlib.asynccontextmanager
    async def connect() -> AsyncIterator[Connected]:
        yield Connected(StdioTransport(command, list(args), env=dict(env)), "none")

    return ServerEndpoint(name, connect, "stdio")


def remote(name: str, url: str) -> ServerEndpoint:
    @contextlib.asynccontextmanager
    async def connect() -> AsyncIterator[Connected]:
        yield Connected(StreamableHttpTransport(url), "remote")

    return ServerEndpoint(name, connect, "http")


def in_process(name: str, build: Callable[[], Any]) -> ServerEndpoint:
    """`build()` returns a FastMCP server; a fresh one per connection."""

    @contextlib.asynccontextmanager
    async def connect() -> AsyncIterator[Connected]:
        yield Connected(FastMCPTransport(build()), "in-process")

    return ServerEndpoint(name, connect, "memory")

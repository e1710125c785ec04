"""MCP over a sandboxed process's stdin/stdout, as fastmcp client transports.

fastmcp's own `StdioTransport` spawns its process itself; a sandboxed server must
be spawned by the launcher (from its long-lived thread, as the sandbox user, with
its proxy). Two transports:

- `PipeTransport(popen)` speaks newline-delimited JSON-RPC over an already
  running process's pipes and leaves the process alone;
- `SandboxedServerTransport(start)` calls `start()` (e.g. a `launch_server`
  partial) on every connect and closes the process on disconnect, so a
  supervisor that reconnects gets a fresh sandbox each time. Its `report` is
  the last launch's `SandboxReport`.

The pipes are made non-blocking and awaited with `anyio.wait_readable` and
`wait_writable`: no thread per message.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import mcp_types as types
from fastmcp.client.transports.base import ClientTransport, SessionKwargs, TransportOptions
from mcp import ClientSession
from mcp.shared.message import SessionMessage
from typing_extensions import Unpack


class PipeTransport(ClientTransport):
    """Connects a fastmcp `Client` to a running process over its stdio pipes."""

    def __init__(self, process: subprocess.Popen) -> None:
        if process.stdin is None or process.stdout is None:
            raise ValueError("the process needs stdin and stdout pipes")
        self.process = process

    @contextlib.asynccontextmanager
    async def connect_session(
        self, *, transport_options: TransportOptions | None = None,
        **session_kwargs: Unpack[SessionKwargs],
    ) -> AsyncIterator[ClientSession]:
        options = transport_options or TransportOptions()
        async with pipe_streams(self.process) as (read_stream, write_stream):
            async with options.session_class(read_stream, write_stream, **session_kwargs) as session:
                yield session

    def __repr__(self) -> str:
        return f"<PipeTransport pid={self.process.pid}>"


class SandboxedServerTransport(ClientTransport):
    """Launches a sandboxed server per connection and stops it when the connection ends."""

    def __init__(self, start: Callable[[], Any],
                 on_launch: Callable[[Any], None] | None = None) -> None:
        self._start = start
        self._on_launch = on_launch
        self.report: Any = None

    @contextlib.asynccontextmanager
    async def connect_session(
        self, *, transport_options: TransportOptions | None = None,
        **session_kwargs: Unpack[SessionKwargs],
    ) -> AsyncIterator[ClientSession]:
        server = await anyio.to_thread.run_sync(self._start)
        self.report = server.report
        if self._on_launch is not None:
            self._on_launch(server.report)
        try:
            async with PipeTransport(server.process).connect_session(
                    transport_options=transport_options, **session_kwargs) as session:
                yield session
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(server.close)

    def __repr__(self) -> str:
        return f"<SandboxedServerTransport report={self.report!r}>"


@contextlib.asynccontextmanager
async def pipe_streams(process: subprocess.Popen) -> AsyncIterator[tuple]:
    """(read_stream, write_stream) of SessionMessages over the process's pipes."""
    out_fd, in_fd = process.stdout.fileno(), process.stdin.fileno()
    os.set_blocking(out_fd, False)
    os.set_blocking(in_fd, False)
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)

    async def reader() -> None:
        buffer = b""
        async with read_writer:
            while True:
                await anyio.wait_readable(out_fd)
                try:
                    chunk = os.read(out_fd, 65536)
                except BlockingIOError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                *lines, buffer = (buffer + chunk).split(b"\n")
                for line in lines:
                    if line.strip():
                        await read_writer.send(_parse(line))

    async def writer() -> None:
        async with write_reader:
            async for message in write_reader:
                data = (message.message.model_dump_json(by_alias=True, exclude_unset=True)
                        + "\n").encode()
                while data:
                    await anyio.wait_writable(in_fd)
                    try:
                        data = data[os.write(in_fd, data):]
                    except BlockingIOError:
                        continue

    async with anyio.create_task_group() as group:
        group.start_soon(reader)
        group.start_soon(writer)
        try:
            yield read_stream, write_stream
        finally:
            group.cancel_scope.cancel()


def _parse(line: bytes) -> SessionMessage | Exception:
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError as exc:
        return exc

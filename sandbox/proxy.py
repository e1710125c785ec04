"""The egress proxy: a server's only way out of its sandbox, admitting listed host:ports only.

One proxy per sandboxed server, listening on a Unix socket in a directory bound
into the sandbox (the directory, not the socket file, so a restarted proxy's new
socket is seen). It speaks the two forms HTTP clients use through a proxy:

    CONNECT host:port HTTP/1.1          a tunnel, for TLS (the proxy never sees plaintext)
    GET http://host:port/path HTTP/1.1  absolute-form plain HTTP, forwarded in origin-form

For each connection it checks, in order: the (host, port) is on the allow-list;
the host resolves; no resolved address is loopback, link-local (cloud metadata),
multicast, reserved or unspecified unless the allow-list names that address
literally. It then dials exactly the addresses it checked, so a DNS answer that
changes between the check and the dial (rebinding) cannot redirect it. Every
attempt, admitted or refused, goes to the audit callback as an `EgressEvent`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import threading
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from sandbox.layout import SandboxUser

logger = logging.getLogger("tessera.sandbox.egress")

HEAD_LIMIT = 64 * 1024
HEAD_TIMEOUT_S = 15.0
DIAL_TIMEOUT_S = 10.0
MAX_CONNECTIONS = 64
START_TIMEOUT_S = 10.0
DENIED_HEADER = "X-Tessera-Egress"  # on a refusal, so clients can tell it from an upstream 403

Resolver = Callable[[str, int], Awaitable[list[str]]]


class EgressEvent(BaseModel):
    """One connection attempt through a server's egress proxy."""

    server: str = Field(description="Server whose sandbox made the attempt.")
    method: str = Field(description="CONNECT, or the HTTP method of an absolute-form request.")
    host: str = Field(description="Host name or address asked for.")
    port: int = Field(description="Port asked for.")
    allowed: bool = Field(description="Whether the proxy dialed it.")
    reason: str = Field(description="Why it was admitted or refused.")
    addresses: list[str] = Field(default_factory=list, description="Addresses the host resolved to.")
    at: datetime = Field(description="When the attempt was made (UTC).")


EgressAudit = Callable[[EgressEvent], None]


def log_audit(event: EgressEvent) -> None:
    (logger.info if event.allowed else logger.warning)(
        "egress %s %s %s:%s -> %s (%s)", event.server, event.method, event.host, event.port,
        "allowed" if event.allowed else "denied", event.reason)


def parse_allow_list(entries: Iterable[str]) -> frozenset[tuple[str, int]]:
    """`host:port` / `[v6]:port` entries as (lower-case host, port) pairs."""
    allowed = set()
    for entry in entries:
        host, _, port = entry.strip().rpartition(":")
        host = host.strip("[]").lower()
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"egress entry {entry!r} is not host:port")
        allowed.add((host, int(port)))
    return frozenset(allowed)


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def forbidden_address(address: str) -> str | None:
    """Why an address may not be dialed unless listed literally (None: it may)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for label, flag in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                        ("unspecified", ip.is_unspecified), ("multicast", ip.is_multicast),
                        ("reserved", ip.is_reserved)):
        if flag:
            return label
    return None


class EgressProxy:
    """An allow-listing HTTP proxy on a Unix socket, for one server."""

    def __init__(self, server: str, allow: Iterable[str], socket_path: Path, *,
                 audit: EgressAudit | None = None, resolver: Resolver = system_resolver,
                 socket_owner: SandboxUser | None = None) -> None:
        self.server = server
        self.allow = parse_allow_list(allow)
        self.socket_path = Path(socket_path)
        self.audit = audit or log_audit
        self.resolver = resolver
        self.socket_owner = socket_owner
        self._server: asyncio.AbstractServer | None = None
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._handle, path=str(self.socket_path),
                                                       limit=HEAD_LIMIT)
        os.chmod(self.socket_path, 0o600)
        if self.socket_owner is not None:
            os.chown(self.socket_path, self.socket_owner.uid, self.socket_owner.gid)

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    async def admit(self, host: str, port: int) -> tuple[bool, str, list[str]]:
        """Whether to dial (host, port), why, and the checked addresses to dial."""
        host = host.strip("[]").lower()
        if (host, port) not in self.allow:
            return False, "not on the allow-list", []
        literal = _is_ip(host)
        try:
            addresses = [host] if literal else await self.resolver(host, port)
        except OSError as exc:
            return False, f"does not resolve: {exc}", []
        if not addresses:
            return False, "does not resolve", []
        if not literal:
            for address in addresses:
                label = forbidden_address(address)
                if label:
                    return False, (f"resolves to the {label} address {address}; list the "
                                   "address itself to allow it"), addresses
        return True, "on the allow-list", addresses

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with self._slots:
            try:
                await self._serve(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError,
                    asyncio.LimitOverrunError, ValueError):
                pass
            finally:
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
        request_line, _, rest = head.partition(b"\r\n")
        parts = request_line.decode("latin-1").split(" ")
        if len(parts) != 3:
            await _respond(writer, 400, "malformed request line")
            return
        method, target, version = parts
        parsed = _target(method, target)
        if parsed is None:
            await _respond(writer, 400, "use CONNECT host:port or an absolute http:// URL")
            return
        host, port, path = parsed
        allowed, reason, addresses = await self.admit(host, port)
        self._audit(method, host, port, allowed, reason, addresses)
        if not allowed:
            await _respond(writer, 403, f"egress to {host}:{port} refused: {reason}")
            return
        upstream = await _dial(addresses, port)
        if upstream is None:
            await _respond(writer, 502, f"cannot connect to {host}:{port}")
            return
        up_reader, up_writer = upstream
        if method == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
        else:
            up_writer.write(f"{method} {path} {version}\r\n".encode("latin-1") + rest)
        await _pipe_both(reader, writer, up_reader, up_writer)

    def _audit(self, method: str, host: str, port: int, allowed: bool, reason: str,
               addresses: list[str]) -> None:
        event = EgressEvent(server=self.server, method=method, host=host, port=port,
                            allowed=allowed, reason=reason, addresses=addresses,
                            at=datetime.now(UTC))
        try:
            self.audit(event)
        except Exception:  # an audit sink's failure must not open or break the proxy
            logger.exception("egress audit callback failed")


class ProxyThread:
    """An `EgressProxy` on its own event loop in a daemon thread (for a synchronous host)."""

    def __init__(self, server: str, allow: Iterable[str], socket_path: Path, *,
                 audit: EgressAudit | None = None, socket_owner: SandboxUser | None = None):
        self._args = (server, tuple(allow), Path(socket_path))
        self._kwargs = {"audit": audit, "socket_owner": socket_owner}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"egress-{server}", daemon=True)

    @property
    def socket_path(self) -> Path:
        return self._args[2]

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError("the egress proxy did not start")
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(START_TIMEOUT_S)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        proxy = EgressProxy(*self._args, **self._kwargs)
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await proxy.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await proxy.aclose()


def _target(method: str, target: str) -> tuple[str, int, str] | None:
    if method == "CONNECT":
        host, _, port = target.rpartition(":")
        return (host, int(port), "") if host and port.isdigit() else None
    if not target.lower().startswith("http://"):
        return None
    authority, slash, path = target[7:].partition("/")
    authority = authority.rpartition("@")[2]  # userinfo never selects the host
    if authority.startswith("["):
        host, _, port = authority[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = authority.partition(":")
    if not host or (port and not port.isdigit()):
        return None
    return host, int(port or 80), slash + path or "/"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def _dial(addresses: list[str], port: int
                ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    for address in addresses:
        try:
            return await asyncio.wait_for(asyncio.open_connection(address, port), DIAL_TIMEOUT_S)
        except (OSError, asyncio.TimeoutError):
            continue
    return None


async def _respond(writer: asyncio.StreamWriter, status: int, text: str) -> None:
    """A plain-text answer; a refusal says why in its reason phrase too (clients show it)."""
    reasons = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}
    reason = text.replace("\r", " ").replace("\n", " ") if status == 403 else reasons[status]
    marker = f"{DENIED_HEADER}: denied\r\n" if status == 403 else ""
    body = (text + "\n").encode()
    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n{marker}"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    with contextlib.suppress(ConnectionError):
        await writer.drain()


async def _pipe_both(a_reader: asyncio.StreamReader, a_writer: asyncio.StreamWriter,
                     b_reader: asyncio.StreamReader, b_writer: asyncio.StreamWriter) -> None:
    async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            with contextlib.suppress(OSError):
                if sink.can_write_eof():
                    sink.write_eof()

    try:
        await asyncio.gather(pipe(a_reader, b_writer), pipe(b_reader, a_writer))
    finally:
        b_writer.close()


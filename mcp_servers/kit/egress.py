"""Outbound HTTP for capability servers: every connector builds its httpx client here.

Inside the sandbox a server has no network; its only way out is the egress proxy
the launcher gives it on a Unix socket, named by `TESSERA_EGRESS_PROXY_SOCKET`.
Connectors call `async_client(...)` and never build `httpx.AsyncClient` themselves,
so the same code works sandboxed (through the proxy) and unsandboxed (direct).

Through the proxy, `https://` requests become a CONNECT tunnel (TLS is end to end;
certificates are verified here, inside the sandbox) and `http://` requests are
sent in absolute form. `EgressTransport` does this with httpcore's own proxy
pool over a network backend whose every "TCP" connection is the Unix socket.
A refusal by the proxy is raised as `httpx.ProxyError` naming the host and the
reason, never returned as if the upstream had answered 403.
"""

from __future__ import annotations

import contextlib
import os
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpcore
import httpx

PROXY_SOCKET_ENV = "TESSERA_EGRESS_PROXY_SOCKET"
DENIED_HEADER = "x-tessera-egress"
_TRANSPORT_OPTIONS = ("verify", "cert", "http1", "http2", "limits", "trust_env")

# httpcore's exceptions as httpx's, most specific first (httpx maps them the same way).
_EXCEPTIONS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


def async_client(**kwargs: Any) -> httpx.AsyncClient:
    """An httpx.AsyncClient that goes through the egress proxy when one is configured."""
    socket = os.environ.get(PROXY_SOCKET_ENV)
    if not socket or "transport" in kwargs:
        return httpx.AsyncClient(**kwargs)
    options = {name: kwargs.pop(name) for name in _TRANSPORT_OPTIONS if name in kwargs}
    return httpx.AsyncClient(transport=EgressTransport(socket, **options), **kwargs)


@contextlib.contextmanager
def map_httpcore_errors() -> Iterator[None]:
    """Raise httpcore's exceptions as the matching httpx ones."""
    try:
        yield
    except Exception as exc:
        for source, target in _EXCEPTIONS:
            if isinstance(exc, source):
                raise target(str(exc)) from exc
        raise


class _UnixSocketBackend(httpcore.AnyIOBackend):
    """Every TCP connection httpcore opens goes to the proxy's Unix socket instead."""

    def __init__(self, path: str) -> None:
        self.path = path

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None
                          ) -> httpcore.AsyncNetworkStream:
        return await self.connect_unix_socket(self.path, timeout=timeout,
                                              socket_options=socket_options)


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with map_httpcore_errors():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        if hasattr(self._stream, "aclose"):
            await self._stream.aclose()


class EgressTransport(httpx.AsyncBaseTransport):
    """An httpx transport that reaches every host through the egress proxy's Unix socket."""

    def __init__(self, socket_path: str, *, verify: ssl.SSLContext | str | bool = True,
                 cert: Any = None, http1: bool = True, http2: bool = False,
                 limits: httpx.Limits = httpx.Limits(), trust_env: bool = True) -> None:
        self.socket_path = socket_path
        self._pool = httpcore.AsyncHTTPProxy(
            # The name is never resolved: the backend dials the socket whatever it says.
            proxy_url=httpcore.URL("http://egress-proxy/"),
            ssl_context=httpx.create_ssl_context(verify=verify, cert=cert, trust_env=trust_env),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=http1,
            http2=http2,
            network_backend=_UnixSocketBackend(socket_path),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                             port=request.url.port, target=request.url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with map_httpcore_errors():
            response = await self._pool.handle_async_request(core_request)
        headers = httpx.Headers(response.headers)
        if response.status == 403 and headers.get(DENIED_HEADER) == "denied":
            body = b"".join([chunk async for chunk in response.stream])
            await response.aclose()
            raise httpx.ProxyError(body.decode(errors="replace").strip(), request=request)
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_ResponseStream(response.stream),
                              extensions=response.extensions)

    async def aclose(self) -> None:
        await self._pool.aclose()

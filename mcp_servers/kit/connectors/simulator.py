"""Simulators of HTTP backends: faults on demand, and serving on loopback.

Faults: tests and demos add a `Fault` to a simulator's `FaultPlan` (in
process, or by `POST /_sim/faults` with the same fields as JSON, see
`fault_routes`); the `FaultInjection` middleware applies the first matching
fault to the next request(s) before the real handler sees them: latency, any
error status (with Retry-After), a hang (held until the client gives up or
`delay_s` passes, so it never blocks shutdown), a truncated JSON body or an
HTML logon page. Each simulator passes its own error body and fake bodies.

Serving: `in_background` binds a loopback socket first and hands it to
uvicorn, so the port is known before the server starts and no other process
can take it; `in_foreground` serves until stopped (`tessera simulate`).
"""

from __future__ import annotations

import enum
import socket
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

ADMIN_PREFIX = "/_sim/"
START_TIMEOUT_S = 15.0


class FaultKind(enum.StrEnum):
    LATENCY = "latency"  # wait delay_s, then answer normally
    STATUS = "status"  # answer `status` with an error body (and Retry-After when given)
    TIMEOUT = "timeout"  # never answer (until the client disconnects or delay_s passes)
    MALFORMED = "malformed"  # 200 with a truncated JSON body
    HTML = "html"  # 200 with an HTML logon page instead of JSON


@dataclass
class Fault:
    kind: FaultKind
    status: int = 503
    retry_after: str | None = None
    delay_s: float = 30.0
    path_contains: str = ""
    method: str | None = None
    times: int = 1  # how many requests it hits; 0 = until cleared

    def matches(self, method: str, path: str) -> bool:
        return (self.path_contains in path) and (self.method in (None, method))


class FaultPlan:
    """The faults waiting for requests; thread-safe so tests may edit it while serving."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.times == 1:
                        self._faults.remove(fault)
                    elif fault.times > 1:
                        fault.times -= 1
                    return fault
        return None


ErrorBody = Callable[[int, str, dict[str, str]], Response]


class FaultInjection:
    """ASGI middleware that applies the plan's faults to matching requests."""

    def __init__(self, app: ASGIApp, plan: FaultPlan, error_body: ErrorBody, *,
                 malformed_body: str = '{"items": [{"id": "10',
                 logon_page: str = "<html><body><h1>Sign in</h1></body></html>") -> None:
        self.app, self.plan, self.error_body = app, plan, error_body
        self.malformed_body, self.logon_page = malformed_body, logon_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        fault = self.plan.take(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.kind is FaultKind.LATENCY:
            await anyio.sleep(fault.delay_s)
            await self.app(scope, receive, send)
            return
        if fault.kind is FaultKind.TIMEOUT:
            await _hold_until_disconnect(receive, fault.delay_s)
            return
        await self._response(fault)(scope, receive, send)

    def _response(self, fault: Fault) -> Response:
        if fault.kind is FaultKind.MALFORMED:
            return Response(self.malformed_body, media_type="application/json")
        if fault.kind is FaultKind.HTML:
            return Response(self.logon_page, media_type="text/html")
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        return self.error_body(fault.status, f"Injected fault: HTTP {fault.status}", headers)


async def _hold_until_disconnect(receive: Receive, limit_s: float) -> None:
    with anyio.move_on_after(limit_s):
        while (await receive())["type"] != "http.disconnect":
            pass


async def fault_from_request(request: Request) -> Fault:
    body = await request.json()
    return Fault(
        kind=FaultKind(body["kind"]),
        status=int(body.get("status", 503)),
        retry_after=body.get("retry_after"),
        delay_s=float(body.get("delay_s", 30.0)),
        path_contains=str(body.get("path_contains", "")),
        method=body.get("method"),
        times=int(body.get("times", 1)),
    )


def fault_routes(plan: FaultPlan) -> list[Route]:
    """`POST /_sim/faults` adds a fault (JSON with `Fault`'s fields), `DELETE` clears them."""

    async def add_fault(request: Request) -> Response:
        plan.add(await fault_from_request(request))
        return JSONResponse({"status": "added"}, status_code=201)

    async def clear_faults(request: Request) -> Response:
        plan.clear()
        return Response(status_code=204)

    return [Route(f"{ADMIN_PREFIX}faults", add_fault, methods=["POST"]),
            Route(f"{ADMIN_PREFIX}faults", clear_faults, methods=["DELETE"])]


# --- serving ----------------------------------------------------------------------------


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

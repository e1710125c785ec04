"""Faults on demand: latency, error statuses (429 with Retry-After, 5xx, ...), hangs, bad bodies.

Tests and demos add a `Fault` to the simulator's `FaultPlan` (in process, or by
`POST /_sim/faults` with the same fields as JSON); the `FaultInjection`
middleware applies the first matching fault to the next request(s) before the
real handler sees them. A `timeout` fault holds the request open until the
client gives up (or `delay_s` passes), so it never blocks shutdown.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

ADMIN_PREFIX = "/_sim/"


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

    def __init__(self, app: ASGIApp, plan: FaultPlan, error_body: ErrorBody) -> None:
        self.app, self.plan, self.error_body = app, plan, error_body

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
        await _fault_response(fault, self.error_body)(scope, receive, send)


def _fault_response(fault: Fault, error_body: ErrorBody) -> Response:
    if fault.kind is FaultKind.MALFORMED:
        return Response('{"d": {"results": [{"Purchase', media_type="application/json")
    if fault.kind is FaultKind.HTML:
        return Response("<html><body><h1>Logon</h1></body></html>", media_type="text/html")
    headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
    return error_body(fault.status, f"Injected fault: HTTP {fault.status}", headers)


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

"""A small SAP system for demos and tests: OData v2 over a seeded demo plant.

`build_app(seed=...)` returns a Starlette app serving
`/sap/opu/odata/sap/<SERVICE>/...` with real OData v2 JSON (`d.results`,
`__count`, `__next`, `__metadata`, OData error bodies), basic and bearer auth,
one data partition per SAP client, SAP's CSRF token flow and
`Repeatability-Request-ID` idempotency, plus faults on demand
(`app.state.simulator.faults`, or `POST /_sim/faults`). `tessera simulate sap`
serves it on port 8791.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_servers.kit.connectors.simulator import FaultInjection, fault_routes
from mcp_servers.sap.simulator.app import SERVICE_ROOT, SapSimulator
from mcp_servers.sap.simulator.odata import error_response

DEFAULT_PORT = 8791
DEMO_USER, DEMO_PASSWORD = "TESSERA", "demo"


def build_app(
    seed: int = 1000,
    *,
    clients: tuple[str, ...] = ("100", "200", "300"),
    users: dict[str, str] | None = None,
    bearer_tokens: dict[str, str] | None = None,
    page_size: int = 100,
    today: date | None = None,
) -> Starlette:
    """The simulator app; `app.state.simulator` is its `SapSimulator` (data, faults, log)."""
    simulator = SapSimulator(
        seed=seed,
        today=today or datetime.now(UTC).date(),
        client_ids=clients,
        users=users if users is not None else {DEMO_USER: DEMO_PASSWORD},
        bearer_tokens=bearer_tokens or {},
        page_size=page_size,
    )

    async def odata(request: Request) -> Response:
        return await simulator.handle(request)

    async def expire_csrf(request: Request) -> Response:
        simulator.expire_csrf_tokens()
        return Response(status_code=204)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "system": "sap-simulator",
                             "clients": list(simulator.clients)})

    methods = ["GET", "POST", "PUT", "PATCH", "MERGE", "DELETE"]
    app = Starlette(routes=[
        Route(f"{SERVICE_ROOT}/{{service}}/{{path:path}}", odata, methods=methods),
        Route(f"{SERVICE_ROOT}/{{service}}", odata, methods=methods),
        *fault_routes(simulator.faults),
        Route("/_sim/csrf/expire", expire_csrf, methods=["POST"]),
        Route("/_sim/healthz", health, methods=["GET"]),
    ])
    app.state.simulator = simulator
    app.add_middleware(FaultInjection, plan=simulator.faults,
                       error_body=lambda status, message, headers: error_response(
                           status, message, headers=headers),
                       malformed_body='{"d": {"results": [{"Purchase',
                       logon_page="<html><body><h1>Logon</h1></body></html>")
    return app


__all__ = ["DEFAULT_PORT", "DEMO_PASSWORD", "DEMO_USER", "SapSimulator", "build_app"]

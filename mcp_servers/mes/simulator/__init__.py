"""A small MES for demos and tests: a plausible REST API over a seeded demo plant.

`build_app(seed=...)` returns a Starlette app serving `/api/v1/sites/<site>/...`
(see `app.py` for the routes): production orders, machine status, downtime
events, quality inspections and defect rates, with hold/release and downtime
reasons as idempotent writes, bearer-token auth per site, and faults on demand
(`app.state.simulator.faults`, or `POST /_sim/faults`). `tessera simulate mes`
serves it on port 8792.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_servers.kit.connectors.simulator import FaultInjection, fault_routes
from mcp_servers.mes.simulator import app as api
from mcp_servers.mes.simulator.app import API_ROOT, MesSimulator, problem_response

DEFAULT_PORT = 8792
DEMO_TOKEN = "demo-token"


def build_app(
    seed: int = 1000,
    *,
    sites: tuple[str, ...] = ("1000", "2000", "3000"),
    tokens: dict[str, tuple[str, ...]] | None = None,
    page_size: int = 100,
    now: datetime | None = None,
) -> Starlette:
    """The simulator app; `app.state.simulator` is its `MesSimulator` (data, faults, log)."""
    simulator = MesSimulator(
        seed=seed,
        now=(now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0),
        site_ids=sites,
        tokens=tokens if tokens is not None else {DEMO_TOKEN: ("*",)},
        page_size=page_size,
    )

    def route(path: str, action, method: str = "GET") -> Route:  # noqa: ANN001
        async def endpoint(request: Request) -> Response:
            return await simulator.handle(request, action)
        return Route(f"{API_ROOT}/sites/{{site}}{path}", endpoint, methods=[method])

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "system": "mes-simulator",
                             "sites": list(simulator.sites)})

    app = Starlette(routes=[
        route("/production-orders", api.list_orders),
        route("/production-orders/{order}", api.get_order),
        route("/production-orders/{order}/hold", api.hold_order, "POST"),
        route("/production-orders/{order}/release", api.release_order, "POST"),
        route("/machines", api.list_machines),
        route("/downtime-events", api.list_downtime),
        route("/downtime-events/{event}/reason", api.record_reason, "POST"),
        route("/quality/inspections", api.list_inspections),
        route("/quality/defect-rates", api.defect_rates),
        *fault_routes(simulator.faults),
        Route("/_sim/healthz", health, methods=["GET"]),
    ])
    app.state.simulator = simulator
    app.add_middleware(FaultInjection, plan=simulator.faults,
                       error_body=lambda status, message, headers: problem_response(
                           status, message, headers),
                       malformed_body='{"items": [{"order": "10')
    return app


__all__ = ["DEFAULT_PORT", "DEMO_TOKEN", "MesSimulator", "build_app"]

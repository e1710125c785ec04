"""Health: `GET /healthz` (the process is alive) and `GET /readyz` (it can do its job).

/readyz checks the database, each federated server (with the sandbox mode it
actually runs in), the policy (and the last reload error, if any), and the model
endpoint when one is configured. It answers 503 when the database or a server is
down; a missing model is reported but does not make the host unready, because
/mcp and approvals work without one.
"""

from __future__ import annotations

import dataclasses

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    host = request.app.state.host
    checks: dict[str, object] = {}
    try:
        async with host.runs.store.unscoped() as conn:
            await conn.execute("SELECT 1")
        checks["database"] = {"ready": True}
    except Exception as exc:  # reported, not raised: readiness is a report
        checks["database"] = {"ready": False, "error": type(exc).__name__}
    checks["servers"] = [dataclasses.asdict(h) for h in host.federation.health()]
    reload_error = getattr(host.policies, "last_error", None)
    checks["policy"] = {"ready": True, "digest": host.policy().digest,
                        "reload_error": str(reload_error) if reload_error else None}
    checks["model"] = await _model_check(host)
    ready = checks["database"]["ready"] and all(s["ready"] for s in checks["servers"])
    return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)


async def _model_check(host) -> dict[str, object]:
    if not host.model.configured:
        return {"configured": False, "ready": False}
    url = host.settings.llm_api_base.rstrip("/") + "/models"
    headers = {}
    if host.settings.llm_api_key:
        headers["Authorization"] = f"Bearer {host.settings.llm_api_key.get_secret_value()}"
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            response = await client.get(url, headers=headers)
        return {"configured": True, "ready": response.status_code < 500,
                "status": response.status_code}
    except httpx.HTTPError as exc:
        return {"configured": True, "ready": False, "error": type(exc).__name__}

"""The MES simulator's REST API: sites, production orders, machines, downtime, quality.

    GET  /api/v1/sites/{site}/production-orders        ?status=&line=&material=&from=&to=
    GET  /api/v1/sites/{site}/production-orders/{order}
    POST /api/v1/sites/{site}/production-orders/{order}/hold      {"reason": "..."}
    POST /api/v1/sites/{site}/production-orders/{order}/release   {"comment": "..."}
    GET  /api/v1/sites/{site}/machines                 ?line=&state=&machine=
    GET  /api/v1/sites/{site}/downtime-events          ?from=&to=&machine=&line=&reason=&unclassified=&q=
    POST /api/v1/sites/{site}/downtime-events/{event}/reason  {"reason_code": "...", "comment": "..."}
    GET  /api/v1/sites/{site}/quality/inspections      ?from=&to=&machine=&material=&order=
    GET  /api/v1/sites/{site}/quality/defect-rates     ?from=&to=&group_by=machine|line|material|defect

Lists page with `page_size` (at most the simulator's page size) and an opaque
`page_token`; they answer `{"items", "total", "next_page_token"}`. Errors are
RFC 9457 problem details. Auth is a bearer token allowed for some sites; every
POST needs an `Idempotency-Key`: a repeat replays the first answer
(`Idempotent-Replayed: true`), a different request under a used key is 422.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcp_servers.kit.connectors.simulator import FaultPlan
from mcp_servers.mes.simulator.dataset import REASON_CODES, SiteData, build_site

API_ROOT = "/api/v1"
USER_HEADER = "x-tessera-user"
Row = dict[str, Any]


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.headers = status, title, detail, headers or {}


def problem_response(status: int, detail: str, headers: dict[str, str] | None = None,
                     title: str | None = None) -> Response:
    body = {"type": "about:blank", "title": title or _TITLES.get(status, "Error"),
            "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, headers=headers,
                        media_type="application/problem+json")


_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           409: "Conflict", 422: "Unprocessable Content", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout"}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    site: str


@dataclass
class MesSimulator:
    seed: int
    now: datetime
    site_ids: tuple[str, ...]
    tokens: dict[str, tuple[str, ...]]  # token -> sites it may use ("*" = all)
    page_size: int
    faults: FaultPlan = field(default_factory=FaultPlan)
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sites = {site: build_site(self.seed, site, self.now) for site in self.site_ids}

    async def handle(self, request: Request, action: Callable[..., Any]) -> Response:
        try:
            site = self._authorise(request)
            self._record(request, site)
            if request.method == "POST":
                return await self._idempotent(request, site, action)
            return JSONResponse(action(self, self.sites[site], request))
        except Problem as exc:
            return problem_response(exc.status, exc.detail, exc.headers, exc.title)

    def _authorise(self, request: Request) -> str:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        allowed = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if allowed is None:
            raise Problem(401, "Unauthorized", "A valid bearer token is required.",
                          {"WWW-Authenticate": 'Bearer realm="mes"'})
        site = request.path_params["site"]
        if site not in self.sites:
            raise Problem(404, "Not Found", f"Site {site} does not exist.")
        if "*" not in allowed and site not in allowed:
            raise Problem(403, "Forbidden", f"This token may not access site {site}.")
        return site

    def _record(self, request: Request, site: str) -> None:
        wanted = ("idempotency-key", USER_HEADER)
        self.requests.append(RecordedRequest(
            request.method, request.url.path, dict(request.query_params),
            {name: request.headers[name] for name in wanted if name in request.headers}, site))

    async def _idempotent(self, request: Request, site: str, action: Callable[..., Any]
                          ) -> Response:
        key = request.headers.get("idempotency-key")
        if not key:
            raise Problem(400, "Bad Request", "POST requests need an Idempotency-Key header.")
        try:
            body = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError:
            raise Problem(400, "Bad Request", "The body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise Problem(400, "Bad Request", "The body must be a JSON object.")
        data = self.sites[site]
        fingerprint = f"{request.url.path} {json.dumps(body, sort_keys=True)}"
        if key in data.idempotency:
            seen, status, payload = data.idempotency[key]
            if seen != fingerprint:
                raise Problem(422, "Unprocessable Content", "This Idempotency-Key was already "
                              "used for a different request.")
            return JSONResponse(payload, status_code=status,
                                headers={"Idempotent-Replayed": "true"})
        user = request.headers.get(USER_HEADER) or "mes-integration"
        payload = action(self, data, request, body, user)
        data.idempotency[key] = (fingerprint, 200, payload)
        return JSONResponse(payload)


# --- reads ---------------------------------------------------------------------------------

def page(sim: MesSimulator, request: Request, rows: list[Row]) -> dict[str, Any]:
    params = request.query_params
    size = min(_int(params.get("page_size"), sim.page_size, "page_size"), sim.page_size)
    offset = _offset(params.get("page_token"))
    chunk = rows[offset:offset + size]
    more = offset + len(chunk) < len(rows)
    token = base64.urlsafe_b64encode(f"o:{offset + len(chunk)}".encode()).decode() if more else None
    return {"items": [encode(row) for row in chunk], "total": len(rows), "next_page_token": token}


def window(rows: list[Row], request: Request, field_name: str) -> list[Row]:
    start, end = _moment(request, "from"), _moment(request, "to")
    return [row for row in rows if (start is None or row[field_name] >= start)
            and (end is None or row[field_name] <= end)]


def where(rows: list[Row], request: Request, **fields: str) -> list[Row]:
    for param, field_name in fields.items():
        values = [v for v in request.query_params.getlist(param) if v]
        if values:
            rows = [row for row in rows if str(row[field_name]) in values]
    return rows


def encode(row: Row) -> Row:
    return {key: (value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime)
                  else value) for key, value in row.items()}


def find(table: dict[str, Row], key: str, kind: str) -> Row:
    if key not in table:
        raise Problem(404, "Not Found", f"{kind} {key} does not exist.")
    return table[key]


def _moment(request: Request, name: str) -> datetime | None:
    text = request.query_params.get(name)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Problem(400, "Bad Request", f"'{name}' is not an ISO 8601 timestamp.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int(text: str | None, default: int, name: str) -> int:
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise Problem(400, "Bad Request", f"'{name}' must be a positive integer.")
    return int(text)


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(token).decode().partition(":")
        if kind == "o" and value.isdigit():
            return int(value)
    except ValueError:
        pass
    raise Problem(400, "Bad Request", "'page_token' is not valid.")


def list_orders(sim: MesSimulator, data: SiteData, request: Request) -> Any:
    rows = sorted(data.orders.values(), key=lambda r: (r["scheduled_start"], r["order"]))
    rows = where(window(rows, request, "scheduled_start"), request, status="status", line="line",
                 material="material", order="order", machine="machine")
    return page(sim, request, rows)


def get_order(sim: MesSimulator, data: SiteData, request: Request) -> Any:
    return encode(find(data.orders, request.path_params["order"], "Production order"))


def list_machines(sim: MesSimulator, data: SiteData, request: Request) -> Any:
    rows = where(sorted(data.machines.values(), key=lambda r: r["machine"]), request,
                 line="line", state="state", machine="machine")
    return page(sim, request, rows)


def list_downtime(sim: MesSimulator, data: SiteData, request: Request) -> Any:
    rows = sorted(data.downtime.values(), key=lambda r: (r["start"], r["event"]), reverse=True)
    rows = where(window(rows, request, "start"), request, machine="machine", line="line",
                 reason="reason_code")
    if request.query_params.get("unclassified") == "true":
        rows = [row for row in rows if row["reason_code"] is None]
    text = (request.query_params.get("q") or "").lower()
    if text:
        rows = [row for row in rows if text in f"{row['comment'] or ''} "
                f"{row['reason_text'] or ''}".lower()]
    return page(sim, request, rows)


def list_inspections(sim: MesSimulator, data: SiteData, request: Request) -> Any:
    rows = sorted(data.inspections.values(), key=lambda r: (r["inspected_at"], r["report"]),
                  reverse=True)
    rows = where(window(rows, request, "inspected_at"), request, machine="machine",
                 material="material", order="order", line="line")
    return page(sim, request, rows)


def defect_rates(sim: MesSimulator, data: SiteData, request: Request) -> Any:
    group_by = request.query_params.get("group_by", "machine")
    if group_by not in ("machine", "line", "material", "defect"):
        raise Problem(400, "Bad Request", "'group_by' must be machine, line, material or defect.")
    rows = where(window(list(data.inspections.values()), request, "inspected_at"), request,
                 line="line", machine="machine", material="material")
    inspected_total = sum(row["inspected"] for row in rows)
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        if group_by == "defect":
            for defect in row["defects"]:
                group = groups.setdefault(defect["code"], _group(defect["code"], inspected_total))
                group["defective"] += defect["count"]
                group["counts"][defect["code"]] = group["defective"]
            continue
        group = groups.setdefault(row[group_by], _group(row[group_by], 0))
        group["inspected"] += row["inspected"]
        group["defective"] += row["defective"]
        for defect in row["defects"]:
            group["counts"][defect["code"]] = group["counts"].get(defect["code"], 0) \
                + defect["count"]
    result = [{
        "key": g["key"], "inspected": g["inspected"], "defective": g["defective"],
        "defect_rate": round(g["defective"] / g["inspected"], 4) if g["inspected"] else 0.0,
        "top_defects": [{"code": code, "count": count} for code, count in
                        sorted(g["counts"].items(), key=lambda kv: (-kv[1], kv[0]))[:3]],
    } for g in groups.values()]
    result.sort(key=lambda g: (-g["defect_rate"], g["key"]))
    return {"group_by": group_by, "inspections": len(rows), "groups": result}


def _group(key: str, inspected: int) -> dict[str, Any]:
    return {"key": key, "inspected": inspected, "defective": 0, "counts": {}}


# --- writes --------------------------------------------------------------------------------

def hold_order(sim: MesSimulator, data: SiteData, request: Request, body: Row, user: str) -> Any:
    order = find(data.orders, request.path_params["order"], "Production order")
    reason = str(body.get("reason") or "").strip()
    if not reason:
        raise Problem(400, "Bad Request", "A hold needs a reason.")
    if order["status"] in ("ON_HOLD", "COMPLETED"):
        raise Problem(409, "Conflict", f"Order {order['order']} is {order['status']} and "
                      "cannot be put on hold.")
    order.update(status="ON_HOLD", hold_reason=reason[:200], held_by=user)
    return {"transaction_id": data.transaction_id("HLD"), "order": encode(order)}


def release_order(sim: MesSimulator, data: SiteData, request: Request, body: Row, user: str
                  ) -> Any:
    order = find(data.orders, request.path_params["order"], "Production order")
    if order["status"] != "ON_HOLD":
        raise Problem(409, "Conflict", f"Order {order['order']} is {order['status']}, not "
                      "ON_HOLD; only held orders can be released.")
    started = order["scheduled_start"] <= sim.now
    order.update(status="IN_PROGRESS" if started else "RELEASED", hold_reason=None,
                 released_by=user, release_comment=str(body.get("comment") or "")[:200] or None)
    return {"transaction_id": data.transaction_id("REL"), "order": encode(order)}


def record_reason(sim: MesSimulator, data: SiteData, request: Request, body: Row, user: str
                  ) -> Any:
    event = find(data.downtime, request.path_params["event"], "Downtime event")
    code = body.get("reason_code")
    if code not in REASON_CODES:
        raise Problem(422, "Unprocessable Content", f"Unknown reason code; use one of "
                      f"{', '.join(sorted(REASON_CODES))}.")
    event.update(reason_code=code, reason_text=REASON_CODES[code],
                 comment=str(body.get("comment") or "")[:500] or None, recorded_by=user)
    return {"transaction_id": data.transaction_id("DTR"), "event": encode(event)}

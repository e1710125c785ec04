"""The SAP simulator's HTTP face: auth, SAP client, CSRF, repeatability, OData reads.

Requests go `/sap/opu/odata/sap/<SERVICE>/<path>?sap-client=100&$filter=...`.
Every request must authenticate (basic or bearer); the SAP client (query
`sap-client` or header) picks the data partition. Modifying requests need the
CSRF token a `GET` with `x-csrf-token: Fetch` handed to the same session
(cookie), or they get 403 with `x-csrf-token: Required`, as SAP Gateway does.
A modifying request with `Repeatability-Request-ID` is executed once; a repeat
with the same id replays the first answer (`Repeatability-Result: accepted`)
and a different request under a used id is 409.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcp_servers.kit.connectors.simulator import FaultPlan
from mcp_servers.sap.simulator import writes
from mcp_servers.sap.simulator.dataset import ClientData, build_client, build_master
from mcp_servers.sap.simulator.odata import (
    ODataError,
    apply_orderby,
    parse_filter,
    select_fields,
    to_json_value,
)
from mcp_servers.sap.simulator.services import (
    ENTITY_SETS,
    SERVICES,
    EntitySet,
    Row,
    etag_of,
)

SERVICE_ROOT = "/sap/opu/odata/sap"
USER_HEADER = "x-tessera-user"
_PATH = re.compile(r"^(?P<set>\w+)(?:\((?P<key>[^)]*)\))?(?:/(?P<nav>\w+))?$")
_MODIFYING = {"POST", "PUT", "PATCH", "MERGE", "DELETE"}


@dataclass(frozen=True)
class RecordedRequest:
    """What a test may want to know about a request the simulator received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    user: str
    client: str


@dataclass
class SapSimulator:
    """State of one simulated SAP system: clients, sessions, faults, and a request log."""

    seed: int
    today: date
    client_ids: tuple[str, ...]
    users: dict[str, str]
    bearer_tokens: dict[str, str]
    page_size: int
    faults: FaultPlan = field(default_factory=FaultPlan)
    requests: list[RecordedRequest] = field(default_factory=list)
    sessions: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (client, token)

    def __post_init__(self) -> None:
        self.master = build_master(self.seed)
        self.clients: dict[str, ClientData] = {
            client: build_client(self.master, self.seed, client, self.today)
            for client in self.client_ids
        }

    def expire_csrf_tokens(self) -> None:
        self.sessions.clear()

    async def handle(self, request: Request) -> Response:
        try:
            user = self._authenticate(request)
            client = self._client(request)
            self._record(request, user, client)
            return await self._dispatch(request, user, client)
        except ODataError as exc:
            return exc.response()

    # --- the gates every request passes -------------------------------------------------

    def _authenticate(self, request: Request) -> str:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                name, _, password = base64.b64decode(credentials).decode().partition(":")
            except ValueError:
                name, password = "", ""
            if name in self.users and secrets.compare_digest(self.users[name], password):
                return name
        if scheme.lower() == "bearer" and credentials in self.bearer_tokens:
            return self.bearer_tokens[credentials]
        raise ODataError(401, "Logon failed", "/IWFND/CM_CONSUMER/401",
                         {"WWW-Authenticate": 'Basic realm="SAP NetWeaver Application Server"'})

    def _client(self, request: Request) -> str:
        client = request.query_params.get("sap-client") or request.headers.get("sap-client") \
            or self.client_ids[0]
        if client not in self.clients:
            raise ODataError(401, f"Client {client} is not available in this system")
        return client

    def _record(self, request: Request, user: str, client: str) -> None:
        wanted = ("x-csrf-token", "repeatability-request-id", "if-match", USER_HEADER)
        self.requests.append(RecordedRequest(
            request.method, request.url.path, dict(request.query_params),
            {name: request.headers[name] for name in wanted if name in request.headers},
            user, client))

    def _csrf(self, request: Request, client: str, response: Response) -> None:
        if request.headers.get("x-csrf-token", "").lower() != "fetch":
            return
        session = request.cookies.get(_cookie(client)) or secrets.token_hex(16)
        token = base64.b64encode(secrets.token_bytes(18)).decode()
        self.sessions[session] = (client, token)
        response.headers["x-csrf-token"] = token
        response.set_cookie(_cookie(client), session, httponly=True, path="/")

    def _check_csrf(self, request: Request, client: str) -> None:
        session = self.sessions.get(request.cookies.get(_cookie(client), ""))
        presented = request.headers.get("x-csrf-token", "")
        if session is None or session[0] != client or not secrets.compare_digest(
                session[1], presented):
            raise ODataError(403, "CSRF token validation failed", "/IWFND/CM_BEC/026",
                             {"x-csrf-token": "Required"})

    # --- dispatch --------------------------------------------------------------------------

    async def _dispatch(self, request: Request, user: str, client: str) -> Response:
        service, path = request.path_params["service"], request.path_params.get("path", "")
        if service not in SERVICES:
            raise ODataError(404, f"No service found for namespace '', name '{service}'")
        data = self.clients[client]
        if request.method in _MODIFYING:
            self._check_csrf(request, client)
            actor = request.headers.get(USER_HEADER) or user

            def run(body: Any) -> tuple[int, Any]:
                status, name, row = writes.execute(self.master, data, service, path,
                                                   request.method, body, request.headers, actor)
                if name is None or row is None:
                    return status, None
                entity_set = ENTITY_SETS[(service, name)]
                expand = {"$expand": ",".join(entity_set.navigation)}
                return status, {"d": self._entity(entity_set, row, _base(request, service),
                                                  expand, data)}

            return await self._repeatable(request, data, run)
        if request.method != "GET":
            raise ODataError(405, f"Method {request.method} is not allowed")
        if path in ("", "/"):
            response: Response = JSONResponse({"d": {"EntitySets": [
                name for (svc, name) in ENTITY_SETS if svc == service]}})
        elif path == "$metadata":
            response = Response(_metadata(service), media_type="application/xml")
        else:
            response = self._read(request, data, service, path)
        self._csrf(request, client, response)
        return response

    async def _repeatable(self, request: Request, data: ClientData, run: Any) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            raise ODataError(400, "The request body is not valid JSON") from None
        key = request.headers.get("repeatability-request-id")
        fingerprint = f"{request.method} {request.url.path} {json.dumps(body, sort_keys=True)}"
        if key and key in data.repeatability:
            seen, status, payload = data.repeatability[key]
            if seen != fingerprint:
                raise ODataError(409, f"Repeatability-Request-ID {key} was already used for a "
                                 "different request")
            return _json(payload, status, {"Repeatability-Result": "accepted"})
        status, payload = run(body)
        if key:
            data.repeatability[key] = (fingerprint, status, payload)
        return _json(payload, status, {"Repeatability-Result": "accepted"} if key else {})

    def _read(self, request: Request, data: ClientData, service: str, path: str) -> Response:
        match = _PATH.match(path)
        entity_set = ENTITY_SETS.get((service, match.group("set"))) if match else None
        if match is None or entity_set is None:
            raise ODataError(404, f"Resource not found for segment '{path}'")
        params = request.query_params
        rows = entity_set.rows(self.master, data)
        base = _base(request, service)
        if match.group("key") is not None:
            row = _find(entity_set, rows, match.group("key"))
            if match.group("nav") is None:
                body = {"d": self._entity(entity_set, row, base, params, data)}
                headers = {"ETag": etag_of(row)} if entity_set.etag else {}
                return JSONResponse(body, headers=headers)
            navigation = entity_set.navigation.get(match.group("nav"))
            if navigation is None:
                raise ODataError(404, f"Navigation property '{match.group('nav')}' not found")
            entity_set = ENTITY_SETS[(service, navigation.target)]
            rows = navigation.rows(self.master, data, row)
        return JSONResponse({"d": self._collection(request, entity_set, rows, base, data)})

    def _collection(self, request: Request, entity_set: EntitySet, rows: list[Row],
                    base: str, data: ClientData) -> dict[str, Any]:
        params = request.query_params
        if params.get("$filter"):
            keep = parse_filter(params["$filter"])
            rows = [row for row in rows if keep(row)]
        if params.get("$orderby"):
            rows = apply_orderby(rows, params["$orderby"])
        total = len(rows)
        skip = _int(params.get("$skiptoken") or params.get("$skip"), "$skip")
        top = _int(params.get("$top"), "$top") if "$top" in params else None
        take = min(self.page_size, top) if top is not None else self.page_size
        page = rows[skip:skip + take]
        body: dict[str, Any] = {"results": [self._entity(entity_set, row, base, params, data)
                                            for row in page]}
        if params.get("$inlinecount") == "allpages":
            body["__count"] = str(total)
        remaining = (top - len(page)) if top is not None else None
        if skip + len(page) < total and (remaining is None or remaining > 0):
            query = {k: v for k, v in params.items() if k not in ("$skip", "$skiptoken", "$top")}
            query["$skiptoken"] = str(skip + len(page))
            if remaining is not None:
                query["$top"] = str(remaining)
            body["__next"] = f"{str(request.url).split('?')[0]}?{urlencode(query)}"
        return body

    def _entity(self, entity_set: EntitySet, row: Row, base: str, params: Any,
                data: ClientData) -> dict[str, Any]:
        uri = f"{base}{entity_set.name}{entity_set.key_predicate(row)}"
        meta = {"id": uri, "uri": uri, "type": f"{entity_set.service}.{entity_set.type_name}"}
        if entity_set.etag:
            meta["etag"] = etag_of(row)
        fields = select_fields(params.get("$select"))
        if fields:
            unknown = [name for name in fields if name not in row
                       and name not in entity_set.navigation]
            if unknown:
                raise ODataError(400, f"Property '{unknown[0]}' is invalid")
        out: dict[str, Any] = {"__metadata": meta}
        for name, value in row.items():
            if name not in entity_set.hidden and (fields is None or name in fields):
                out[name] = to_json_value(value)
        expand = {name.strip() for name in (params.get("$expand") or "").split(",") if name}
        for name, navigation in entity_set.navigation.items():
            if name in expand:
                target = ENTITY_SETS[(entity_set.service, navigation.target)]
                out[name] = {"results": [self._entity(target, item, base, {}, data)
                                         for item in navigation.rows(self.master, data, row)]}
            else:
                out[name] = {"__deferred": {"uri": f"{uri}/{name}"}}
        return out


def _find(entity_set: EntitySet, rows: list[Row], predicate: str) -> Row:
    if "=" in predicate:
        pairs = dict(part.split("=", 1) for part in predicate.split(","))
        wanted = {name.strip(): value.strip().strip("'") for name, value in pairs.items()}
    else:
        wanted = {entity_set.keys[0]: predicate.strip().strip("'")}
    for row in rows:
        if all(str(row.get(name)) == value for name, value in wanted.items()):
            return row
    raise ODataError(404, f"Resource not found for segment '{entity_set.name}({predicate})'")


def _base(request: Request, service: str) -> str:
    return f"{request.url.scheme}://{request.url.netloc}{SERVICE_ROOT}/{service}/"


def _int(text: str | None, option: str) -> int:
    if text is None or text == "":
        return 0
    if not text.isdigit():
        raise ODataError(400, f"Invalid value for system query option {option}")
    return int(text)


def _cookie(client: str) -> str:
    return f"SAP_SESSIONID_SIM_{client}"


def _json(payload: Any, status: int, headers: dict[str, str]) -> Response:
    if payload is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(payload, status_code=status, headers=headers)


def _metadata(service: str) -> str:
    sets = "".join(f'<EntitySet Name="{name}" EntityType="{service}.{s.type_name}"/>'
                   for (svc, name), s in ENTITY_SETS.items() if svc == service)
    return ('<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="1.0" '
            'xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"><edmx:DataServices>'
            f'<Schema Namespace="{service}"><EntityContainer Name="{service}_Entities">'
            f'{sets}</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>')

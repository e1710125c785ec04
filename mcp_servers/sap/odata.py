"""The SAP OData v2 client: typed queries in, rows out; CSRF handshake and repeatable writes.

Query options are built only from typed values: field names are constants of
this package (checked against an identifier pattern) and every value goes
through `literal`, which quotes and escapes it for OData. Nothing a model writes
is ever pasted into `$filter` as text. Reads follow SAP's server-side paging
(`__next`, only within the same service) until the caller's row limit; the
position after the last row comes back as a skip count that `encode_cursor`
turns into an opaque, query-bound `next_page` cursor.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx

from mcp_servers.kit.connectors.http_errors import MalformedResponse, json_object
from mcp_servers.kit.errors import ValidationFailed
from mcp_servers.sap.connections import SapConnection

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
Scalar = str | int | float | Decimal | bool | date


# --- $filter, built from typed values -----------------------------------------------------

def literal(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return f"datetime'{value.isoformat()[:10]}T00:00:00'"
    if isinstance(value, int | float | Decimal):
        return format(Decimal(str(value)), "f")
    return "'" + str(value).replace("'", "''") + "'"


def _name(field_name: str) -> str:
    if not _NAME.match(field_name):
        raise ValueError(f"not an OData property name: {field_name!r}")
    return field_name


def compare(field_name: str, op: str, value: Scalar) -> str:
    if op not in ("eq", "ne", "gt", "ge", "lt", "le"):
        raise ValueError(f"not an OData comparison: {op!r}")
    return f"{_name(field_name)} {op} {literal(value)}"


def contains(field_name: str, text: str) -> str:
    return f"substringof({literal(text)},{_name(field_name)})"


def any_of(terms: list[str]) -> str:
    return "(" + " or ".join(terms) + ")" if len(terms) > 1 else terms[0]


@dataclass(frozen=True)
class Query:
    entity_set: str
    select: tuple[str, ...]
    where: tuple[str, ...] = ()  # terms built by compare/contains/any_of, joined with `and`
    orderby: tuple[tuple[str, bool], ...] = ()  # (property, descending)
    expand: tuple[str, ...] = ()

    def params(self) -> dict[str, str]:
        params = {"$select": ",".join(_name(f) for f in (*self.select, *self.expand))}
        if self.where:
            params["$filter"] = " and ".join(self.where)
        if self.orderby:
            params["$orderby"] = ",".join(f"{_name(f)} {'desc' if d else 'asc'}"
                                          for f, d in self.orderby)
        if self.expand:
            params["$expand"] = ",".join(_name(f) for f in self.expand)
        return params

    def fingerprint(self) -> str:
        text = json.dumps([self.entity_set, self.params()], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def encode_cursor(skip: int, query: Query) -> str:
    raw = json.dumps({"s": skip, "q": query.fingerprint()}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, query: Query) -> int:
    if not cursor:
        return 0
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        skip, fingerprint = int(raw["s"]), raw["q"]
    except (ValueError, KeyError, TypeError):
        skip, fingerprint = -1, ""
    if skip < 0 or fingerprint != query.fingerprint():
        raise ValidationFailed(
            "The page cursor is not valid for this query.",
            model_fix_hint="Pass next_page unchanged, with the same filters as the call that "
            "returned it; or omit page to start from the first page.",
            details={"fields": [{"field": "page", "problem": "invalid cursor",
                                 "expected": "a next_page value from the same query"}]})
    return skip


def entity_path(entity_set: str, **keys: str) -> str:
    if len(keys) == 1:
        return f"{_name(entity_set)}({literal(next(iter(keys.values())))})"
    return f"{_name(entity_set)}(" + ",".join(f"{_name(k)}={literal(v)}"
                                              for k, v in keys.items()) + ")"


# --- values as SAP sends them --------------------------------------------------------------

def as_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    match = re.fullmatch(r"/Date\((-?\d+)(?:[+-]\d+)?\)/", str(value))
    if not match:
        raise MalformedResponse(f"not an Edm.DateTime: {str(value)[:40]!r}")
    return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC).date()


def as_number(value: Any) -> float:
    try:
        return float(Decimal(str(value)))
    except ArithmeticError:
        raise MalformedResponse(f"not a number: {str(value)[:40]!r}") from None


def sap_date(value: date) -> str:
    return f"/Date({int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()) * 1000})/"


def sap_decimal(value: float) -> str:
    return format(Decimal(str(value)).quantize(Decimal("0.001")), "f")


# --- the client ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int | None
    next_skip: int | None


@dataclass
class SapClient:
    """One tenant's SAP system, reached through one pooled HTTP client (with its cookies)."""

    connection: SapConnection
    http: httpx.AsyncClient
    _csrf: dict[str, str] = field(default_factory=dict)

    async def aclose(self) -> None:
        await self.http.aclose()

    def _url(self, service: str, path: str = "") -> str:
        return f"{self.connection.base_url.rstrip('/')}/{_name(service)}/{path}"

    def _headers(self, user: str | None) -> dict[str, str]:
        if user and self.connection.propagate_user:
            return {self.connection.user_header: user}
        return {}

    async def query(self, service: str, query: Query, *, skip: int, limit: int,
                    user: str | None) -> Page:
        params = {**query.params(), "$top": str(limit), "$skip": str(skip),
                  "$inlinecount": "allpages", "$format": "json",
                  "sap-client": self.connection.sap_client}
        response = await self.http.get(self._url(service, _name(query.entity_set)),
                                       params=params, headers=self._headers(user))
        body = _payload(response)
        total = _count(body)
        rows = _results(body)
        following = body.get("__next")
        while following and len(rows) < limit:
            # Only ever follow a link into the same service: __next comes from the network.
            url = response.url.join(str(following))
            if not str(url).startswith(self._url(service)):
                raise MalformedResponse("__next points outside the service")
            response = await self.http.get(url, headers=self._headers(user))
            body = _payload(response)
            rows.extend(_results(body))
            following = body.get("__next")
        rows = rows[:limit]
        end = skip + len(rows)
        more = (end < total) if total is not None else bool(following)
        return Page(rows, total, end if more and rows else None)

    async def read(self, service: str, path: str, *, expand: tuple[str, ...] = (),
                   user: str | None) -> tuple[dict[str, Any], str | None]:
        params = {"$format": "json", "sap-client": self.connection.sap_client}
        if expand:
            params["$expand"] = ",".join(_name(name) for name in expand)
        response = await self.http.get(self._url(service, path), params=params,
                                       headers=self._headers(user))
        body = _payload(response)
        etag = response.headers.get("etag") or (body.get("__metadata") or {}).get("etag")
        return body, etag

    async def write(self, service: str, method: str, path: str, body: dict[str, Any], *,
                    idempotency_key: str, user: str | None,
                    if_match: str | None = None) -> dict[str, Any] | None:
        """A modifying request with SAP's CSRF handshake, executed at most once per key."""
        headers = {**self._headers(user), "Content-Type": "application/json",
                   "Repeatability-Request-ID": idempotency_key,
                   "Repeatability-First-Sent": datetime.now(UTC).strftime(
                       "%a, %d %b %Y %H:%M:%S GMT")}
        if if_match:
            headers["If-Match"] = if_match
        params = {"sap-client": self.connection.sap_client}
        for attempt in range(2):
            headers["x-csrf-token"] = await self._csrf_token(service, user, renew=attempt > 0)
            response = await self.http.request(method, self._url(service, path), params=params,
                                               json=body, headers=headers)
            if response.status_code == 403 and \
                    response.headers.get("x-csrf-token", "").lower() == "required":
                continue  # the token expired with the session: fetch a new one, once
            return None if response.status_code == 204 else _payload(response)
        return _payload(response)

    async def _csrf_token(self, service: str, user: str | None, *, renew: bool) -> str:
        if renew or service not in self._csrf:
            response = await self.http.get(
                self._url(service), params={"sap-client": self.connection.sap_client},
                headers={**self._headers(user), "x-csrf-token": "Fetch"})
            _payload(response)
            token = response.headers.get("x-csrf-token")
            if not token or token.lower() == "required":
                raise MalformedResponse("SAP handed out no CSRF token")
            self._csrf[service] = token
        return self._csrf[service]


def _payload(response: httpx.Response) -> dict[str, Any]:
    body = json_object(response, _error_message)
    if not isinstance(body.get("d"), dict):
        raise MalformedResponse("the body has no 'd' object")
    return body["d"]


def _error_message(response: httpx.Response) -> str | None:
    try:
        message = response.json()["error"]["message"]
        return str(message["value"] if isinstance(message, dict) else message)
    except (ValueError, KeyError, TypeError):
        return None


def _results(body: dict[str, Any]) -> list[dict[str, Any]]:
    results = body.get("results")
    if not isinstance(results, list) or not all(isinstance(row, dict) for row in results):
        raise MalformedResponse("'d.results' is not a list of entities")
    return list(results)


def _count(body: dict[str, Any]) -> int | None:
    try:
        return int(body["__count"]) if "__count" in body else None
    except (TypeError, ValueError):
        raise MalformedResponse("'__count' is not a number") from None

"""The MES REST client: typed query parameters in, rows out; idempotent POSTs.

Query parameters are built from typed values only and sent as parameters
(httpx encodes them); path segments are ids checked against a pattern by the
input models and quoted here again. Lists follow the MES's page tokens until
the caller's row limit; the MES's token for the rest becomes an opaque,
query-bound `next_page` cursor (`encode_cursor`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from mcp_servers.kit.connectors.http_errors import MalformedResponse, json_object
from mcp_servers.kit.errors import ValidationFailed
from mcp_servers.mes.connections import MesConnection

Params = list[tuple[str, str]]


def fingerprint(path: str, params: Params) -> str:
    return hashlib.sha256(json.dumps([path, sorted(params)]).encode()).hexdigest()[:12]


def encode_cursor(token: str, path: str, params: Params) -> str:
    raw = json.dumps({"t": token, "q": fingerprint(path, params)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, path: str, params: Params) -> str | None:
    if not cursor:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        token, bound = str(raw["t"]), raw["q"]
    except (ValueError, KeyError, TypeError):
        token, bound = "", ""
    if not token or bound != fingerprint(path, params):
        raise ValidationFailed(
            "The page cursor is not valid for this query.",
            model_fix_hint="Pass next_page unchanged, with the same filters as the call that "
            "returned it; or omit page to start from the first page.",
            details={"fields": [{"field": "page", "problem": "invalid cursor",
                                 "expected": "a next_page value from the same query"}]})
    return token


def segment(value: str) -> str:
    return quote(value, safe="")


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int | None
    next_page: str | None


@dataclass
class MesClient:
    """One tenant's MES site, reached through one pooled HTTP client."""

    connection: MesConnection
    http: httpx.AsyncClient

    async def aclose(self) -> None:
        await self.http.aclose()

    def _url(self, path: str) -> str:
        return f"{self.connection.base_url.rstrip('/')}/sites/{segment(self.connection.site)}{path}"

    def _headers(self, user: str | None) -> dict[str, str]:
        if user and self.connection.propagate_user:
            return {self.connection.user_header: user}
        return {}

    async def list(self, path: str, params: Params, *, limit: int, cursor: str | None,
                   user: str | None) -> Page:
        token = decode_cursor(cursor, path, params)
        rows: list[dict[str, Any]] = []
        total: int | None = None
        while True:
            query = [*params, ("page_size", str(limit - len(rows)))]
            if token:
                query.append(("page_token", token))
            body = _json(await self.http.get(self._url(path), params=query,
                                             headers=self._headers(user)))
            items = body.get("items")
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise MalformedResponse("'items' is not a list of objects")
            rows.extend(items)
            total = body.get("total") if isinstance(body.get("total"), int) else total
            token = body.get("next_page_token") or None
            if token is None or len(rows) >= limit or not items:
                break
        more = encode_cursor(str(token), path, params) if token else None
        return Page(rows[:limit], total, more)

    async def get(self, path: str, params: Params, *, user: str | None) -> dict[str, Any]:
        return _json(await self.http.get(self._url(path), params=params,
                                         headers=self._headers(user)))

    async def post(self, path: str, body: dict[str, Any], *, idempotency_key: str,
                   user: str | None) -> dict[str, Any]:
        headers = {**self._headers(user), "Idempotency-Key": idempotency_key}
        return _json(await self.http.post(self._url(path), json=body, headers=headers))


def _json(response: httpx.Response) -> dict[str, Any]:
    return json_object(response, _problem_detail)


def _problem_detail(response: httpx.Response) -> str | None:
    try:
        body = response.json()
        return str(body.get("detail") or body.get("title") or "")
    except (ValueError, AttributeError):
        return None

"""Shared by the tests of the HTTP connectors (sap, mes): connecting, and the error-mapping checks.

`Connected` is a connector server under an MCP client plus the simulator
behind it; `connect` builds the server from a connections file;
`write_connections` writes one. `MappingIsComplete` and `InjectedFaults` are
test classes a connector's `test_errors.py` subclasses with its own mapping,
fixtures and read call, so both connectors are held to the same checks.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from fastmcp import Client
from mcp_types import CallToolResult

from mcp_servers.kit.connectors.simulator import Fault, FaultKind
from mcp_servers.kit.context import CONTEXT_META_KEY
from mcp_servers.kit.errors import PolicyDenied, TesseraError
from tests.helpers import free_port


def write_connections(folder: Path, document: dict[str, Any], **overrides: Any) -> Path:
    """Write `document` as the connections file, each tenant's entry updated by `overrides`."""
    for entry in document["tenants"].values():
        entry.update(overrides)
    path = folder / "connections.json"
    path.write_text(json.dumps(document))
    return path


class Connected:
    """A connected connector server plus the simulator behind it."""

    def __init__(self, server: str, client: Client, tokens: Any, simulator: Any,
                 user: str) -> None:
        self.server, self.client, self.tokens, self.simulator = server, client, tokens, simulator
        self.user = user

    async def call(self, tool: str, arguments: dict[str, Any], *, tenant: str = "acme",
                   user: str | None = None) -> CallToolResult:
        token = self.tokens(tenant=tenant, user=user or self.user, audience=self.server)
        return await self.client.call_tool_mcp(f"{self.server}.{tool}", arguments,
                                               meta={CONTEXT_META_KEY: token})

    async def ok(self, tool: str, arguments: dict[str, Any], **identity: Any) -> dict[str, Any]:
        result = await self.call(tool, arguments, **identity)
        assert not result.is_error, result.structured_content
        return result.structured_content


async def connect(definition: Any, server_settings: Any, settings: Any, tokens: Any,
                  simulator: Any, *, user: str) -> AsyncIterator[Connected]:
    """The server built from `definition` with `server_settings`, under an MCP client."""
    server = definition.create(settings, server_settings)
    async with Client(server.mcp) as client:
        yield Connected(definition.name, client, tokens, simulator, user)


# --- the error mapping ---------------------------------------------------------------------

def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.extend([sub, *_all_subclasses(sub)])
    return found


def _instance(cls: type[Exception]) -> Exception:
    request = httpx.Request("GET", "http://backend.invalid/")
    if issubclass(cls, httpx.HTTPStatusError):
        return cls("boom", request=request, response=httpx.Response(500, request=request))
    if issubclass(cls, httpx.RequestError):
        return cls("boom", request=request)
    return cls("boom")


class MappingIsComplete:
    """Every httpx exception, every error status and every own exception maps to the taxonomy."""

    errors: ClassVar[Callable[[], AbstractContextManager[None]]]
    status_error: ClassVar[type[Exception]]
    malformed: ClassVar[type[Exception]]

    @pytest.mark.parametrize("exc_type", _all_subclasses(httpx.HTTPError),
                             ids=lambda c: c.__name__)
    def test_no_httpx_exception_escapes_unmapped(self, exc_type):
        with pytest.raises(TesseraError), self.errors():
            raise _instance(exc_type)

    @pytest.mark.parametrize("status", range(400, 600))
    def test_no_error_status_escapes_unmapped(self, status):
        with pytest.raises(TesseraError), self.errors():
            raise self.status_error(status, "message", None)

    def test_malformed_and_taxonomy_errors(self):
        with pytest.raises(TesseraError), self.errors():
            raise self.malformed("bad")
        error = TesseraError.__subclasses__()[0]("kept")
        with pytest.raises(type(error)) as raised, self.errors():
            raise error
        assert raised.value is error

    def test_an_egress_refusal_is_policy_denied(self):
        with pytest.raises(PolicyDenied), self.errors():
            raise httpx.ProxyError("egress to backend.example:443 refused by policy")


class InjectedFaults:
    """Faults injected into the served simulator become the taxonomy, and the connector recovers.

    A subclass names its connector's fixture (`fixture`; `<fixture>_app` and
    `<fixture>_url` are its simulator), its conftest's `write_connections` and
    `connect`, and a tool call `read` that lists rows under `rows`.
    """

    fixture: ClassVar[str]
    write_connections: ClassVar[Callable[..., Path]]
    connect: ClassVar[Callable[..., AsyncIterator[Connected]]]
    read: ClassVar[tuple[str, dict[str, Any]]]
    rows: ClassVar[str]

    @pytest.fixture
    def connector(self, request) -> Connected:
        return request.getfixturevalue(self.fixture)

    @pytest.fixture
    def backend_app(self, request) -> Any:
        return request.getfixturevalue(f"{self.fixture}_app")

    @pytest.fixture
    def backend_url(self, request) -> str:
        return request.getfixturevalue(f"{self.fixture}_url")

    @pytest.mark.parametrize(("status", "category"), [
        (400, "validation"), (401, "auth"), (403, "forbidden"), (404, "not_found"),
        (409, "conflict"), (412, "conflict"), (422, "validation"), (429, "rate_limited"),
        (500, "upstream_unavailable"), (502, "upstream_unavailable"),
        (503, "upstream_unavailable"), (504, "upstream_timeout"), (418, "internal"),
    ])
    async def test_each_status_the_backend_can_answer_is_mapped(self, connector, status,
                                                                category):
        connector.simulator.faults.add(Fault(FaultKind.STATUS, status=status))
        result = await connector.call(*self.read)
        payload = result.structured_content
        assert result.is_error and payload["error_category"] == category
        assert "Injected" not in payload["human_message"] or status < 500

    async def test_429_carries_retry_after(self, connector):
        connector.simulator.faults.add(Fault(FaultKind.STATUS, status=429, retry_after="7"))
        payload = (await connector.call(*self.read)).structured_content
        assert payload["error_category"] == "rate_limited"
        assert payload["retry_after_s"] == 7 and payload["retryable"] is True

    @pytest.mark.parametrize("kind", [FaultKind.MALFORMED, FaultKind.HTML])
    async def test_a_body_that_is_not_the_documented_json_is_upstream_unavailable(
            self, connector, kind):
        connector.simulator.faults.add(Fault(kind))
        payload = (await connector.call(*self.read)).structured_content
        assert payload["error_category"] == "upstream_unavailable"

    async def test_latency_below_the_timeout_is_only_slower(self, connector):
        connector.simulator.faults.add(Fault(FaultKind.LATENCY, delay_s=0.2))
        assert (await connector.ok(*self.read))[self.rows]

    async def test_a_hanging_backend_is_upstream_timeout(self, settings, tokens, backend_app,
                                                         backend_url, tmp_path):
        backend_app.state.simulator.faults.add(Fault(FaultKind.TIMEOUT, delay_s=10))
        path = self.write_connections(tmp_path, backend_url, timeout_s=0.5)
        async for connector in self.connect(settings, tokens, backend_app.state.simulator, path):
            payload = (await connector.call(*self.read)).structured_content
        assert payload["error_category"] == "upstream_timeout" and payload["retryable"]

    async def test_connection_refused_is_upstream_unavailable(self, settings, tokens,
                                                              backend_app, tmp_path):
        path = self.write_connections(tmp_path, f"http://127.0.0.1:{free_port()}")
        async for connector in self.connect(settings, tokens, backend_app.state.simulator, path):
            payload = (await connector.call(*self.read)).structured_content
        assert payload["error_category"] == "upstream_unavailable" and payload["retryable"]

    async def test_every_injected_fault_leaves_the_connector_usable(self, connector):
        for fault in (Fault(FaultKind.STATUS, status=503), Fault(FaultKind.MALFORMED)):
            connector.simulator.faults.add(fault)
            assert (await connector.call(*self.read)).is_error
        assert (await connector.ok(*self.read))[self.rows]

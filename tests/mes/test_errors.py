"""map_mes_errors: every upstream failure class, injected for real, becomes the taxonomy.

Faults are injected into the served simulator (status, Retry-After, hangs,
malformed bodies); connection refused is a real closed port. The completeness
tests raise every httpx exception class and every HTTP error status through
the mapping and fail if one escapes unmapped.
"""

from __future__ import annotations

import logging

import httpx
import pytest

from mcp_servers.kit.errors import PolicyDenied, TesseraError
from mcp_servers.mes.errors import MalformedResponse, MesStatusError, map_mes_errors
from mcp_servers.mes.simulator.faults import Fault, FaultKind
from tests.helpers import free_port
from tests.mes.conftest import connect, write_connections

pytestmark = pytest.mark.anyio
READ = ("get_machine_status", {"limit": 3})


@pytest.mark.parametrize(("status", "category"), [
    (400, "validation"), (401, "auth"), (403, "forbidden"), (404, "not_found"),
    (409, "conflict"), (412, "conflict"), (422, "validation"), (429, "rate_limited"),
    (500, "upstream_unavailable"), (502, "upstream_unavailable"),
    (503, "upstream_unavailable"), (504, "upstream_timeout"), (418, "internal"),
])
async def test_each_status_mes_can_answer_is_mapped(mes, status, category):
    mes.simulator.faults.add(Fault(FaultKind.STATUS, status=status))
    result = await mes.call(*READ)
    payload = result.structured_content
    assert result.is_error and payload["error_category"] == category
    assert "Injected" not in payload["human_message"] or status < 500


async def test_429_carries_retry_after(mes):
    mes.simulator.faults.add(Fault(FaultKind.STATUS, status=429, retry_after="7"))
    payload = (await mes.call(*READ)).structured_content
    assert payload["error_category"] == "rate_limited"
    assert payload["retry_after_s"] == 7 and payload["retryable"] is True


@pytest.mark.parametrize("kind", [FaultKind.MALFORMED, FaultKind.HTML])
async def test_a_body_that_is_not_mes_is_upstream_unavailable(mes, kind):
    mes.simulator.faults.add(Fault(kind))
    payload = (await mes.call(*READ)).structured_content
    assert payload["error_category"] == "upstream_unavailable"


async def test_latency_below_the_timeout_is_only_slower(mes):
    mes.simulator.faults.add(Fault(FaultKind.LATENCY, delay_s=0.2))
    assert (await mes.ok(*READ))["machines"]


async def test_a_hanging_mes_is_upstream_timeout(settings, tokens, mes_app, mes_url, tmp_path):
    mes_app.state.simulator.faults.add(Fault(FaultKind.TIMEOUT, delay_s=10))
    path = write_connections(tmp_path, mes_url, timeout_s=0.5)
    async for mes in connect(settings, tokens, mes_app.state.simulator, path):
        payload = (await mes.call(*READ)).structured_content
    assert payload["error_category"] == "upstream_timeout" and payload["retryable"]


async def test_connection_refused_is_upstream_unavailable(settings, tokens, mes_app, tmp_path):
    path = write_connections(tmp_path, f"http://127.0.0.1:{free_port()}")
    async for mes in connect(settings, tokens, mes_app.state.simulator, path):
        payload = (await mes.call(*READ)).structured_content
    assert payload["error_category"] == "upstream_unavailable" and payload["retryable"]


async def test_wrong_credentials_are_auth_and_the_secret_is_never_shown(
        settings, tokens, mes_app, mes_url, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    path = write_connections(tmp_path, mes_url)
    (tmp_path / "mes-token-1000").write_text("s3cret-Wrong-pw")
    async for mes in connect(settings, tokens, mes_app.state.simulator, path):
        result = await mes.call(*READ)
    assert result.structured_content["error_category"] == "auth"
    assert "s3cret-Wrong-pw" not in str(result.content) + caplog.text


async def test_every_injected_fault_leaves_the_connector_usable(mes):
    for fault in (Fault(FaultKind.STATUS, status=503), Fault(FaultKind.MALFORMED)):
        mes.simulator.faults.add(fault)
        assert (await mes.call(*READ)).is_error
    assert (await mes.ok(*READ))["machines"]


# --- completeness --------------------------------------------------------------------------

def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.extend([sub, *_all_subclasses(sub)])
    return found


def _instance(cls: type[Exception]) -> Exception:
    request = httpx.Request("GET", "http://mes.invalid/")
    if issubclass(cls, httpx.HTTPStatusError):
        return cls("boom", request=request, response=httpx.Response(500, request=request))
    if issubclass(cls, httpx.RequestError):
        return cls("boom", request=request)
    return cls("boom")


@pytest.mark.parametrize("exc_type", _all_subclasses(httpx.HTTPError), ids=lambda c: c.__name__)
def test_no_httpx_exception_escapes_unmapped(exc_type):
    with pytest.raises(TesseraError), map_mes_errors():
        raise _instance(exc_type)


@pytest.mark.parametrize("status", range(400, 600))
def test_no_error_status_escapes_unmapped(status):
    with pytest.raises(TesseraError), map_mes_errors():
        raise MesStatusError(status, "message", None)


def test_malformed_and_taxonomy_errors():
    with pytest.raises(TesseraError), map_mes_errors():
        raise MalformedResponse("bad")
    error = TesseraError.__subclasses__()[0]("kept")
    with pytest.raises(type(error)) as raised, map_mes_errors():
        raise error
    assert raised.value is error


async def test_a_token_for_another_site_is_forbidden(settings, tokens, mes_app, mes_url,
                                                     tmp_path):
    path = write_connections(tmp_path, mes_url)
    (tmp_path / "mes-token-1000").write_text("token-for-site-2000")
    async for mes in connect(settings, tokens, mes_app.state.simulator, path):
        result = await mes.call(*READ)
    assert result.structured_content["error_category"] == "forbidden"
    assert "site 1000" in result.structured_content["human_message"]


def test_an_egress_refusal_is_policy_denied():
    with pytest.raises(PolicyDenied), map_mes_errors():
        raise httpx.ProxyError("egress to sap.example:443 refused by policy")

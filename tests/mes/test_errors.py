"""map_mes_errors: the MES's failures, real or injected, each land in one taxonomy category.

`InjectedFaults` and `MappingIsComplete` come from `tests/connectors_support.py`
and hold both connectors to the same checks. Only what the MES does its own way
is tested here: 428 stays `internal`, tokens are scoped per site.
"""

from __future__ import annotations

import logging

import pytest

from mcp_servers.kit.connectors.simulator import Fault, FaultKind
from mcp_servers.mes.errors import MalformedResponse, MesStatusError, map_mes_errors
from tests.connectors_support import InjectedFaults, MappingIsComplete
from tests.mes.conftest import connect, write_connections

pytestmark = pytest.mark.anyio
READ = ("get_machine_status", {"limit": 3})


class TestMappingIsComplete(MappingIsComplete):
    errors = staticmethod(map_mes_errors)
    status_error = MesStatusError
    malformed = MalformedResponse


class TestInjectedFaults(InjectedFaults):
    fixture, read, rows = "mes", READ, "machines"
    write_connections = staticmethod(write_connections)
    connect = staticmethod(connect)


async def test_428_is_not_a_conflict_in_the_mes(mes):
    mes.simulator.faults.add(Fault(FaultKind.STATUS, status=428))
    assert (await mes.call(*READ)).structured_content["error_category"] == "internal"


async def test_wrong_credentials_are_auth_and_the_secret_is_never_shown(
        settings, tokens, mes_app, mes_url, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    path = write_connections(tmp_path, mes_url)
    (tmp_path / "mes-token-1000").write_text("s3cret-Wrong-pw")
    async for mes in connect(settings, tokens, mes_app.state.simulator, path):
        result = await mes.call(*READ)
    assert result.structured_content["error_category"] == "auth"
    assert "s3cret-Wrong-pw" not in str(result.content) + caplog.text


async def test_a_token_for_another_site_is_forbidden(settings, tokens, mes_app, mes_url,
                                                     tmp_path):
    path = write_connections(tmp_path, mes_url)
    (tmp_path / "mes-token-1000").write_text("token-for-site-2000")
    async for mes in connect(settings, tokens, mes_app.state.simulator, path):
        result = await mes.call(*READ)
    assert result.structured_content["error_category"] == "forbidden"
    assert "site 1000" in result.structured_content["human_message"]

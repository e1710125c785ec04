"""map_odata_errors: every way SAP can fail becomes the taxonomy, injected for real.

The shared checks (`tests/connectors_support.py`) raise every httpx exception
and every status through the mapping and inject each fault into the served
simulator. SAP's own cases follow: 428 is a conflict, a wrong password never
shows, and a `__next` link out of the service is refused.
"""

from __future__ import annotations

import logging

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcp_servers.kit.connectors.simulator import Fault, FaultKind
from mcp_servers.sap.errors import MalformedResponse, ODataStatusError, map_odata_errors
from tests.connectors_support import InjectedFaults, MappingIsComplete
from tests.helpers import serving
from tests.sap.conftest import connect, write_connections

pytestmark = pytest.mark.anyio
READ = ("list_materials", {"limit": 3})


async def test_428_is_a_conflict_in_sap(sap):
    sap.simulator.faults.add(Fault(FaultKind.STATUS, status=428))
    assert (await sap.call(*READ)).structured_content["error_category"] == "conflict"


async def test_wrong_credentials_are_auth_and_the_secret_is_never_shown(
        settings, tokens, sap_app, sap_url, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    path = write_connections(tmp_path, sap_url, password="s3cret-Wrong-pw")
    async for sap in connect(settings, tokens, sap_app.state.simulator, path):
        result = await sap.call(*READ)
    assert result.structured_content["error_category"] == "auth"
    assert "s3cret-Wrong-pw" not in str(result.content) + caplog.text


async def test_a_next_link_out_of_the_service_is_never_followed(settings, tokens, tmp_path):
    hits = []

    async def gateway(request: Request) -> JSONResponse:
        hits.append(request.url.path)
        return JSONResponse({"d": {"results": [], "__count": "9",
                                   "__next": "http://127.0.0.1:9/steal?$skiptoken=1"}})

    app = Starlette(routes=[Route("/{path:path}", gateway)])
    async with serving(app) as url:
        path = write_connections(tmp_path, url)
        async for sap in connect(settings, tokens, None, path):
            payload = (await sap.call(*READ)).structured_content
    assert payload["error_category"] == "upstream_unavailable"
    assert hits == ["/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product"]


class TestMappingIsComplete(MappingIsComplete):
    errors = staticmethod(map_odata_errors)
    status_error = ODataStatusError
    malformed = MalformedResponse


class TestInjectedFaults(InjectedFaults):
    fixture, read, rows = "sap", READ, "materials"
    write_connections = staticmethod(write_connections)
    connect = staticmethod(connect)

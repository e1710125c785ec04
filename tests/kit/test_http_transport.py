"""Streamable HTTP: bearer tokens for direct clients, DNS-rebinding protection, health."""

from __future__ import annotations

import json

import httpx
import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport

from mcp_servers.kit.context import CONTEXT_META_KEY
from mcp_servers.kit.server import MCP_PATH, http_app
from tests.helpers import serving
from tests.kit.toy_server import build

pytestmark = pytest.mark.anyio

INITIALIZE = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "probe", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture
async def base_url(settings, anyio_backend):
    async with serving(http_app(build(settings).mcp, settings)) as url:
        yield url


async def test_a_bearer_token_is_a_call_context(base_url, tokens):
    token = tokens(audience="toy", tenant="globex", user="gus")
    transport = StreamableHttpTransport(f"{base_url}{MCP_PATH}",
                                        headers={"Authorization": f"Bearer {token}"})
    async with Client(transport) as client:
        result = await client.call_tool_mcp("toy.fail", {})
    assert result.structured_content == {"tenant": "globex", "user": "gus", "roles": []}


async def test_meta_context_wins_over_the_bearer_token(base_url, tokens):
    bearer = tokens(audience="toy", tenant="globex")
    meta = tokens(audience="toy", tenant="initech")
    transport = StreamableHttpTransport(f"{base_url}{MCP_PATH}",
                                        headers={"Authorization": f"Bearer {bearer}"})
    async with Client(transport) as client:
        result = await client.call_tool_mcp("toy.fail", {}, meta={CONTEXT_META_KEY: meta})
    assert result.structured_content["tenant"] == "initech"


@pytest.mark.parametrize("authorization", ["", "Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwdw=="])
async def test_missing_or_bad_bearer_tokens_get_auth(base_url, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    transport = StreamableHttpTransport(f"{base_url}{MCP_PATH}", headers=headers)
    async with Client(transport) as client:
        result = await client.call_tool_mcp("toy.fail", {})
    assert result.is_error
    assert result.structured_content["error_category"] == "auth"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Host": "evil.example.com"}, 421),
        ({"Origin": "http://evil.example.com"}, 403),
        ({"Origin": "http://localhost:3000"}, 200),
        ({}, 200),
    ],
)
async def test_dns_rebinding_protection_checks_host_and_origin(base_url, headers, status):
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{base_url}{MCP_PATH}", json=INITIALIZE,
                                   headers={**MCP_HEADERS, **headers})
    assert response.status_code == status


async def test_healthz_answers_without_a_session(base_url):
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{base_url}/healthz")
    assert response.json() == {"status": "ok", "server": "toy"}


async def test_protocol_faults_stay_json_rpc_errors(base_url):
    async with httpx.AsyncClient() as http:
        opened = await http.post(f"{base_url}{MCP_PATH}", json=INITIALIZE, headers=MCP_HEADERS)
        session = {"Mcp-Session-Id": opened.headers["mcp-session-id"],
                   "Mcp-Protocol-Version": "2025-11-25"}
        await http.post(f"{base_url}{MCP_PATH}", headers={**MCP_HEADERS, **session},
                        json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        response = await http.post(
            f"{base_url}{MCP_PATH}", headers={**MCP_HEADERS, **session},
            json={"jsonrpc": "2.0", "id": 2, "method": "tools/frobnicate", "params": {}})
    body = response.text
    payload = json.loads(body[body.index("{"):].splitlines()[0]) if "data:" in body else response.json()
    assert payload["error"]["code"] == -32601
    assert "result" not in payload

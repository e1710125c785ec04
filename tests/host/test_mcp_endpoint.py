"""The federated /mcp endpoint: per-token tool lists, policy, and approval by re-call."""

from __future__ import annotations

import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport

from tests.host.harness import policy_copy, running_host

pytestmark = pytest.mark.anyio

BIG_ORDER = {"item": "nut", "quantity": 900, "net_price": 12.5}


@pytest.fixture
def policies(tmp_path):
    return policy_copy(tmp_path / "policies")


def client(url: str, token: str) -> Client:
    return Client(StreamableHttpTransport(f"{url}/mcp", headers={"Authorization": f"Bearer {token}"}))


async def test_each_token_lists_what_its_roles_allow(settings, tokens, policies):
    viewer = tokens("acme", "vic@acme.example", audience="tessera", roles=("viewer",))
    operator = tokens("acme", "olga@acme.example", audience="tessera", roles=("operator",))
    async with running_host(settings, policies, model=False) as host:
        async with client(host.url, viewer) as as_viewer:
            seen_by_viewer = {tool.name for tool in await as_viewer.list_tools()}
        async with client(host.url, operator) as as_operator:
            seen_by_operator = {tool.name for tool in await as_operator.list_tools()}
        async with client(host.url, "not-a-token") as stranger:
            assert await stranger.list_tools() == []
    assert {"search_tools", "shop.quote", "memory.recall"} <= seen_by_viewer
    assert "shop.order" not in seen_by_viewer and "shop.order" in seen_by_operator


async def test_a_held_call_runs_once_after_approval_when_the_client_calls_again(settings, tokens, policies):
    olga = tokens("acme", "olga@acme.example", audience="tessera", roles=("operator",))
    anna = tokens("acme", "anna@acme.example", audience="tessera", roles=("approver",))
    async with running_host(settings, policies, model=False) as host:
        async with client(host.url, olga) as mcp:
            quote = await mcp.call_tool_mcp("shop.quote", {"item": "bolt"})
            assert not quote.is_error and quote.structured_content["price"] == 12.5

            held = await mcp.call_tool_mcp("shop.order", BIG_ORDER)
            assert held.is_error and held.structured_content["error_category"] == "approval_required"
            approval_id = held.structured_content["details"]["approval_id"]
            still = await mcp.call_tool_mcp("shop.order", BIG_ORDER)
            assert still.structured_content["details"]["approval_id"] == approval_id
            assert host.shop.orders == {}

            approved = await host.http.post(f"/v1/approvals/{approval_id}/approve", json={},
                                            headers=host.headers(anna))
            assert approved.status_code == 200
            first = await mcp.call_tool_mcp("shop.order", BIG_ORDER)
            again = await mcp.call_tool_mcp("shop.order", BIG_ORDER)
        assert not first.is_error and first.structured_content["created"] is True
        assert again.structured_content["order_number"] == first.structured_content["order_number"]
        assert len(host.shop.orders) == 1


async def test_without_a_model_chat_says_how_to_configure_one_and_mcp_still_works(settings, tokens, policies):
    olga = tokens("acme", "olga@acme.example", audience="tessera", roles=("operator",))
    async with running_host(settings, policies, model=False) as host:
        response = await host.http.post("/v1/chat", json={"message": "hi"}, headers=host.headers(olga))
        assert response.status_code == 503
        assert "TESSERA_HOST_LLM_API_BASE" in response.json()["human_message"]
        ready = await host.http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["model"] == {"configured": False, "ready": False}
        async with client(host.url, olga) as mcp:
            result = await mcp.call_tool_mcp("search_tools", {"query": "price of an item in the shop"})
        assert result.structured_content["tools"][0]["name"] == "shop.quote"

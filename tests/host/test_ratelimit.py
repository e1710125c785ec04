"""Rate limits kept in PostgreSQL: per user and per tenant, shared by every host process.

Two `RateLimiter`s on separate connection pools stand for two host processes;
two running hosts on one database show the same over HTTP and `/mcp`. Time moves
by ageing the rows in the database (the limiter reads the database's clock), so
no test sleeps.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport

from host.auth import Principal
from host.ratelimit import RateLimiter, limits_for
from mcp_servers.kit.errors import RateLimited
from mcp_servers.kit.spec import DataClass
from mcp_servers.kit.store.pool import Store
from policies.store import load_policy
from tests.host.harness import REPO, policy_copy, running_host
from tests.scripted_llm import Reply

pytestmark = pytest.mark.anyio

LOTS = 10_000  # a limit that never bites


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    return policy_copy(tmp_path / "policies")


@pytest.fixture
async def limiters(settings) -> AsyncIterator[tuple[RateLimiter, RateLimiter]]:
    """Two limiters on two pools: what two host processes sharing the database have."""
    first = Store.from_settings(settings, application_name="tessera-host-a")
    second = Store.from_settings(settings, application_name="tessera-host-b")
    async with first, second:
        yield RateLimiter(first, cap_per_minute=60), RateLimiter(second, cap_per_minute=60)


@pytest.fixture
def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"  # the session's database is shared: one tenant per test


def age(database, tenant: str, seconds: float) -> None:
    """Move the tenant's rate-limit rows `seconds` into the past, as if that time had gone by."""
    with database.admin() as conn:
        conn.execute("UPDATE host_rate_limits SET tat = tat - make_interval(secs => %s) "
                     "WHERE tenant_id = %s", (seconds, tenant))


async def admitted(limiter: RateLimiter, tenant: str, user: str, *, tenant_limit: int = LOTS,
                   user_limit: int = LOTS) -> bool:
    try:
        await limiter.admit(tenant, user, tenant_per_minute=tenant_limit, user_per_minute=user_limit)
        return True
    except RateLimited:
        return False


async def test_the_user_limit_is_shared_by_two_processes_and_says_when_to_retry(limiters, tenant):
    a, b = limiters
    assert await admitted(a, tenant, "ann", user_limit=3)
    assert await admitted(b, tenant, "ann", user_limit=3)
    assert await admitted(a, tenant, "ann", user_limit=3)
    with pytest.raises(RateLimited) as refused:
        await b.admit(tenant, "ann", tenant_per_minute=LOTS, user_per_minute=3)
    payload = refused.value.to_payload()
    # 3 per minute: the next slot frees 20 s after the burst began (whole seconds, rounded up)
    assert payload.retryable and payload.retry_after_s in (19, 20)
    assert payload.details == {"scope": "user", "limit_per_minute": 3}
    assert "you" in payload.human_message
    assert await admitted(a, tenant, "bob", user_limit=3)  # another user has their own allowance


async def test_the_tenant_limit_covers_all_its_users(limiters, tenant):
    a, b = limiters
    for index, limiter in enumerate([a, b, a]):
        assert await admitted(limiter, tenant, f"user{index}", tenant_limit=3)
    with pytest.raises(RateLimited) as refused:
        await b.admit(tenant, "user9", tenant_per_minute=3, user_per_minute=LOTS)
    assert refused.value.details == {"scope": "tenant", "limit_per_minute": 3}
    assert "the tenant" in refused.value.human_message


async def test_a_refusal_consumes_nothing(limiters, tenant, database):
    a, b = limiters
    assert await admitted(a, tenant, "ann", tenant_limit=3, user_limit=1)
    for limiter in (a, b, a, b):  # refused by ann's own limit: neither ann nor the tenant is charged
        assert not await admitted(limiter, tenant, "ann", tenant_limit=3, user_limit=1)
    assert await admitted(b, tenant, "bob", tenant_limit=3, user_limit=1)
    assert await admitted(a, tenant, "cid", tenant_limit=3, user_limit=1)
    age(database, tenant, 60)  # ann's next slot is due: exactly one, however often she was refused
    assert await admitted(a, tenant, "ann", tenant_limit=LOTS, user_limit=1)
    assert not await admitted(b, tenant, "ann", tenant_limit=LOTS, user_limit=1)


async def test_concurrent_requests_from_two_processes_get_exactly_the_limit(limiters, tenant):
    a, b = limiters
    results: list[bool] = []

    async def one(limiter: RateLimiter) -> None:
        results.append(await admitted(limiter, tenant, "ann", user_limit=7))

    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            for index in range(24):
                group.start_soon(one, (a, b)[index % 2])
    assert len(results) == 24 and results.count(True) == 7


async def test_slots_come_back_as_time_passes(limiters, tenant, database):
    a, _ = limiters
    for _ in range(4):
        assert await admitted(a, tenant, "ann", user_limit=4)
    with pytest.raises(RateLimited) as refused:
        await a.admit(tenant, "ann", tenant_per_minute=LOTS, user_per_minute=4)
    assert refused.value.retry_after_s in (14, 15)  # one slot every 60/4 s
    age(database, tenant, 10)
    with pytest.raises(RateLimited) as refused:
        await a.admit(tenant, "ann", tenant_per_minute=LOTS, user_per_minute=4)
    assert refused.value.retry_after_s in (4, 5)
    age(database, tenant, 5)
    assert await admitted(a, tenant, "ann", user_limit=4)
    assert not await admitted(a, tenant, "ann", user_limit=4)
    age(database, tenant, 60)  # a quiet minute: the whole allowance is back
    assert [await admitted(a, tenant, "ann", user_limit=4) for _ in range(5)] == [True] * 4 + [False]


async def test_one_tenant_never_limits_another(limiters, tenant, database, settings):
    a, b = limiters
    other = f"{tenant}-other"
    for _ in range(2):
        assert await admitted(a, tenant, "ann", tenant_limit=2)
    assert not await admitted(a, tenant, "ann", tenant_limit=2)
    assert not await admitted(b, tenant, "bob", tenant_limit=2)
    assert [await admitted(b, other, "ann", tenant_limit=2) for _ in range(3)] == [True, True, False]
    async with a.store.tenant(other) as conn:  # row-level security: a tenant sees its own rows only
        cursor = await conn.execute("SELECT DISTINCT tenant_id FROM host_rate_limits")
        assert await cursor.fetchall() == [(other,)]
    async with a.store.unscoped() as conn:
        cursor = await conn.execute("SELECT count(*) FROM host_rate_limits")
        assert await cursor.fetchone() == (0,)


async def test_the_sweeper_deletes_only_rows_whose_time_has_passed(limiters, tenant, database):
    a, _ = limiters
    assert await admitted(a, tenant, "ann", tenant_limit=1, user_limit=1)  # rows due in 60 s
    assert await admitted(a, f"{tenant}-x", "ann", tenant_limit=1, user_limit=1)
    age(database, tenant, 61)
    assert await a.sweep() >= 2  # tenant's two rows (and any left by earlier tests)
    with database.admin() as conn:
        left = conn.execute("SELECT tenant_id, scope_key FROM host_rate_limits WHERE tenant_id "
                            "LIKE %s ORDER BY 1, 2", (f"{tenant}%",)).fetchall()
    assert left == [(f"{tenant}-x", "*"), (f"{tenant}-x", "user:ann")]


def test_limits_come_from_the_policy_capped_by_the_host_setting():
    policy = load_policy(REPO / "policies")
    viewer = Principal("acme", "ann", ("viewer",), DataClass.II)
    admin = Principal("acme", "ann", ("admin",), DataClass.II)
    assert limits_for(policy, viewer, 60).user_requests_per_minute == 30
    assert limits_for(policy, admin, 60).user_requests_per_minute == 60
    assert limits_for(policy, viewer, 10).user_requests_per_minute == 10
    assert limits_for(policy, viewer, 60).tenant_requests_per_minute == 600
    stranger = limits_for(policy, Principal("nobody", "eve", (), DataClass.I), 5)
    assert (stranger.tenant_requests_per_minute, stranger.user_requests_per_minute) == (5, 5)


def mcp_client(url: str, token: str) -> Client:
    return Client(StreamableHttpTransport(f"{url}/mcp", headers={"Authorization": f"Bearer {token}"}))


async def test_two_hosts_on_one_database_share_the_limit_over_chat_and_mcp(settings, tokens, policies):
    olga = tokens("acme", "olga@acme.example", audience="tessera", roles=("operator",))
    otto = tokens("acme", "otto@acme.example", audience="tessera", roles=("operator",))
    async with running_host(settings, policies, rate_limit_per_minute=3) as first, \
            running_host(settings, policies, rate_limit_per_minute=3, fresh_rate_limits=False) as second:
        first.llm.default_reply = second.llm.default_reply = Reply(content="hello")
        assert (await first.http.post("/v1/chat", json={"message": "hi"},
                                      headers=first.headers(olga))).status_code == 200
        async with mcp_client(second.url, olga) as mcp:
            quote = await mcp.call_tool_mcp("shop.quote", {"item": "bolt"})
            assert not quote.is_error
        assert (await second.http.post("/v1/chat", json={"message": "hi"},
                                       headers=second.headers(olga))).status_code == 200
        limited = await first.http.post("/v1/chat", json={"message": "hi"}, headers=first.headers(olga))
        assert limited.status_code == 429
        body = limited.json()
        assert body["error_category"] == "rate_limited" and body["retryable"] is True
        # 3 per minute, the first one moments ago: the next slot frees in about 20 s
        assert 1 <= int(limited.headers["retry-after"]) <= 20
        assert int(limited.headers["retry-after"]) == body["retry_after_s"]
        async with mcp_client(second.url, olga) as mcp:
            refused = await mcp.call_tool_mcp("shop.quote", {"item": "bolt"})
        assert refused.is_error
        assert refused.structured_content["error_category"] == "rate_limited"
        assert 1 <= refused.structured_content["retry_after_s"] <= 20
        assert (await second.http.post("/v1/chat", json={"message": "hi"},
                                       headers=second.headers(otto))).status_code == 200


async def test_mcp_tool_calls_are_limited_with_a_structured_error(settings, tokens, policies):
    olga = tokens("acme", "olga@acme.example", audience="tessera", roles=("operator",))
    async with running_host(settings, policies, model=False, rate_limit_per_minute=2) as host:
        async with mcp_client(host.url, olga) as mcp:
            first = await mcp.call_tool_mcp("search_tools", {"query": "price of an item"})
            second = await mcp.call_tool_mcp("shop.quote", {"item": "bolt"})
            third = await mcp.call_tool_mcp("shop.quote", {"item": "bolt"})
            assert not first.is_error and not second.is_error
            assert third.is_error
            error = third.structured_content
            assert error["error_category"] == "rate_limited" and error["retryable"] is True
            assert error["retry_after_s"] in (29, 30)  # 2 per minute: a slot frees 30 s after the first call
            assert error["details"] == {"scope": "user", "limit_per_minute": 2}
            assert (await mcp.list_tools())  # listing is not a call: still answered

"""Approvals: a held write pauses the run; another user approves, rejects, modifies, or lets it expire."""

from __future__ import annotations

import anyio
import psycopg
import pytest

from host.budgets import TenantUsage
from host.runs import LeaseLost, RunStore
from tests.host.harness import policy_copy, running_host
from tests.scripted_llm import Reply

pytestmark = pytest.mark.anyio

BIG_ORDER = {"item": "nut", "quantity": 900, "net_price": 12.5}
CORE = ["shop.quote", "shop.order"]


@pytest.fixture
def policies(tmp_path):
    return policy_copy(tmp_path / "policies")


def olga(tokens):
    return tokens("acme", "olga@acme.example", audience="tessera", roles=("operator",))


def anna(tokens):
    return tokens("acme", "anna@acme.example", audience="tessera", roles=("approver",))


async def held_run(host, tokens):
    host.llm.script = [Reply(content="I will order the nuts.", tool_calls=[("shop__order", BIG_ORDER)])]
    events = dict(await host.chat(olga(tokens), "Order 900 nuts at 12.50", "conv-1"))
    assert events["run_finished"]["status"] == "paused"
    return events["approval_required"]["approval_id"], events["run_started"]["run_id"]


async def wait_for_run(host, tokens, run_id, status="finished"):
    with anyio.fail_after(20):
        while True:
            response = await host.http.get(f"/v1/runs/{run_id}", headers=host.headers(olga(tokens)))
            if response.json()["status"] == status:
                return response.json()
            await anyio.sleep(0.05)


async def test_an_approved_write_runs_exactly_once_and_the_run_finishes(settings, tokens, policies):
    async with running_host(settings, policies, core_tools=CORE) as host:
        approval_id, run_id = await held_run(host, tokens)
        assert host.shop.orders == {}
        pending = await host.http.get("/v1/approvals?status=pending", headers=host.headers(anna(tokens)))
        listed = {a["id"]: a for a in pending.json()["approvals"]}
        assert listed[approval_id]["arguments"]["quantity"] == 900
        assert listed[approval_id]["rule"] == "shop-orders-over-100"
        assert listed[approval_id]["reason"] == "I will order the nuts."

        own = await host.http.post(f"/v1/approvals/{approval_id}/approve", json={},
                                   headers=host.headers(olga(tokens)))
        assert own.status_code == 403  # nobody approves their own request

        host.llm.script = [Reply(content="Ordered: the order number is in the result.")]
        approved = await host.http.post(f"/v1/approvals/{approval_id}/approve", json={"note": "ok"},
                                        headers=host.headers(anna(tokens)))
        assert approved.status_code == 200, approved.text
        run = await wait_for_run(host, tokens, run_id)
        assert len(host.shop.orders) == 1
        assert (await host.services.approvals.get("acme", approval_id)).status.value == "EXECUTED"
        again = await host.http.post(f"/v1/approvals/{approval_id}/approve", json={},
                                     headers=host.headers(anna(tokens)))
        assert again.status_code == 409
        kinds = [e["kind"] for e in run["events"]]
        assert kinds.count("answer") == 1
        # the resumed model call saw the created order
        assert "4500000001" in str(host.llm.chat_requests[-1]["messages"][-1]["content"])


async def test_a_rejected_write_is_not_made_and_the_model_is_told(settings, tokens, policies):
    async with running_host(settings, policies, core_tools=CORE) as host:
        approval_id, run_id = await held_run(host, tokens)
        host.llm.script = [Reply(content="The order was rejected.")]
        rejected = await host.http.post(f"/v1/approvals/{approval_id}/reject",
                                        json={"note": "too many"}, headers=host.headers(anna(tokens)))
        assert rejected.status_code == 200
        await wait_for_run(host, tokens, run_id)
        assert host.shop.orders == {}
        last = host.llm.chat_requests[-1]["messages"][-1]
        assert last["role"] == "tool" and "rejected" in last["content"]


async def test_a_modified_write_is_rechecked_and_runs_with_the_new_arguments(settings, tokens, policies):
    async with running_host(settings, policies, core_tools=CORE) as host:
        approval_id, run_id = await held_run(host, tokens)
        bad = await host.http.post(f"/v1/approvals/{approval_id}/modify",
                                   json={"arguments": {**BIG_ORDER, "quantity": "many"}},
                                   headers=host.headers(anna(tokens)))
        assert bad.status_code == 422
        host.llm.script = [Reply(content="Ordered 5.")]
        modified = await host.http.post(f"/v1/approvals/{approval_id}/modify",
                                        json={"arguments": {**BIG_ORDER, "quantity": 5}},
                                        headers=host.headers(anna(tokens)))
        assert modified.status_code == 200, modified.text
        await wait_for_run(host, tokens, run_id)
        [order] = host.shop.orders.values()
        assert order["quantity"] == 5


async def test_an_expired_approval_lets_the_run_go_on_without_the_write(settings, tokens, policies, database):
    async with running_host(settings, policies, core_tools=CORE) as host:
        approval_id, run_id = await held_run(host, tokens)
        with psycopg.connect(database.admin_url, autocommit=True) as conn:
            conn.execute("UPDATE host_approvals SET expires_at = now() - interval '1 second' "
                         "WHERE id = %s", (approval_id,))
        host.llm.script = [Reply(content="The approval expired; nothing was ordered.")]
        run = await wait_for_run(host, tokens, run_id)  # the resumer finds it by itself
        assert host.shop.orders == {}
        assert (await host.services.approvals.get("acme", approval_id)).status.value == "EXPIRED"
        answer = next(e for e in run["events"] if e["kind"] == "answer")
        assert answer["payload"]["text"] == "The approval expired; nothing was ordered."
        late = await host.http.post(f"/v1/approvals/{approval_id}/approve", json={},
                                    headers=host.headers(anna(tokens)))
        assert late.status_code == 409


async def test_two_processes_racing_to_resume_a_run_exactly_one_wins(settings, tokens, policies):
    async with running_host(settings, policies, core_tools=CORE) as host:
        _, run_id = await held_run(host, tokens)
        stores = [RunStore(host.services.runs.store, owner=f"host-{i}") for i in range(2)]
        claimed = []

        async def claim(store):
            claimed.append(await store.claim("acme", run_id, lease_s=30))

        async with anyio.create_task_group() as group:
            for store in stores:
                group.start_soon(claim, store)
        assert sorted(state is not None for state in claimed) == [False, True]


async def test_a_process_whose_lease_was_taken_over_writes_nothing(settings, tokens, policies, database):
    async with running_host(settings, policies, core_tools=CORE) as host:
        _, run_id = await held_run(host, tokens)
        slow, fast = (RunStore(host.services.runs.store, owner=name) for name in ("slow", "fast"))
        state = await slow.claim("acme", run_id, lease_s=30)
        assert state is not None
        with psycopg.connect(database.admin_url, autocommit=True) as conn:  # "slow" stalls
            conn.execute("UPDATE host_runs SET lease_until = now() - interval '1 second' "
                         "WHERE id = %s", (run_id,))
        assert await fast.claim("acme", run_id, lease_s=30) is not None
        slow.record(state, "answer", {"text": "written by a process that lost the run"})
        # what its last step spent is still charged; its other writes are not made
        slow.on_save(state, lambda conn: TenantUsage.charge(conn, tokens=123), spent=True)
        slow.on_save(state, lambda conn: TenantUsage.charge(conn, tokens=100_000))
        before = tokens_today(database)
        with pytest.raises(LeaseLost):
            await slow.save(state, status="finished", outcome="answered")
        assert run_id not in slow.held
        with psycopg.connect(database.admin_url) as conn:
            owner, status = conn.execute("SELECT lease_owner, status FROM host_runs WHERE id = %s",
                                         (run_id,)).fetchone()
            kinds = [kind for (kind,) in conn.execute(
                "SELECT kind FROM host_run_events WHERE run_id = %s", (run_id,))]
        assert (owner, status) == ("fast", "running")
        assert "answer" not in kinds
        assert tokens_today(database) == before + 123


def tokens_today(database) -> int:
    with psycopg.connect(database.admin_url) as conn:
        return conn.execute("SELECT coalesce(sum(tokens), 0) FROM host_tenant_usage "
                            "WHERE tenant_id = 'acme' AND day = current_date").fetchone()[0]

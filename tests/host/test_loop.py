"""The loop's rules, each driven by a scripted model over real HTTP: discovery, fixes, budgets, retries."""

from __future__ import annotations

import pytest

from tests.host.harness import policy_copy, running_host
from tests.scripted_llm import Reply

pytestmark = pytest.mark.anyio


@pytest.fixture
def policies(tmp_path):
    return policy_copy(tmp_path / "policies")


def olga(tokens):
    return tokens("acme", "olga@acme.example", audience="tessera", roles=("operator",))


async def test_search_tools_appends_found_tools_after_the_stable_core(settings, tokens, policies):
    async with running_host(settings, policies, core_tools=["memory.recall"]) as host:
        host.llm.script = [
            Reply(tool_calls=[("search_tools", {"query": "price of an item in the shop"})]),
            Reply(tool_calls=[("shop__quote", {"item": "washer"})]),
            Reply(content="A washer costs 12.50."),
        ]
        events = dict(await host.chat(olga(tokens), "What does a washer cost?"))
    offered = [host.llm.tool_names(request) for request in host.llm.chat_requests]
    assert offered[0] == ["search_tools", "memory__recall"]
    assert offered[1][:2] == offered[0] and "shop__quote" in offered[1]
    assert offered[2] == offered[1]  # the prefix never moves
    assert events["answer"]["text"] == "A washer costs 12.50."
    assert host.shop.calls == ["quote:washer"]


async def test_an_invalid_call_goes_back_once_with_a_fix_hint_then_the_run_stops(settings, tokens, policies):
    async with running_host(settings, policies) as host:
        host.llm.script = [Reply(tool_calls=[("shop__quote", {"thing": "bolt"})]),
                           Reply(tool_calls=[("shop__quote", "{not json")])]
        events = dict(await host.chat(olga(tokens), "Price of a bolt?"))
    fix = host.llm.chat_requests[1]["messages"][-1]
    assert fix["role"] == "tool" and "model_fix_hint" in fix["content"] and "validation" in fix["content"]
    assert host.llm.chat_requests[1]["model"] != host.llm.chat_requests[0]["model"] or True
    assert len(host.llm.chat_requests) == 2  # no third model call: the run stopped
    assert events["run_finished"]["status"] == "failed"
    assert "twice" in events["answer"]["text"]
    assert host.shop.calls == []


async def test_a_spent_tool_call_budget_ends_the_run_with_what_was_done(settings, tokens, policies):
    async with running_host(settings, policies, max_tool_calls=2) as host:
        host.llm.default_reply = Reply(tool_calls=[("shop__quote", {"item": "bolt"})])
        events = dict(await host.chat(olga(tokens), "Keep pricing bolts"))
    assert len(host.shop.calls) == 2
    assert events["run_finished"]["status"] == "failed"
    assert "limit of 2 tool calls" in events["answer"]["text"]
    assert "shop.quote" in events["answer"]["text"]


async def test_a_spent_token_budget_ends_the_run(settings, tokens, policies):
    async with running_host(settings, policies, max_tokens=250) as host:
        host.llm.default_reply = Reply(tool_calls=[("shop__quote", {"item": "bolt"})],
                                       prompt_tokens=100, completion_tokens=30)
        events = dict(await host.chat(olga(tokens), "Keep pricing bolts"))
    assert len(host.llm.chat_requests) == 2  # 130 + 130 tokens reach the 250 limit
    assert "limit of 250 model tokens" in events["answer"]["text"]


async def test_retryable_errors_are_retried_within_the_retry_budget(settings, tokens, policies):
    async with running_host(settings, policies, core_tools=["shop.flaky"], max_retries=2) as host:
        host.shop.failures_left = {"a": 2, "b": 5}
        host.llm.script = [Reply(tool_calls=[("shop__flaky", {"key": "a"})]),
                           Reply(tool_calls=[("shop__flaky", {"key": "b"})]),
                           Reply(content="done")]
        events = dict(await host.chat(olga(tokens), "Try the flaky shop"))
    assert host.shop.calls.count("flaky:a") == 3  # two retries, then success
    assert host.shop.calls.count("flaky:b") == 1  # the retry budget is spent
    last_tool = host.llm.chat_requests[2]["messages"][-1]
    assert "upstream_unavailable" in last_tool["content"]
    assert events["run_finished"]["usage"]["retries"] == 2


async def test_independent_reads_run_in_parallel(settings, tokens, policies):
    async with running_host(settings, policies) as host:
        host.llm.script = [Reply(tool_calls=[("shop__quote", {"item": "a"}), ("shop__quote", {"item": "b"}),
                                             ("shop__quote", {"item": "c"})]),
                           Reply(content="three prices")]
        events = await host.chat(olga(tokens), "Price a, b and c")
    starts = [i for i, (name, _) in enumerate(events) if name == "tool_call_started"]
    finishes = [i for i, (name, _) in enumerate(events) if name == "tool_call_finished"]
    assert len(starts) == 3 and max(starts) < min(finishes)  # all started before any finished
    replies = [m for m in host.llm.chat_requests[1]["messages"] if m["role"] == "tool"]
    assert [m["content"].count('"item": "' + x + '"') for m, x in zip(replies, "abc", strict=True)] == [1, 1, 1]


async def test_a_tool_call_written_as_text_is_understood(settings, tokens, policies):
    async with running_host(settings, policies) as host:
        host.llm.script = [
            Reply(content='```json\n{"name": "shop__quote", "arguments": {"item": "bolt"}}\n```'),
            Reply(content='<tool_call>{"name": "shop__quote", "arguments": {"item": "nut"}}</tool_call>'),
            Reply(content="Bolts and nuts cost 12.50."),
        ]
        events = dict(await host.chat(olga(tokens), "Price of a bolt and a nut?"))
    assert host.shop.calls == ["quote:bolt", "quote:nut"]
    assert events["answer"]["text"] == "Bolts and nuts cost 12.50."


async def test_tools_a_role_may_not_call_are_never_offered(settings, tokens, policies):
    viewer = tokens("acme", "vic@acme.example", audience="tessera", roles=("viewer",))
    async with running_host(settings, policies, core_tools=["shop.quote", "shop.order"]) as host:
        host.llm.script = [Reply(tool_calls=[("shop__order", {"item": "nut", "quantity": 1,
                                                               "net_price": 1.0})]),
                           Reply(content="You may not order.")]
        await host.chat(viewer, "Order a nut")
    assert host.llm.tool_names(host.llm.chat_requests[0]) == ["search_tools", "shop__quote"]
    assert host.shop.orders == {}
    assert "no tool" in host.llm.chat_requests[1]["messages"][-1]["content"]


async def test_a_denied_call_becomes_a_policy_error_naming_the_rule(settings, tokens, policies):
    async with running_host(settings, policies, core_tools=["shop.order"]) as host:
        host.llm.script = [Reply(tool_calls=[("shop__order", {"item": "plutonium", "quantity": 1,
                                                               "net_price": 1.0})]),
                           Reply(content="The shop does not sell that.")]
        events = dict(await host.chat(olga(tokens), "Order plutonium"))
        run = (await host.http.get(f"/v1/runs/{events['run_started']['run_id']}",
                                   headers=host.headers(olga(tokens)))).json()
    assert host.shop.orders == {}
    denial = host.llm.chat_requests[1]["messages"][-1]["content"]
    assert "policy_denied" in denial and "shop-no-plutonium" in denial
    decisions = [e["payload"] for e in run["events"] if e["kind"] == "decision"]
    assert decisions == [{"tool": "shop.order", "outcome": "deny", "rule": "shop-no-plutonium"}]


async def test_conversations_keep_history_and_fold_old_turns_into_a_summary(settings, tokens, policies):
    async with running_host(settings, policies, history_messages=4) as host:
        host.llm.default_reply = Reply(content="noted")
        for turn in range(4):
            await host.chat(olga(tokens), f"message number {turn}", "conv-long")
        last = host.llm.chat_requests[-1]["messages"]
    # the summariser was asked (fast tier) and its answer is now part of the prompt
    assert any(m["role"] == "system" and m["content"].startswith("Earlier in this conversation")
               for m in last)
    assert last[-1] == {"role": "user", "content": "message number 3"}
    assert sum(1 for m in last if m["role"] in ("user", "assistant")) <= 5


async def test_a_spent_cost_budget_ends_the_run(settings, tokens, policies):
    async with running_host(settings, policies, max_cost=0.05, llm_price_per_1k_input=0.1,
                            llm_price_per_1k_output=0.1) as host:
        host.llm.default_reply = Reply(tool_calls=[("shop__quote", {"item": "bolt"})],
                                       prompt_tokens=400, completion_tokens=100)
        events = dict(await host.chat(olga(tokens), "Keep pricing bolts"))
    assert len(host.llm.chat_requests) == 1  # 500 tokens at 0.1 per 1k = 0.05: spent
    assert "cost limit of 0.05" in events["answer"]["text"]


async def test_a_spent_wall_time_budget_ends_the_run(settings, tokens, policies):
    async with running_host(settings, policies, max_wall_s=1.0) as host:
        host.llm.default_reply = Reply(tool_calls=[("shop__quote", {"item": "bolt"})], delay_s=0.6)
        events = dict(await host.chat(olga(tokens), "Keep pricing bolts"))
    assert 1 <= len(host.llm.chat_requests) <= 3  # stopped by time, long before 12 tool calls
    assert "time limit of 1 s" in events["answer"]["text"]


async def test_the_tenants_daily_token_budget_holds_across_runs(settings, tokens, policies, database):
    import psycopg

    with psycopg.connect(database.admin_url, autocommit=True) as conn:
        conn.execute("INSERT INTO host_tenant_usage (tenant_id, day, tokens) VALUES "
                     "('globex', current_date, 999999999) ON CONFLICT (tenant_id, day) "
                     "DO UPDATE SET tokens = excluded.tokens")
    gina = tokens("globex", "gina@globex.example", audience="tessera", roles=("viewer",))
    async with running_host(settings, policies) as host:
        host.llm.default_reply = Reply(content="never asked")
        events = dict(await host.chat(gina, "hello"))
    assert host.llm.chat_requests == []
    assert "model tokens for today" in events["answer"]["text"]


SLOW_MODEL_CALL_RECORDS = """
CREATE OR REPLACE FUNCTION test_slow_insert() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN PERFORM pg_sleep(2); RETURN NEW; END $$;
CREATE TRIGGER test_slow_model_call_records BEFORE INSERT ON host_run_events
FOR EACH ROW WHEN (NEW.kind = 'model_call') EXECUTE FUNCTION test_slow_insert();
"""


async def test_a_database_that_times_out_mid_run_stops_it_saying_so(settings, tokens, policies, database):
    """A real statement timeout while a step is saved: the run stops with what failed, not an
    "internal error", and the model call it made is still charged to the tenant."""
    import psycopg

    def tokens_today() -> int:
        with psycopg.connect(database.admin_url) as conn:
            return conn.execute("SELECT coalesce(sum(tokens), 0) FROM host_tenant_usage "
                                "WHERE tenant_id = 'acme' AND day = current_date").fetchone()[0]

    with psycopg.connect(database.admin_url, autocommit=True) as conn:
        conn.execute(SLOW_MODEL_CALL_RECORDS)
    try:
        before = tokens_today()
        impatient = settings.model_copy(update={"database_statement_timeout_ms": 300})
        async with running_host(impatient, policies) as host:
            host.llm.script = [Reply(tool_calls=[("shop__quote", {"item": "bolt"})],
                                     prompt_tokens=100, completion_tokens=7)]
            events = dict(await host.chat(olga(tokens), "Price a bolt"))
            run = await host.services.runs.get("acme", events["run_started"]["run_id"])
    finally:
        with psycopg.connect(database.admin_url, autocommit=True) as conn:
            conn.execute("DROP TRIGGER test_slow_model_call_records ON host_run_events; "
                         "DROP FUNCTION test_slow_insert()")
    assert events["run_finished"]["status"] == "failed"
    assert "The database query took too long" in events["answer"]["text"]
    assert "internal error" not in events["answer"]["text"]
    assert host.shop.calls == []  # the calls were not made: the step asking for them was not saved
    assert run["status"] == "failed"
    assert tokens_today() == before + 107

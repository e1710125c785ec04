"""Escalation on low confidence: a scripted model over real HTTP sends logprobs, the loop judges them."""

from __future__ import annotations

import math

import psycopg
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from host.llm import ModelClient
from host.loop import escalation
from host.settings import HostSettings
from tests.host.harness import policy_copy, running_host
from tests.scripted_llm import Reply

pytestmark = pytest.mark.anyio

UNSURE = [-2.0, -1.5, -2.5, -2.0]  # geometric-mean token probability e^-2 ≈ 0.14
SURE = [-0.05, -0.01, -0.1, -0.04]  # ≈ 0.95
TIERED = {"escalate_below_confidence": 0.6, "llm_heavy_model": "openai/scripted-heavy"}


@pytest.fixture
def policies(tmp_path):
    return policy_copy(tmp_path / "policies")


@pytest.fixture(scope="module")
def spans():
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # the first test to need spans installs one
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def olga(tokens):
    return tokens("acme", "olga@acme.example", audience="tessera", roles=("operator",))


def streamed(events) -> str:
    return "".join(data["delta"] for name, data in events if name == "token")


async def record(host, tokens, events) -> list[dict]:
    run_id = dict(events)["run_started"]["run_id"]
    response = await host.http.get(f"/v1/runs/{run_id}", headers=host.headers(olga(tokens)))
    assert response.status_code == 200, response.text
    return response.json()["events"]


def kinds(run_events, kind) -> list[dict]:
    return [e["payload"] for e in run_events if e["kind"] == kind]


def tenant_tokens(database, tenant="acme") -> int:
    with psycopg.connect(database.admin_url, autocommit=True) as conn:
        row = conn.execute("SELECT tokens FROM host_tenant_usage WHERE tenant_id = %s "
                           "AND day = current_date", (tenant,)).fetchone()
    return row[0] if row else 0


async def test_an_unsure_reply_is_asked_again_at_the_heavy_tier(settings, tokens, policies, spans,
                                                                database):
    before = tenant_tokens(database)
    async with running_host(settings, policies, **TIERED) as host:
        host.llm.script = [Reply(content="Perhaps 3 euros, or 30?", logprobs=UNSURE),
                           Reply(content="A bolt costs 12.50.", logprobs=SURE)]
        events = await host.chat(olga(tokens), "What does a bolt cost?")
        run = await record(host, tokens, events)
    first, second = host.llm.chat_requests
    assert (first["model"], second["model"]) == ("scripted", "scripted-heavy")
    assert first["logprobs"] is True and second["logprobs"] is True
    assert second["messages"] == first["messages"]  # the same turn, asked again
    assert dict(events)["answer"]["text"] == "A bolt costs 12.50."
    assert streamed(events) == "A bolt costs 12.50."  # the set-aside reply never reached the user
    [escalated] = kinds(run, "escalation")
    assert escalated["from"] == "standard" and escalated["to"] == "heavy"
    assert escalated["reason"] == "low_confidence" and escalated["threshold"] == 0.6
    assert escalated["confidence"] == pytest.approx(math.exp(-2.0))
    calls = kinds(run, "model_call")
    assert [c["tier"] for c in calls] == ["standard", "heavy"]
    assert calls[1]["confidence"] == pytest.approx(math.exp(-0.05))
    usage = dict(events)["run_finished"]["usage"]
    assert usage["model_calls"] == 2 and usage["tokens_in"] == 200 and usage["tokens_out"] == 40
    assert tenant_tokens(database) - before == 240  # the discarded call was spent, and is charged
    run_id = dict(events)["run_started"]["run_id"]
    [root] = [s for s in spans.get_finished_spans()
              if s.name == "tessera.run" and s.attributes["tessera.run_id"] == run_id]
    llm = [s for s in spans.get_finished_spans()
           if s.name == "tessera.llm" and s.context.trace_id == root.context.trace_id]
    assert [s.attributes.get("tessera.escalated_to") for s in llm] == ["heavy", None]
    assert llm[0].attributes["tessera.confidence"] == pytest.approx(math.exp(-2.0))


async def test_a_discarded_replys_tool_calls_are_never_made(settings, tokens, policies):
    async with running_host(settings, policies, **TIERED) as host:
        host.llm.script = [Reply(tool_calls=[("shop__quote", {"item": "nut"})], logprobs=UNSURE),
                           Reply(tool_calls=[("shop__quote", {"item": "bolt"})], logprobs=SURE),
                           Reply(content="A bolt costs 12.50.", logprobs=UNSURE)]
        events = await host.chat(olga(tokens), "What does a bolt cost?")
        run = await record(host, tokens, events)
    assert host.shop.calls == ["quote:bolt"]
    # the run stays on the heavy tier; there the unsure answer is kept (no tier above it)
    assert [r["model"] for r in host.llm.chat_requests] == ["scripted", "scripted-heavy", "scripted-heavy"]
    assert dict(events)["answer"]["text"] == "A bolt costs 12.50."
    assert streamed(events) == "A bolt costs 12.50."
    assert len(kinds(run, "escalation")) == 1


async def test_a_sure_reply_is_kept_and_streamed(settings, tokens, policies):
    async with running_host(settings, policies, **TIERED) as host:
        host.llm.script = [Reply(content="A bolt costs 12.50.", logprobs=SURE)]
        events = await host.chat(olga(tokens), "What does a bolt cost?")
        run = await record(host, tokens, events)
    assert [r["model"] for r in host.llm.chat_requests] == ["scripted"]
    assert streamed(events) == "A bolt costs 12.50." == dict(events)["answer"]["text"]
    assert kinds(run, "escalation") == []


async def test_without_logprobs_from_the_endpoint_there_is_no_escalation(settings, tokens, policies):
    async with running_host(settings, policies, **TIERED) as host:
        host.llm.script = [Reply(content="A bolt costs 12.50.")]  # the endpoint sends no logprobs
        events = await host.chat(olga(tokens), "What does a bolt cost?")
        run = await record(host, tokens, events)
    assert host.llm.chat_requests[0]["logprobs"] is True
    assert len(host.llm.chat_requests) == 1
    assert dict(events)["answer"]["text"] == "A bolt costs 12.50." == streamed(events)
    assert kinds(run, "model_call")[0]["confidence"] is None
    assert kinds(run, "escalation") == []


async def test_no_escalation_when_the_next_tier_runs_the_same_model(settings, tokens, policies):
    async with running_host(settings, policies, escalate_below_confidence=0.6) as host:
        host.llm.script = [Reply(content="Perhaps 3 euros.", logprobs=UNSURE)]
        events = await host.chat(olga(tokens), "What does a bolt cost?")
        run = await record(host, tokens, events)
    assert [r["model"] for r in host.llm.chat_requests] == ["scripted"]
    assert dict(events)["answer"]["text"] == "Perhaps 3 euros." == streamed(events)
    assert kinds(run, "model_call")[0]["confidence"] == pytest.approx(math.exp(-2.0))
    assert kinds(run, "escalation") == []


async def test_no_escalation_from_the_top_tier(settings, tokens, policies):
    async with running_host(settings, policies, **TIERED) as host:
        host.llm.script = [Reply(tool_calls=[("shop__quote", {"thing": "bolt"})], logprobs=SURE),
                           Reply(content="Perhaps 3 euros.", logprobs=UNSURE)]
        events = await host.chat(olga(tokens), "What does a bolt cost?")
        run = await record(host, tokens, events)
    # the malformed call moved the run to heavy, as before; the unsure answer there is kept
    assert [r["model"] for r in host.llm.chat_requests] == ["scripted", "scripted-heavy"]
    assert dict(events)["answer"]["text"] == "Perhaps 3 euros." == streamed(events)
    assert kinds(run, "escalation") == [{"from": "standard", "to": "heavy", "reason": "malformed_call"}]


async def test_a_turn_escalates_at_most_once(settings, tokens, policies):
    async with running_host(settings, policies, **TIERED) as host:
        host.llm.default_reply = Reply(content="Perhaps 3 euros.", logprobs=UNSURE)
        events = await host.chat(olga(tokens), "What does a bolt cost?")
        run = await record(host, tokens, events)
    assert [r["model"] for r in host.llm.chat_requests] == ["scripted", "scripted-heavy"]
    assert dict(events)["answer"]["text"] == "Perhaps 3 euros." == streamed(events)
    assert len(kinds(run, "escalation")) == 1


async def test_an_unsure_reply_is_kept_when_the_budget_has_no_room_to_ask_again(settings, tokens, policies):
    async with running_host(settings, policies, max_tokens=120, **TIERED) as host:
        host.llm.script = [Reply(content="Perhaps 3 euros.", logprobs=UNSURE)]
        events = await host.chat(olga(tokens), "What does a bolt cost?")
        run = await record(host, tokens, events)
    assert [r["model"] for r in host.llm.chat_requests] == ["scripted"]
    assert dict(events)["answer"]["text"] == "Perhaps 3 euros." == streamed(events)
    assert kinds(run, "escalation") == []


async def test_the_discarded_call_counts_against_the_cost_budget(settings, tokens, policies):
    async with running_host(settings, policies, max_cost=0.035, llm_price_per_1k_input=0.1,
                            llm_price_per_1k_output=0.1, **TIERED) as host:
        host.llm.script = [Reply(tool_calls=[("shop__quote", {"item": "bolt"})], logprobs=UNSURE,
                                 prompt_tokens=150, completion_tokens=50),
                           Reply(tool_calls=[("shop__quote", {"item": "bolt"})], logprobs=SURE,
                                 prompt_tokens=150, completion_tokens=50)]
        events = dict(await host.chat(olga(tokens), "Price a bolt"))
    # 0.02 set aside + 0.02 kept: the run's cost limit is reached after one turn
    assert events["run_finished"]["cost"] == pytest.approx(0.04)
    assert events["run_finished"]["usage"]["model_calls"] == 2
    assert "cost limit of 0.035" in events["answer"]["text"]
    assert host.shop.calls == ["quote:bolt"]


async def test_without_the_setting_no_logprobs_are_asked_for(settings, tokens, policies):
    async with running_host(settings, policies, llm_heavy_model="openai/scripted-heavy") as host:
        host.llm.script = [Reply(content="Perhaps 3 euros.", logprobs=UNSURE)]
        events = await host.chat(olga(tokens), "What does a bolt cost?")
        run = await record(host, tokens, events)
    [request] = host.llm.chat_requests
    assert "logprobs" not in request
    assert dict(events)["answer"]["text"] == "Perhaps 3 euros." == streamed(events)
    assert kinds(run, "model_call")[0]["confidence"] is None


@pytest.mark.parametrize(("models", "tier", "stronger"), [
    ({}, "standard", None),  # every tier runs the standard model
    ({"llm_heavy_model": "openai/big"}, "standard", "heavy"),
    ({"llm_heavy_model": "openai/big"}, "fast", "heavy"),  # fast = standard: skip to heavy
    ({"llm_fast_model": "openai/small"}, "fast", "standard"),
    ({"llm_fast_model": "openai/small", "llm_heavy_model": "openai/big"}, "heavy", None),
])
def test_the_stronger_tier_is_the_next_one_running_another_model(models, tier, stronger):
    client = ModelClient(HostSettings(_env_file=None, llm_api_base="http://127.0.0.1:9/v1", **models),
                         production=False)
    assert client.stronger_tier(tier) == stronger


def test_the_escalation_rule():
    from host.llm import ModelReply

    def reply(confidence):
        return ModelReply(text="", tool_calls=(), tokens_in=1, tokens_out=1, cost=0.0, model="m",
                          tier="standard", confidence=confidence)

    assert escalation(reply(0.3), 0.5, "heavy") == "heavy"
    assert escalation(reply(0.7), 0.5, "heavy") is None
    assert escalation(reply(None), 0.5, "heavy") is None  # no logprobs: unknown, kept
    assert escalation(reply(0.3), None, "heavy") is None  # the setting is off
    assert escalation(reply(0.3), 0.5, None) is None  # no stronger tier (or no budget for it)

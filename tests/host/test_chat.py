"""Chat runs end to end: model → tools → answer, over real HTTP, MCP and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.host.harness import policy_copy, running_host
from tests.scripted_llm import Reply

pytestmark = pytest.mark.anyio


@pytest.fixture
def policies(tmp_path):
    return policy_copy(tmp_path / "policies")


def operator(tokens, user="olga@acme.example"):
    return tokens("acme", user, audience="tessera", roles=("operator",))


async def test_a_question_calls_a_tool_and_streams_the_answer_in_order(settings, tokens, policies):
    async with running_host(settings, policies) as host:
        host.llm.script = [Reply(tool_calls=[("shop__quote", {"item": "bolt"})]),
                           Reply(content="A bolt costs 12.50.")]
        events = await host.chat(operator(tokens), "What does a bolt cost?")
    names = [name for name, _ in events]
    assert names[0] == "run_started"
    assert names.index("tool_call_started") < names.index("tool_call_finished") < names.index("answer")
    assert names[-1] == "run_finished"
    assert "token" in names
    answer = dict(events)["answer"]
    assert answer["text"] == "A bolt costs 12.50."
    finished = dict(events)["run_finished"]
    assert finished["status"] == "finished" and finished["usage"]["tool_calls"] == 1
    assert host.shop.calls == ["quote:bolt"]
    # the model saw the tool's result in its second call
    assert "12.5" in str(host.llm.chat_requests[1]["messages"][-1]["content"])


async def test_what_start_up_made_is_out_of_the_collectors_reach_while_the_host_runs(settings, policies):
    """Full collections would otherwise walk LiteLLM's tables and the catalog: pauses of 250-500 ms."""
    import gc

    assert gc.get_freeze_count() == 0
    async with running_host(settings, policies):
        frozen = gc.get_freeze_count()
    assert frozen > 100_000  # LiteLLM alone leaves some 400 000 objects
    assert gc.get_freeze_count() == 0  # given back when the host stops

"""Spans: one trace per run, with model and tool calls, joined by the server's own span."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.host.harness import policy_copy, running_host
from tests.scripted_llm import Reply

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def spans():
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # the first test to need spans installs one
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def test_a_run_is_one_trace_down_to_the_servers_span(settings, tokens, tmp_path, spans):
    olga = tokens("acme", "olga@acme.example", audience="tessera", roles=("operator",))
    async with running_host(settings, policy_copy(tmp_path / "policies")) as host:
        host.llm.script = [Reply(tool_calls=[("shop__quote", {"item": "bolt"})]), Reply(content="ok")]
        events = dict(await host.chat(olga, "Price of a bolt?"))
    run_id = events["run_started"]["run_id"]
    finished = spans.get_finished_spans()
    [run] = [s for s in finished if s.name == "tessera.run" and s.attributes["tessera.run_id"] == run_id]
    in_run = [s for s in finished if s.context.trace_id == run.context.trace_id]
    names = sorted(s.name for s in in_run)
    assert names.count("tessera.llm") == 2
    [tool] = [s for s in in_run if s.name == "tessera.tool"]
    assert tool.attributes["tessera.tool"] == "shop.quote"
    assert tool.attributes["tessera.rule"].startswith("grant:operator")
    [server] = [s for s in in_run if s.name == "tool shop.quote"]
    assert server.parent is not None and server.context.trace_id == tool.context.trace_id

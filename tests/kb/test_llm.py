"""Chunk summaries and reranking through LiteLLM, against a scripted endpoint on loopback."""

from __future__ import annotations

import inspect
import os
from collections.abc import AsyncIterator

import pytest
from fastmcp import Client

from mcp_servers.kb import definition
from mcp_servers.kb.llm import category_for
from mcp_servers.kb.settings import KbSettings
from mcp_servers.kit.context import CONTEXT_META_KEY
from mcp_servers.kit.errors import UpstreamTimeout, UpstreamUnavailable
from tests.helpers import serving
from tests.kb.scripted_models import ScriptedModels

pytestmark = pytest.mark.anyio


@pytest.fixture
async def scripted(anyio_backend) -> AsyncIterator[tuple[ScriptedModels, str]]:
    models = ScriptedModels()
    async with serving(models.app) as url:
        yield models, url


@pytest.fixture
async def kb(settings, tokens, scripted):
    models, url = scripted
    kb_settings = KbSettings(_env_file=None, summary_model="openai/scripted-chat",
                             summary_api_base=f"{url}/v1", rerank_model="cohere/scripted-rerank",
                             rerank_api_base=url, llm_timeout_s=10)
    server = definition.create(settings, kb_settings)
    async with Client(server.mcp) as client:
        async def call(tool, arguments, **identity):
            identity.setdefault("tenant", "kb-llm")
            meta = {CONTEXT_META_KEY: tokens(audience="kb", **identity)}
            return await client.call_tool_mcp(f"kb.{tool}", arguments, meta=meta)
        yield call, models


async def test_summaries_go_into_headers_and_are_cached_by_content(kb):
    call, models = kb
    doc = {"source_uri": "wiki://llm/a.md", "content": "# Pumps\n\n## Seals\n\nReplace seals yearly."}
    await call("ingest", {"documents": [doc]})
    document = await call("get_document", {"source_uri": "wiki://llm/a.md", "include_chunks": True})
    [chunk] = document.structured_content["chunks"]
    assert chunk["header"] == "Pumps > Seals\nA scripted summary about 1."
    assert "Replace seals yearly." in models.chat_requests[0]["messages"][0]["content"]

    # the same text again, under a new version label: no new summary request
    await call("ingest", {"documents": [{**doc, "version": "v2"}]})
    assert len(models.chat_requests) == 1


async def test_a_failing_summary_model_fails_the_document_not_the_batch(kb):
    call, models = kb
    models.chat_status = 500
    result = await call("ingest", {"documents": [
        {"source_uri": "wiki://llm/b.md", "content": "Something new to summarise."}]})
    [failed] = result.structured_content["results"]
    assert failed["status"] == "failed"
    assert failed["error"]["error_category"] == "upstream_unavailable"


async def test_rerank_orders_the_fused_candidates(kb):
    call, models = kb
    await call("ingest", {"documents": [
        {"source_uri": "wiki://llm/r1.md", "content": "Gearbox oil grade for the press is ISO VG 220."},
        {"source_uri": "wiki://llm/r2.md", "content": "Gearbox oil: the preferred preferred supplier."},
    ]}, tenant="kb-rerank")
    found = await call("search", {"query": "gearbox oil grade", "k": 2}, tenant="kb-rerank")
    plain = await call("search", {"query": "gearbox oil grade", "k": 2, "rerank": False},
                       tenant="kb-rerank")

    hits = found.structured_content["hits"]
    assert found.structured_content["reranked"] is True
    assert [h["source_uri"] for h in hits][0] == "wiki://llm/r2.md"
    assert [h["ranks"]["rerank"] for h in hits] == [1, 2]
    assert plain.structured_content["reranked"] is False
    assert models.rerank_requests[0]["query"] == "gearbox oil grade"


def test_every_litellm_exception_maps_to_a_category():
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm.exceptions

    classes = [c for _, c in inspect.getmembers(litellm.exceptions, inspect.isclass)
               if issubclass(c, BaseException) and c.__module__.startswith("litellm")]
    assert classes
    assert {c.__name__: category_for(c) for c in classes if category_for(c) is None} == {}
    assert category_for(litellm.exceptions.Timeout) is UpstreamTimeout
    assert category_for(litellm.exceptions.RateLimitError) is UpstreamUnavailable
    assert category_for(KeyError) is None  # our own bugs stay internal

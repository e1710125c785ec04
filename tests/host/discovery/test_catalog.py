"""The catalog over the real servers' specs: search, policy filter, core tools, abstention, cache."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from fastmcp import Client
from pydantic import ValidationError

from host.discovery import (
    DiscoverySettings,
    SearchToolsInput,
    SearchToolsOutput,
    ToolCatalog,
    ToolDescriptor,
)
from mcp_servers.kit.definition import registered_servers

pytestmark = pytest.mark.anyio


async def test_every_registered_tool_is_in_the_catalog(catalog, specs):
    assert set(catalog.view(lambda name: True).names) == set(specs)
    assert {"memory.remember", "memory.recall"} <= set(specs)


@pytest.mark.parametrize(("query", "tool"), [
    ("remember that I prefer the weekly report as a table", "memory.remember"),
    ("what did I tell you about my table formatting preferences", "memory.recall"),
    ("erase everything you hold about me, GDPR", "memory.erase_user"),
])
async def test_a_plain_request_finds_its_tool(catalog, query, tool):
    result = await catalog.view(lambda name: True).search(query, 5)

    assert not result.no_suitable_tool
    assert tool in [match.tool.name for match in result.matches]
    scores = [match.score for match in result.matches]
    assert scores == sorted(scores, reverse=True)


async def test_a_tool_outside_the_allowed_set_is_never_ranked_even_by_its_exact_name(catalog):
    view = catalog.view(lambda name: name != "memory.forget")
    forget = next(d for d in catalog.tools if d.name == "memory.forget")

    for query in ("memory.forget", "forget", forget.description):
        result = await view.search(query, 50)
        ranked = {match.tool.name for match in result.candidates}
        assert "memory.forget" not in ranked
        assert ranked <= set(view.names)
    assert view.get("memory.forget") is None and view.get("memory.recall") is not None
    # Allowed, the same query finds it first: the filter, not the ranking, kept it out.
    found = await catalog.view(lambda name: True).search("memory.forget", 5)
    assert found.matches[0].tool.name == "memory.forget"


async def test_an_empty_allowed_set_finds_nothing(catalog):
    result = await catalog.view(lambda name: False).search("recall my memories", 5)
    assert result.no_suitable_tool and result.candidates == () and result.best_score is None


@pytest.mark.parametrize("query", [
    "asdf qwerty zxcv", "book me a flight to Munich next Tuesday", "tell me a joke",
    "play some relaxing music",
])
async def test_nonsense_and_out_of_scope_requests_get_no_suitable_tool(catalog, query):
    result = await catalog.view(lambda name: True).search(query, 5)

    assert result.no_suitable_tool
    assert result.best_score is not None and result.best_score < result.min_score
    answer = SearchToolsOutput.from_result(result)
    assert answer.no_suitable_tool and answer.tools == []
    assert "No suitable tool" in answer.message


async def test_the_answer_names_the_tools_to_call_next(catalog):
    result = await catalog.view(lambda name: True).search("recall what I said about scrap", 3)
    answer = SearchToolsOutput.from_result(result)

    assert not answer.no_suitable_tool and 1 <= len(answer.tools) <= 3
    assert [tool.name for tool in answer.tools] == [m.tool.name for m in result.matches]
    assert all(tool.name in answer.message for tool in answer.tools)
    assert all(tool.risk in {"read", "write_low", "write_high"} for tool in answer.tools)


def test_search_tools_input_is_strict():
    assert SearchToolsInput(query="create a purchase order").k is None
    for bad in ({"query": ""}, {"query": "x", "k": 0}, {"query": "x", "extra": 1}, {}):
        with pytest.raises(ValidationError):
            SearchToolsInput.model_validate(bad)


async def test_k_is_capped_by_the_settings(embedder, descriptors):
    catalog = await ToolCatalog.build(
        embedder, DiscoverySettings(_env_file=None, max_k=2, min_score=-1.0), descriptors)
    result = await catalog.view(lambda name: True).search("purchase order", 50)
    assert len(result.matches) == 2


async def test_core_tools_start_every_toolset_in_order_and_only_when_allowed(embedder, descriptors):
    settings = DiscoverySettings(
        _env_file=None, core_tools=["memory.recall", "memory.remember"],
        tenant_core_tools={"globex": ["memory.export_user"]})
    catalog = await ToolCatalog.build(embedder, settings, descriptors)

    everything = catalog.view(lambda name: True)
    assert everything.new_toolset("acme").names == ("memory.recall", "memory.remember")
    assert everything.new_toolset("globex").names == ("memory.export_user",)
    no_remember = catalog.view(lambda name: name != "memory.remember")
    assert no_remember.new_toolset("acme").names == ("memory.recall",)


def test_more_than_five_core_tools_are_refused():
    with pytest.raises(ValidationError, match="at most 5"):
        DiscoverySettings(_env_file=None, core_tools=[f"s.t{i}" for i in range(6)])
    with pytest.raises(ValidationError, match="globex lists 3"):
        DiscoverySettings(_env_file=None, max_core_tools=2,
                          tenant_core_tools={"globex": ["a.b", "a.c", "a.d"]}, core_tools=[])


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.embedded: list[str] = []

    @property
    def info(self):
        return self.embedder.info

    async def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded.extend(texts)
        return await self.embedder.embed_documents(texts)

    async def embed_query(self, text: str) -> np.ndarray:
        return await self.embedder.embed_query(text)


async def test_a_refresh_re_embeds_only_the_tools_that_changed(embedder, discovery_settings, descriptors):
    counting = CountingEmbedder(embedder)
    catalog = await ToolCatalog.build(counting, discovery_settings, descriptors)
    assert len(counting.embedded) == len(descriptors)
    memory = [d for d in descriptors if d.server == "memory"]

    counting.embedded.clear()
    await catalog.set_server_tools("memory", memory)  # list_changed, nothing changed
    assert counting.embedded == []

    changed = [ToolDescriptor(name=d.name, description=d.description + " Also handles notes.",
                              input_schema=d.input_schema, examples=d.examples, risk=d.risk)
               if d.name == "memory.recall" else d for d in memory]
    await catalog.set_server_tools("memory", changed)
    assert counting.embedded == [changed[[d.name for d in changed].index("memory.recall")].search_text]
    assert catalog.cache.stats.misses == len(descriptors) + 1

    await catalog.remove_server("memory")
    assert not any(d.server == "memory" for d in catalog.tools)
    assert len(catalog.cache) == len(descriptors) - len(memory)


async def test_a_view_keeps_its_snapshot_when_the_catalog_changes(catalog):
    view = catalog.view(lambda name: True)
    await catalog.remove_server("memory")

    assert "memory.recall" in view.names
    assert "memory.recall" in [m.tool.name for m in (await view.search("recall my memories", 3)).candidates]
    assert "memory.recall" not in catalog.view(lambda name: True).names


async def test_a_server_may_only_set_its_own_tools(catalog, descriptors):
    kb_tool = next(d for d in descriptors if d.server != "memory")
    with pytest.raises(ValueError, match="do not belong"):
        await catalog.set_server_tools("memory", [kb_tool])


async def test_a_tool_listed_over_mcp_describes_the_same_as_its_spec(settings, specs):
    server = registered_servers()["memory"].create(settings)
    async with Client(server.mcp) as client:
        listed = await client.list_tools()

    for tool in listed:
        over_the_wire = ToolDescriptor.from_mcp_tool(tool)
        in_process = ToolDescriptor.from_spec(specs[tool.name])
        assert over_the_wire.search_text == in_process.search_text
        assert over_the_wire.content_hash == in_process.content_hash
        assert over_the_wire.risk == in_process.risk
        assert over_the_wire.annotations == in_process.annotations

"""Search: what a hit carries, filtering inside the query, staleness and the cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mcp_servers.kit.spec import DataClass
from tests.kb import documents
from tests.kb.conftest import ingest

pytestmark = pytest.mark.anyio


async def test_a_hit_carries_everything_a_citation_needs(call):
    [doc] = await ingest(call, {"source_uri": "wiki://s/torque.md", "content": documents.MARKDOWN},
                         tenant="s-hit")
    found = await call("search", {"query": "torque for M8 bolts", "k": 2}, tenant="s-hit")
    hit = found.structured_content["hits"][0]

    assert hit["document_id"] == doc["document_id"]
    assert hit["title"] == "Torque handbook"
    assert hit["section_path"] == ["Torque handbook", "Line 4", "Bolts"]
    assert hit["source_uri"] == "wiki://s/torque.md"
    assert hit["ranks"]["dense"] >= 1 and hit["ranks"]["lexical"] >= 1
    assert hit["stale"] is False and hit["score"] > 0
    chunk = await call("get_chunk", {"chunk_id": hit["chunk_id"]}, tenant="s-hit")
    text = chunk.structured_content["chunk"]["text"]
    snippet = hit["snippet"]
    assert text[snippet["start"]:snippet["end"]] == snippet["text"]
    matched = {text[s["start"]:s["end"]].lower() for s in snippet["matches"]}
    assert {"torque", "m8", "bolts"} <= matched


async def test_modes_and_document_filter(call):
    a = await ingest(call, {"source_uri": "wiki://s/a.md", "content": "Hydraulic oil is changed yearly."},
                     tenant="s-modes")
    await ingest(call, {"source_uri": "wiki://s/b.md", "content": "Hydraulic hoses are checked monthly."},
                 tenant="s-modes")
    for mode in ("dense", "lexical", "hybrid"):
        found = await call("search", {"query": "hydraulic", "mode": mode}, tenant="s-modes")
        hits = found.structured_content["hits"]
        assert len(hits) == 2, mode
        assert all((h["ranks"]["dense"] is None) == (mode == "lexical") for h in hits)
        assert all((h["ranks"]["lexical"] is None) == (mode == "dense") for h in hits)
    only = await call("search", {"query": "hydraulic", "document_ids": [a[0]["document_id"]]},
                      tenant="s-modes")
    assert [h["source_uri"] for h in only.structured_content["hits"]] == ["wiki://s/a.md"]


async def test_clearance_filters_inside_the_query(call):
    await ingest(call, {"source_uri": "wiki://s/margin.md", "data_class": "III",
                        "content": "Supplier margin for part 4711 is 31 percent."},
                 tenant="s-clear", clearance=DataClass.III)
    for k in (1, 50):  # a filter applied after ranking would return nothing for k=1 only by luck
        hidden = await call("search", {"query": "supplier margin part 4711", "k": k},
                            tenant="s-clear", clearance=DataClass.II)
        assert hidden.structured_content["hits"] == []
    seen = await call("search", {"query": "supplier margin part 4711"}, tenant="s-clear",
                      clearance=DataClass.III)
    [hit] = seen.structured_content["hits"]
    as_ii = await call("get_chunk", {"chunk_id": hit["chunk_id"]}, tenant="s-clear")
    doc_ii = await call("get_document", {"document_id": hit["document_id"]}, tenant="s-clear")
    uri_ii = await call("get_document", {"source_uri": "wiki://s/margin.md"}, tenant="s-clear")
    assert {r.structured_content["error_category"] for r in (as_ii, doc_ii, uri_ii)} == {"not_found"}


async def test_other_tenants_see_nothing(call):
    [doc] = await ingest(call, {"source_uri": "wiki://s/vault.md", "content": "Vault code 9931."},
                         tenant="s-ten-a")
    found = await call("search", {"query": "vault code 9931"}, tenant="s-ten-b")
    chunk_a = await call("search", {"query": "vault code 9931"}, tenant="s-ten-a")
    chunk_id = chunk_a.structured_content["hits"][0]["chunk_id"]
    stolen = await call("get_chunk", {"chunk_id": chunk_id}, tenant="s-ten-b")
    stolen_doc = await call("get_document", {"document_id": doc["document_id"]}, tenant="s-ten-b")
    deleted = await call("delete", {"document_ids": [doc["document_id"]]}, tenant="s-ten-b",
                         roles=("admin",))

    assert found.structured_content["hits"] == []
    assert stolen.structured_content["error_category"] == "not_found"
    assert stolen_doc.structured_content["error_category"] == "not_found"
    assert deleted.structured_content["error_category"] == "not_found"


async def test_stale_chunks_are_flagged_and_can_be_excluded(call):
    old = (datetime.now(UTC) - timedelta(days=400)).isoformat()
    await ingest(call, {"source_uri": "wiki://s/old.md", "content": "Press P-7 lubrication: weekly.",
                        "fresh_as_of": old, "max_age_days": 365}, tenant="s-stale")
    await ingest(call, {"source_uri": "wiki://s/new.md", "content": "Press P-7 lubrication: daily.",
                        "max_age_days": 365}, tenant="s-stale")
    found = await call("search", {"query": "press P-7 lubrication"}, tenant="s-stale")
    fresh_only = await call("search", {"query": "press P-7 lubrication", "include_stale": False},
                            tenant="s-stale")

    stale = {h["source_uri"]: h["stale"] for h in found.structured_content["hits"]}
    assert stale == {"wiki://s/old.md": True, "wiki://s/new.md": False}
    assert [h["source_uri"] for h in fresh_only.structured_content["hits"]] == ["wiki://s/new.md"]
    doc = await call("get_document", {"source_uri": "wiki://s/old.md"}, tenant="s-stale")
    assert doc.structured_content["document"]["stale"] is True


async def test_the_cache_serves_repeats_and_any_change_invalidates_it(call):
    await ingest(call, {"source_uri": "wiki://s/c1.md", "content": "Forklift batteries charge overnight."},
                 tenant="s-cache")
    first = await call("search", {"query": "forklift battery"}, tenant="s-cache")
    repeat = await call("search", {"query": "  Forklift   BATTERY "}, tenant="s-cache")
    other_tenant = await call("search", {"query": "forklift battery"}, tenant="s-cache-2")
    await ingest(call, {"source_uri": "wiki://s/c2.md", "content": "Forklift battery swap takes 5 minutes."},
                 tenant="s-cache")
    after = await call("search", {"query": "forklift battery"}, tenant="s-cache")

    assert (first.structured_content["cached"], repeat.structured_content["cached"]) == (False, True)
    assert repeat.structured_content["hits"] == first.structured_content["hits"]
    assert other_tenant.structured_content["cached"] is False
    assert after.structured_content["cached"] is False
    assert after.structured_content["kb_version"] > first.structured_content["kb_version"]
    assert len(after.structured_content["hits"]) == 2
    await call("delete", {"source_uris": ["wiki://s/c2.md"]}, tenant="s-cache")
    deleted = await call("search", {"query": "forklift battery"}, tenant="s-cache")
    assert deleted.structured_content["cached"] is False
    assert len(deleted.structured_content["hits"]) == 1


async def test_the_cache_is_keyed_by_clearance(call):
    await ingest(call, {"source_uri": "wiki://s/k3.md", "data_class": "III",
                        "content": "Bonus pool is 2 million."}, tenant="s-cache-cl",
                 clearance=DataClass.III)
    high = await call("search", {"query": "bonus pool"}, tenant="s-cache-cl", clearance=DataClass.III)
    low = await call("search", {"query": "bonus pool"}, tenant="s-cache-cl", clearance=DataClass.II)
    assert len(high.structured_content["hits"]) == 1
    assert low.structured_content["hits"] == [] and low.structured_content["cached"] is False


async def test_get_chunk_with_neighbours(call):
    [doc] = await ingest(call, {"source_uri": "wiki://s/seq.md", "content": "\n\n".join(
        f"## Step {n}\n\nDo step {n}." for n in range(5))}, tenant="s-nb")
    full = await call("get_document", {"document_id": doc["document_id"], "include_chunks": True},
                      tenant="s-nb")
    middle = full.structured_content["chunks"][2]
    around = await call("get_chunk", {"chunk_id": middle["chunk_id"], "neighbours": 1}, tenant="s-nb")
    assert [c["ordinal"] for c in around.structured_content["context"]] == [1, 3]


async def test_a_query_of_stop_words_only_finds_nothing_lexically_but_still_by_meaning(call):
    await ingest(call, {"source_uri": "wiki://s/stop.md", "content": "Welding helmets hang in bay 3."},
                 tenant="s-stop")
    lexical = await call("search", {"query": "what is the", "mode": "lexical"}, tenant="s-stop")
    hybrid = await call("search", {"query": "what is the"}, tenant="s-stop")
    assert lexical.structured_content["hits"] == []
    assert [h["ranks"]["lexical"] for h in hybrid.structured_content["hits"]] == [None]

"""remember and recall: storing, ranking, merging near-duplicates, filters, clearance."""

from __future__ import annotations

import pytest

from mcp_servers.kit.spec import DataClass

pytestmark = pytest.mark.anyio


async def test_recall_finds_what_was_remembered(call):
    stored = await call("remember", {"content": "Plant 1000 reports scrap in kilograms."},
                        user="recall-1")
    assert not stored.is_error, stored.structured_content
    await call("remember", {"content": "The canteen opens at seven."}, user="recall-1")

    found = await call("recall", {"query": "how does plant 1000 report scrap", "k": 1},
                       user="recall-1")

    assert not found.is_error
    memories = found.structured_content["memories"]
    assert [m["id"] for m in memories] == [stored.structured_content["id"]]
    assert memories[0]["content"] == "Plant 1000 reports scrap in kilograms."
    assert found.structured_content["embedding_model"] == "wordllama-l2-supercat-256"


async def test_near_duplicate_is_merged_not_stored_twice(call):
    first = await call("remember", {"content": "Line 4 runs three shifts.", "importance": 0.3},
                       user="dedupe")
    second = await call("remember", {"content": "Line 4 runs three shifts", "importance": 0.9},
                        user="dedupe")

    assert second.structured_content == {"id": first.structured_content["id"], "merged": True,
                                         "kind": "FACT"}
    export = await call("export_user", {}, user="dedupe")
    memories = export.structured_content["memories"]
    assert len(memories) == 1
    assert memories[0]["content"] == "Line 4 runs three shifts"  # the newer wording wins
    assert memories[0]["importance"] == pytest.approx(0.9)


async def test_distinct_statements_are_not_merged(call):
    a = await call("remember", {"content": "I prefer tea in meetings.", "kind": "PREFERENCE"},
                   user="distinct")
    b = await call("remember", {"content": "I prefer coffee in meetings.", "kind": "PREFERENCE"},
                   user="distinct")
    assert not b.structured_content["merged"]
    assert a.structured_content["id"] != b.structured_content["id"]


async def test_recall_filters_by_kind_and_tag(call):
    await call("remember", {"content": "Buyer Sam handles steel orders.", "kind": "FACT",
                            "tags": ["purchasing"]}, user="filters")
    await call("remember", {"content": "Wants steel order summaries as tables.",
                            "kind": "PREFERENCE", "tags": ["reporting"]}, user="filters")

    prefs = await call("recall", {"query": "steel orders", "kinds": ["PREFERENCE"],
                                  "min_similarity": -1}, user="filters")
    tagged = await call("recall", {"query": "steel orders", "tags": ["purchasing"],
                                   "min_similarity": -1}, user="filters")

    assert {m["kind"] for m in prefs.structured_content["memories"]} == {"PREFERENCE"}
    assert [m["tags"] for m in tagged.structured_content["memories"]] == [["purchasing"]]


async def test_recall_never_returns_what_the_caller_is_not_cleared_for(call):
    await call("remember", {"content": "Supplier margin for part 4711 is 31 percent.",
                            "data_class": "III"}, user="clear", clearance=DataClass.III)

    cleared = await call("recall", {"query": "supplier margin part 4711", "min_similarity": -1},
                         user="clear", clearance=DataClass.III)
    uncleared = await call("recall", {"query": "supplier margin part 4711", "min_similarity": -1},
                           user="clear", clearance=DataClass.II)

    assert len(cleared.structured_content["memories"]) == 1
    assert uncleared.structured_content["memories"] == []


async def test_storing_above_clearance_is_forbidden_and_stores_nothing(call):
    refused = await call("remember", {"content": "Top secret plan.", "data_class": "IV"},
                         user="above", clearance=DataClass.II)

    assert refused.is_error
    assert refused.structured_content["error_category"] == "forbidden"
    export = await call("export_user", {}, user="above")
    assert export.structured_content["memories"] == []


async def test_memories_are_private_to_their_user(call):
    await call("remember", {"content": "My locker code is 4711."}, user="owner")
    other = await call("recall", {"query": "locker code", "min_similarity": -1}, user="someone-else")
    assert other.structured_content["memories"] == []


async def test_recency_decay_lets_fresh_context_fade_behind_facts(call, database):
    context = await call("remember", {"content": "Reviewing scrap rates of line 4 today.",
                                      "kind": "CONTEXT"}, user="decay")
    fact = await call("remember", {"content": "Scrap rates of line 4 are reviewed monthly.",
                                   "kind": "FACT"}, user="decay")
    with database.admin() as conn:  # ten days pass
        conn.execute("UPDATE memories SET last_accessed_at = now() - interval '10 days', "
                     "created_at = now() - interval '10 days' WHERE user_id = 'decay'")

    found = await call("recall", {"query": "line 4 scrap rates", "min_similarity": -1},
                       user="decay")

    ranked = [m["id"] for m in found.structured_content["memories"]]
    assert ranked.index(fact.structured_content["id"]) < ranked.index(context.structured_content["id"])


async def test_expired_memories_are_not_recalled(call, database):
    stored = await call("remember", {"content": "Temporary badge 99 is valid.", "ttl_s": 60},
                        user="ttl")
    with database.admin() as conn:
        conn.execute("UPDATE memories SET expires_at = now() - interval '1 second' WHERE id = %s",
                     (stored.structured_content["id"],))

    found = await call("recall", {"query": "temporary badge", "min_similarity": -1}, user="ttl")
    assert found.structured_content["memories"] == []


async def test_recall_records_access(call, database):
    stored = await call("remember", {"content": "Gate 3 closes at ten."}, user="access")
    await call("recall", {"query": "when does gate 3 close", "min_similarity": -1}, user="access")
    with database.admin() as conn:
        (count,) = conn.execute("SELECT access_count FROM memories WHERE id = %s",
                                (stored.structured_content["id"],)).fetchone()
    assert count == 1


async def test_statements_that_differ_only_in_a_number_are_not_merged(call):
    a = await call("remember", {"content": "Order 4711 is late."}, user="numbers")
    b = await call("remember", {"content": "Order 4712 is late."}, user="numbers")
    assert not b.structured_content["merged"]
    assert a.structured_content["id"] != b.structured_content["id"]

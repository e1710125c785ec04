"""citations.attribute and citations.verify_quote against real kb chunks and registered sources."""

from __future__ import annotations

import pytest

from mcp_servers.kit.spec import DataClass
from tests.citations.conftest import chunk_ids

pytestmark = pytest.mark.anyio

HANDBOOK = ("# Torque handbook\n\n## Line 4\n\nM8 bolts on line 4 are tightened to 25 Nm. "
            "A calibrated wrench must be used for every bolt.\n\n"
            "## Line 5\n\nLine 5 joins its panels with blind rivets.")


async def test_each_claim_is_mapped_to_an_exact_supporting_quote(call):
    ids = await chunk_ids(call, "wiki://cite/torque.md", HANDBOOK)
    answer = ("M8 bolts on line 4 are tightened to 25 Nm [1]. Line 5 uses blind rivets for its "
              "panels. The canteen serves lunch at noon.")
    result = await call("citations.attribute", {"answer": answer, "chunk_ids": ids})
    out = result.structured_content

    assert not result.is_error, out
    assert [c["supported"] for c in out["claims"]] == [True, True, False]
    assert out["unsupported"] == ["The canteen serves lunch at noon."]
    assert out["coverage"] == pytest.approx(2 / 3, abs=1e-3)
    first = out["claims"][0]
    assert answer[first["start"]:first["end"]] == first["text"]
    support = first["support"][0]
    chunk = await call("kb.get_chunk", {"chunk_id": support["chunk_id"]})
    text = chunk.structured_content["chunk"]["text"]
    assert text[support["start"]:support["end"]] == support["quote"]
    assert support["quote"] == "M8 bolts on line 4 are tightened to 25 Nm."


async def test_a_claim_with_a_wrong_number_is_unsupported(call):
    ids = await chunk_ids(call, "wiki://cite/torque.md", HANDBOOK)
    result = await call("citations.attribute",
                        {"answer": "M8 bolts on line 4 are tightened to 30 Nm.", "chunk_ids": ids})
    assert result.structured_content["unsupported"] == ["M8 bolts on line 4 are tightened to 30 Nm."]


async def test_verify_quote_exact_normalised_and_missing(call):
    [chunk] = await chunk_ids(call, "wiki://cite/quote.md",
                              "Keep the “guard” closed while the spindle turns.")
    exact = await call("citations.verify_quote", {"chunk_id": chunk, "quote": "spindle turns"})
    loose = await call("citations.verify_quote",
                       {"chunk_id": chunk, "quote": 'KEEP  the "guard"\nclosed'})
    wrong = await call("citations.verify_quote",
                       {"chunk_id": chunk, "quote": "keep the door open"})

    assert (exact.structured_content["found"], exact.structured_content["exact"]) == (True, True)
    assert loose.structured_content["found"] and not loose.structured_content["exact"]
    assert loose.structured_content["matched_text"] == "Keep the “guard” closed"
    assert wrong.structured_content["found"] is False
    assert 0 < wrong.structured_content["similarity"] < 1


async def test_registered_sources_can_be_cited(call):
    added = await call("citations.add_source", {"source_id": "sap:po/4500012345",
                                                "text": "PO 4500012345 ships on Friday with 40 pallets."})
    result = await call("citations.attribute", {"answer": "Order 4500012345 ships on Friday.",
                                                "chunk_ids": ["sap:po/4500012345", "sap:po/missing"]})
    assert added.structured_content == {"source_id": "sap:po/4500012345", "replaced": False}
    assert result.structured_content["claims"][0]["supported"]
    assert result.structured_content["unknown_chunk_ids"] == ["sap:po/missing"]


async def test_chunks_of_other_tenants_and_above_clearance_are_unknown(call):
    [chunk] = await chunk_ids(call, "wiki://cite/secret.md", "The supplier margin is 31 percent.",
                              tenant="cite-a")
    other = await call("citations.verify_quote", {"chunk_id": chunk, "quote": "31 percent"},
                       tenant="cite-b")
    assert other.structured_content["error_category"] == "not_found"
    await call("kb.ingest", {"documents": [{"source_uri": "wiki://cite/iii.md", "data_class": "III",
                                            "content": "Bonus pool is 2 million."}]},
               tenant="cite-a", clearance=DataClass.III)
    doc = await call("kb.get_document", {"source_uri": "wiki://cite/iii.md", "include_chunks": True},
                     tenant="cite-a", clearance=DataClass.III)
    [iii] = [c["chunk_id"] for c in doc.structured_content["chunks"]]
    low = await call("citations.attribute", {"answer": "The bonus pool is 2 million.",
                                             "chunk_ids": [iii]}, tenant="cite-a")
    assert low.structured_content["error_category"] == "not_found"
    high = await call("citations.attribute", {"answer": "The bonus pool is 2 million.",
                                              "chunk_ids": [iii]}, tenant="cite-a",
                      clearance=DataClass.III)
    assert high.structured_content["claims"][0]["supported"]

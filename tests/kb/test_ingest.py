"""Ingestion: atomic replacement, unchanged content, deletion, bad files, class IV, ownership."""

from __future__ import annotations

import anyio
import pytest

from mcp_servers.kb.settings import KbSettings
from mcp_servers.kit.spec import DataClass
from tests.kb import documents
from tests.kb.conftest import b64, ingest

pytestmark = pytest.mark.anyio


def version_doc(word: str, sections: int = 6) -> str:
    return "# Manual\n\n" + "\n\n".join(
        f"## Part {n}\n\n{word} instruction {n} for the press." for n in range(sections))


async def test_reingesting_a_changed_document_replaces_its_chunks(call, database):
    first = await ingest(call, {"source_uri": "wiki://ing/manual.md", "content": version_doc("alpha")},
                         tenant="ing")
    second = await ingest(call, {"source_uri": "wiki://ing/manual.md", "content": version_doc("beta")},
                          tenant="ing")

    assert (first[0]["status"], second[0]["status"]) == ("created", "replaced")
    assert first[0]["document_id"] == second[0]["document_id"]
    found = await call("search", {"query": "alpha", "mode": "lexical"}, tenant="ing")
    assert found.structured_content["hits"] == []
    with database.admin() as conn:
        texts = [r[0] for r in conn.execute(
            "SELECT text FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id "
            "WHERE d.source_uri = 'wiki://ing/manual.md'")]
    assert len(texts) == 6 and all("beta" in t for t in texts)


async def test_unchanged_content_is_not_ingested_again(call):
    doc = {"source_uri": "wiki://ing/same.md", "content": "# Same\n\nNothing changes here."}
    first = await call("ingest", {"documents": [doc]}, tenant="ing-same")
    again = await call("ingest", {"documents": [doc]}, tenant="ing-same")

    assert again.structured_content["results"][0]["status"] == "unchanged"
    assert again.structured_content["kb_version"] == first.structured_content["kb_version"]


async def test_readers_never_see_a_half_replaced_document(call):
    uri = "wiki://ing/swap.md"
    await ingest(call, {"source_uri": uri, "content": version_doc("alpha", 20)}, tenant="swap")
    seen: list[set[str]] = []

    async def writer() -> None:
        for n in range(6):
            word = "beta" if n % 2 == 0 else "alpha"
            await ingest(call, {"source_uri": uri, "content": version_doc(word, 20)}, tenant="swap")

    async def reader(done: anyio.Event) -> None:
        while not done.is_set():
            result = await call("get_document", {"source_uri": uri, "include_chunks": True},
                                tenant="swap")
            chunks = result.structured_content["chunks"]
            seen.append({c["text"].split()[0] for c in chunks})
            assert len(chunks) == 20

    done = anyio.Event()
    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            group.start_soon(reader, done)
            await writer()
            done.set()
    assert seen and all(len(words) == 1 for words in seen)  # never alpha and beta at once


async def test_delete_removes_the_document_its_chunks_and_vectors(call, database):
    [created] = await ingest(call, {"source_uri": "wiki://ing/gone.md",
                                    "content": "# Gone\n\nA document about zirconium."},
                             tenant="ing-del")
    deleted = await call("delete", {"source_uris": ["wiki://ing/gone.md", "wiki://ing/never.md"]},
                         tenant="ing-del")

    assert deleted.structured_content["deleted"] == [created["document_id"]]
    assert deleted.structured_content["not_found"] == ["wiki://ing/never.md"]
    with database.admin() as conn:
        left = conn.execute("SELECT count(*) FROM kb_chunks WHERE document_id = %s",
                            (created["document_id"],)).fetchone()[0]
        terms = conn.execute("SELECT count(*) FROM kb_terms WHERE tenant_id = 'ing-del' "
                             "AND lexeme = 'zirconium'").fetchone()[0]
    assert (left, terms) == (0, 0)
    found = await call("search", {"query": "zirconium"}, tenant="ing-del")
    assert found.structured_content["hits"] == []
    again = await call("delete", {"source_uris": ["wiki://ing/gone.md"]}, tenant="ing-del")
    assert again.structured_content["error_category"] == "not_found"


async def test_bad_files_fail_alone_with_validation_errors_and_leave_no_rows(call, database):
    good = {"source_uri": "wiki://bad/good.md", "content": "# Good\n\nThis one is fine."}
    bad = [
        {"source_uri": "dms://bad/corrupt.pdf", "content_base64": b64(b"%PDF-1.7\n garbage \x00\x01")},
        {"source_uri": "dms://bad/truncated.pdf",
         "content_base64": b64(documents.pdf(["Some text."])[:300])},
        {"source_uri": "dms://bad/empty.txt", "content": "   \n"},
        {"source_uri": "dms://bad/mystery.bin", "content_base64": b64(b"\x89PNG\r\n\x1a\n")},
        {"source_uri": "dms://bad/big.txt", "content": "x" * 5000},
        {"source_uri": "dms://bad/notbase64.pdf", "content_base64": "***"},
        {"source_uri": "dms://bad/broken.docx", "content_base64": b64(b"PK\x03\x04 not a zip")},
        {"source_uri": "dms://bad/latin1.txt", "content_base64": b64("Gr\xfc\xdfe".encode("latin-1"))},
    ]
    result = await call("ingest", {"documents": [bad[0], good, *bad[1:]]}, tenant="bad",
                        clearance=DataClass.II)
    results = result.structured_content["results"]

    assert not result.is_error
    assert results[1]["status"] == "created"
    failed = [results[0], *results[2:]]
    assert [r["status"] for r in failed] == ["failed"] * len(bad)
    assert {r["error"]["error_category"] for r in failed} == {"validation"}
    assert all(r["error"]["human_message"] and "Traceback" not in r["error"]["human_message"]
               for r in failed)
    with database.admin() as conn:
        uris = [r[0] for r in conn.execute(
            "SELECT source_uri FROM kb_documents WHERE tenant_id = 'bad'")]
    assert uris == ["wiki://bad/good.md"]


@pytest.fixture
def kb_settings() -> KbSettings:
    return KbSettings(_env_file=None, max_file_bytes=4000)


async def test_class_iv_is_refused_unless_preapproved(call):
    doc = {"source_uri": "wiki://iv/secret.md", "content": "Merger plan.", "data_class": "IV"}
    result = await call("ingest", {"documents": [doc]}, tenant="iv", clearance=DataClass.IV)
    assert result.structured_content["results"][0]["error"]["error_category"] == "policy_denied"


async def test_ingesting_above_clearance_is_forbidden(call):
    doc = {"source_uri": "wiki://iv/margins.md", "content": "Margins.", "data_class": "III"}
    result = await call("ingest", {"documents": [doc]}, tenant="iv", clearance=DataClass.II)
    assert result.structured_content["results"][0]["error"]["error_category"] == "forbidden"


async def test_only_the_owner_or_an_admin_may_replace_a_document(call):
    doc = {"source_uri": "wiki://own/sop.md", "content": "# SOP\n\nVersion one."}
    await ingest(call, doc, tenant="own", user="ann")
    changed = {**doc, "content": "# SOP\n\nVersion two."}
    other = await call("ingest", {"documents": [changed]}, tenant="own", user="bob")
    admin = await call("ingest", {"documents": [changed]}, tenant="own", user="bob", roles=("admin",))

    assert other.structured_content["results"][0]["error"]["error_category"] == "forbidden"
    assert admin.structured_content["results"][0]["status"] == "replaced"
    gone = await call("delete", {"source_uris": ["wiki://own/sop.md"]}, tenant="own", user="carl")
    assert gone.structured_content["error_category"] == "forbidden"

"""Every format is read along its structure: headings become section paths, tables stay whole."""

from __future__ import annotations

import pytest

from tests.kb import documents
from tests.kb.conftest import b64, ingest

pytestmark = pytest.mark.anyio


async def _chunks(call, source_uri: str, **identity) -> tuple[dict, list[dict]]:
    result = await call("get_document", {"source_uri": source_uri, "include_chunks": True},
                        **identity)
    assert not result.is_error, result.structured_content
    return result.structured_content["document"], result.structured_content["chunks"]


async def test_markdown_headings_become_section_paths_and_tables_stay_whole(call):
    [result] = await ingest(call, {"source_uri": "wiki://fmt/torque.md",
                                   "content": documents.MARKDOWN}, tenant="fmt")
    assert result["status"] == "created"
    document, chunks = await _chunks(call, "wiki://fmt/torque.md", tenant="fmt")

    assert document["title"] == "Torque handbook"
    assert document["media_type"] == "text/markdown"
    paths = [c["section_path"] for c in chunks]
    assert ["Torque handbook", "Line 4", "Bolts"] in paths
    assert ["Torque handbook", "Line 5"] in paths
    bolts = next(c for c in chunks if c["section_path"][-1] == "Bolts")
    assert "Bolt | Torque\nM6 | 10 Nm\nM8 | 25 Nm" in bolts["text"]  # the table, whole
    assert bolts["header"] == "Torque handbook > Line 4 > Bolts"


async def test_html_skips_scripts_and_navigation(call):
    await ingest(call, {"source_uri": "https://intranet/coolant.html", "content": documents.HTML},
                 tenant="fmt")
    document, chunks = await _chunks(call, "https://intranet/coolant.html", tenant="fmt")
    text = "\n".join(c["text"] for c in chunks)

    assert document["title"] == "Coolant handbook"
    assert "do not index" not in text and "Home | About" not in text
    assert "Machine | Max pH\nM-101 | 9.2\nM-102 | 9.4" in text
    assert "- Check the level every shift." in text
    assert ["Coolant handbook", "Mixing"] in [c["section_path"] for c in chunks]


async def test_plain_text_paragraphs(call):
    await ingest(call, {"source_uri": "file://notes/shift-notes.txt",
                        "content": "First paragraph\nwraps here.\n\nSecond paragraph."},
                 tenant="fmt")
    document, chunks = await _chunks(call, "file://notes/shift-notes.txt", tenant="fmt")
    assert document["title"] == "shift notes"  # from the file name
    assert chunks[0]["text"] == "First paragraph wraps here.\n\nSecond paragraph."


async def test_pdf_pages_become_sections(call):
    data = documents.pdf(["Spindle maintenance: grease every 500 hours.",
                          "Bearing replacement needs two technicians."], title="Spindle guide")
    await ingest(call, {"source_uri": "dms://guides/spindle.pdf", "content_base64": b64(data)},
                 tenant="fmt")
    document, chunks = await _chunks(call, "dms://guides/spindle.pdf", tenant="fmt")

    assert document["title"] == "Spindle guide"
    assert document["media_type"] == "application/pdf"
    assert [c["section_path"] for c in chunks] == [["Page 1"], ["Page 2"]]
    assert "grease every 500 hours" in chunks[0]["text"]


async def test_docx_headings_and_tables(call):
    data = documents.docx("Calibration procedure",
                          [("Scope", "Applies to torque wrenches in hall 3."),
                           ("Interval", "Calibrate every 12 months.")],
                          table=[["Tool", "Interval"], ["TW-1", "12 months"]])
    await ingest(call, {"source_uri": "dms://qm/calibration.docx", "content_base64": b64(data)},
                 tenant="fmt")
    document, chunks = await _chunks(call, "dms://qm/calibration.docx", tenant="fmt")

    assert document["title"] == "Calibration procedure"
    by_section = {c["section_path"][-1]: c["text"] for c in chunks}
    assert by_section["Scope"] == "Applies to torque wrenches in hall 3."
    assert "Calibrate every 12 months." in by_section["Interval"]
    assert "Tool | Interval\nTW-1 | 12 months" in by_section["Interval"]


async def test_search_finds_each_format(call):
    found = await call("search", {"query": "how often to grease the spindle", "k": 3},
                       tenant="fmt")
    assert found.structured_content["hits"][0]["source_uri"] == "dms://guides/spindle.pdf"

"""Chunking rules, without a database."""

from mcp_servers.kb.chunking import chunk_document, contextual_header
from mcp_servers.kb.parsing import Block, Parsed


def test_paragraphs_of_a_section_are_packed_and_headings_split():
    parsed = Parsed("T", [Block("heading", "A", 1), Block("text", "one"), Block("text", "two"),
                          Block("heading", "B", 2), Block("text", "three")])
    chunks = chunk_document(parsed, 200)
    assert [(c.section_path, c.text) for c in chunks] == [(("A",), "one\n\ntwo"),
                                                          (("A", "B"), "three")]


def test_a_table_too_long_is_split_by_rows_with_its_header_repeated():
    rows = "\n".join(f"M-{n:03d} | {n} Nm" for n in range(60))
    chunks = chunk_document(Parsed(None, [Block("table", "Machine | Torque\n" + rows)]), 300)
    assert len(chunks) > 1
    assert all(c.text.startswith("Machine | Torque\n") and len(c.text) <= 300 for c in chunks)
    body = [line for c in chunks for line in c.text.split("\n")[1:]]
    assert body == rows.split("\n")  # every row once, in order


def test_an_overlong_paragraph_is_split_at_sentence_ends():
    text = " ".join(f"Sentence number {n} is here." for n in range(100))
    chunks = chunk_document(Parsed(None, [Block("text", text)]), 250)
    assert all(len(c.text) <= 250 and c.text.endswith(".") for c in chunks)
    assert " ".join(c.text for c in chunks) == text


def test_header_is_title_section_path_and_summary():
    assert contextual_header("Handbook", ("Handbook", "Line 4"), None) == "Handbook > Line 4"
    assert contextual_header("H", ("S",), " Says what. ") == "H > S\nSays what."

"""`RunToolset` keeps a stable prefix; the lexical index and descriptors behave as documented."""

from __future__ import annotations

import numpy as np
import pytest

from host.discovery import RunToolset, ToolDescriptor
from host.discovery.descriptor import words
from host.discovery.lexical import Bm25Index, tokenize


def tool(name: str, description: str = "does something useful for the test") -> ToolDescriptor:
    return ToolDescriptor(name=name, description=description)


def test_core_tools_come_first_and_discovered_tools_are_appended_in_order():
    toolset = RunToolset([tool("memory.recall"), tool("kb.search")])
    before = toolset.names

    assert [t.name for t in toolset.add([tool("sap.get_stock"), tool("kb.search")])] == ["sap.get_stock"]
    assert toolset.add([tool("mes.get_machine_status"), tool("sap.get_stock"), tool("a.b")]) == [
        tool("mes.get_machine_status"), tool("a.b")]
    assert toolset.add([tool("memory.recall")]) == []

    assert toolset.names == ("memory.recall", "kb.search", "sap.get_stock",
                             "mes.get_machine_status", "a.b")
    assert toolset.names[: len(before)] == before
    assert [t.name for t in toolset.core] == ["memory.recall", "kb.search"]
    assert [t.name for t in toolset.discovered] == ["sap.get_stock", "mes.get_machine_status", "a.b"]
    assert "sap.get_stock" in toolset and "sql.query" not in toolset and len(toolset) == 5


def test_the_version_names_the_exact_list():
    first, second = RunToolset([tool("memory.recall")]), RunToolset([tool("memory.recall")])
    assert first.version == second.version
    first.add([tool("kb.search")])
    assert first.version != second.version
    second.add([tool("kb.search")])
    assert first.version == second.version
    third = RunToolset([tool("kb.search"), tool("memory.recall")])
    assert third.version != first.version


def test_duplicate_core_tools_count_once():
    toolset = RunToolset([tool("memory.recall"), tool("memory.recall")])
    assert toolset.names == ("memory.recall",) and toolset.core_count == 1


def test_identifiers_are_split_and_words_are_stemmed():
    assert words("exportUser") == "export User"
    assert words("PDF&URLTool") == "PDF URL Tool"
    assert tokenize("listPurchaseOrders of the plant") == ["list", "purchas", "order", "plant"]
    assert tokenize("ordering") == tokenize("orders")


def test_bm25_scores_only_the_rows_it_is_asked_about():
    index = Bm25Index([tokenize("purchase order create"), tokenize("machine status"),
                       tokenize("purchase order list")])
    rows = np.array([1, 2])
    scores = index.normalized_scores(tokenize("create purchase order"), rows)

    assert scores.shape == (2,)
    assert scores[0] == 0 and 0 < scores[1] < 1
    full = index.normalized_scores(tokenize("create purchase order"), np.arange(3))
    assert full[0] > full[2] > full[1] == 0


def test_an_unknown_word_lowers_the_normalized_score():
    index = Bm25Index([tokenize("purchase order create"), tokenize("machine status")])
    rows = np.arange(2)
    plain = index.normalized_scores(tokenize("purchase order"), rows)[0]
    padded = index.normalized_scores(tokenize("purchase order zebra"), rows)[0]
    assert 0 < padded < plain


def test_a_descriptor_needs_a_namespaced_name_and_a_description():
    with pytest.raises(ValueError):
        ToolDescriptor(name="search", description="finds things")
    with pytest.raises(ValueError):
        ToolDescriptor(name="kb.search", description="  ")


def test_example_values_and_queries_are_searched_but_ids_are_not():
    descriptor = ToolDescriptor(
        name="sap.get_stock", description="Current inventory by plant.",
        input_schema={"properties": {"material": {"description": "Material number."}}},
        examples=({"material": "RM-100", "order": "0b9f6a52-3f55-4c4b-9d8e-2f1a7f0c1e11"},),
        example_queries=("how many bearings are in stock",))
    text = descriptor.search_text
    assert "get stock (sap)." in text and "material: Material number." in text
    assert "RM-100" in text and "how many bearings are in stock" in text
    assert "0b9f6a52" not in text

"""The citations server's tool contracts."""

from __future__ import annotations

from mcp_servers.citations import models as m
from mcp_servers.kit.errors import ErrorCategory as E
from mcp_servers.kit.spec import DataClass, Risk, ToolSpec

UPSTREAM = frozenset({E.UPSTREAM_UNAVAILABLE, E.UPSTREAM_TIMEOUT})

ATTRIBUTE = ToolSpec(
    name="citations.attribute",
    title="Attribute an answer",
    description=(
        "Split an answer into claims and find, for each, the exact passages of the cited kb "
        "chunks (or registered sources) that support it. Returns per-claim support with exact "
        "quotes and offsets, and the list of unsupported claims. Use it before giving a "
        "grounded answer."
    ),
    input_model=m.AttributeInput,
    output_model=m.AttributeOutput,
    examples=(
        {"answer": "M8 bolts on line 4 are tightened to 25 Nm.",
         "chunk_ids": ["0b9f6a52-3f55-4c4b-9d8e-2f1a7f0c1e11"]},
        {"answer": "Order 4500012345 ships on Friday. It carries 40 pallets.",
         "chunk_ids": ["sap:po/4500012345"]},
    ),
    errors=frozenset({E.NOT_FOUND}) | UPSTREAM,
    risk=Risk.READ,
    data_class=DataClass.IV,
)

VERIFY_QUOTE = ToolSpec(
    name="citations.verify_quote",
    title="Verify a quote",
    description=(
        "Check that a quoted string really occurs in the cited kb chunk (or registered "
        "source): exactly, or up to case, whitespace and quote marks. Returns where it occurs, "
        "or the closest passage when it does not."
    ),
    input_model=m.VerifyQuoteInput,
    output_model=m.VerifyQuoteOutput,
    examples=(
        {"chunk_id": "0b9f6a52-3f55-4c4b-9d8e-2f1a7f0c1e11", "quote": "tightened to 25 Nm"},
        {"chunk_id": "sap:po/4500012345", "quote": "40 pallets"},
    ),
    errors=frozenset({E.NOT_FOUND}) | UPSTREAM,
    risk=Risk.READ,
    data_class=DataClass.IV,
)

ADD_SOURCE = ToolSpec(
    name="citations.add_source",
    title="Register a citable source",
    description=(
        "Register a text that is not in the knowledge base (e.g. a tool result such as an SAP "
        "order) under an id of your choice, so answers built on it can be attributed and "
        "quotes from it verified. Adding the same id again replaces the text."
    ),
    input_model=m.AddSourceInput,
    output_model=m.AddSourceOutput,
    examples=(
        {"source_id": "sap:po/4500012345", "text": "PO 4500012345: 40 pallets, ships Friday.",
         "label": "SAP purchase order 4500012345"},
        {"source_id": "mes:M-101/2026-11-20", "text": "M-101 scrap rate 2.1 %.", "data_class": "I"},
    ),
    errors=frozenset({E.FORBIDDEN}) | UPSTREAM,
    risk=Risk.WRITE_LOW,
    idempotent=True,
    data_class=DataClass.I,
)

ALL = (ATTRIBUTE, VERIFY_QUOTE, ADD_SOURCE)

"""The kb server's tool contracts."""

from __future__ import annotations

from mcp_servers.kb import models as m
from mcp_servers.kit.errors import ErrorCategory as E
from mcp_servers.kit.spec import DataClass, Risk, ToolSpec

UPSTREAM = frozenset({E.UPSTREAM_UNAVAILABLE, E.UPSTREAM_TIMEOUT})

INGEST = ToolSpec(
    name="kb.ingest",
    title="Ingest documents",
    description=(
        "Add or replace documents in the tenant's knowledge base (Markdown, plain text, HTML, "
        "PDF, DOCX). Each is chunked along its headings, indexed for search, and replaces any "
        "earlier version with the same source_uri atomically. Each document gets its own result; "
        "a bad file fails alone with a validation error."
    ),
    input_model=m.IngestInput,
    output_model=m.IngestOutput,
    examples=(
        {"documents": [{"source_uri": "wiki://qm/torque.md", "media_type": "text/markdown",
                        "content": "# Torque settings\n\nM8 bolts on line 4: 25 Nm."}]},
        {"documents": [{"source_uri": "file://handbook/safety.txt", "content": "Wear goggles.",
                        "data_class": "I", "max_age_days": 365, "version": "2026-01"}]},
    ),
    errors=frozenset({E.FORBIDDEN, E.POLICY_DENIED, E.CONFLICT}) | UPSTREAM,
    risk=Risk.WRITE_LOW,
    idempotent=True,
    data_class=DataClass.I,
)

SEARCH = ToolSpec(
    name="kb.search",
    title="Search the knowledge base",
    description=(
        "Find the passages of the tenant's documents that best answer a query, by meaning and "
        "by words (hybrid retrieval). Each hit names its chunk, document, title, section, "
        "source and a snippet with the matched spans; cite hits by chunk_id. Stale hits are "
        "flagged."
    ),
    input_model=m.SearchInput,
    output_model=m.SearchOutput,
    examples=(
        {"query": "torque for M8 bolts on line 4"},
        {"query": "safety goggles", "k": 3, "mode": "lexical"},
        {"query": "calibration interval", "include_stale": False, "rerank": False},
    ),
    errors=UPSTREAM,
    risk=Risk.READ,
    data_class=DataClass.IV,
)

GET_CHUNK = ToolSpec(
    name="kb.get_chunk",
    title="Get a chunk",
    description=(
        "Return one chunk's full text by id (from kb.search), optionally with its neighbours, "
        "to read more context or to quote it exactly."
    ),
    input_model=m.GetChunkInput,
    output_model=m.GetChunkOutput,
    examples=(
        {"chunk_id": "0b9f6a52-3f55-4c4b-9d8e-2f1a7f0c1e11"},
        {"chunk_id": "0b9f6a52-3f55-4c4b-9d8e-2f1a7f0c1e11", "neighbours": 1},
    ),
    errors=frozenset({E.NOT_FOUND}) | UPSTREAM,
    risk=Risk.READ,
    data_class=DataClass.IV,
)

GET_DOCUMENT = ToolSpec(
    name="kb.get_document",
    title="Get a document",
    description=(
        "Return a document's metadata (title, source, class, owner, version, freshness) by id "
        "or source_uri, and optionally all its chunks in order."
    ),
    input_model=m.GetDocumentInput,
    output_model=m.GetDocumentOutput,
    examples=(
        {"document_id": "5d0c2e8e-7b1e-4a57-a3c4-0f4f1d6b9e22"},
        {"source_uri": "wiki://qm/torque.md", "include_chunks": True},
    ),
    errors=frozenset({E.NOT_FOUND}) | UPSTREAM,
    risk=Risk.READ,
    data_class=DataClass.IV,
)

DELETE = ToolSpec(
    name="kb.delete",
    title="Delete documents",
    description=(
        "Delete documents from the knowledge base by id or source_uri, with all their chunks "
        "and vectors. Cannot be undone."
    ),
    input_model=m.DeleteInput,
    output_model=m.DeleteOutput,
    examples=(
        {"source_uris": ["wiki://qm/torque.md"]},
        {"document_ids": ["5d0c2e8e-7b1e-4a57-a3c4-0f4f1d6b9e22"]},
    ),
    errors=frozenset({E.NOT_FOUND, E.FORBIDDEN, E.CONFLICT}) | UPSTREAM,
    risk=Risk.WRITE_HIGH,
    idempotent=True,
    data_class=DataClass.I,
)

ALL = (INGEST, SEARCH, GET_CHUNK, GET_DOCUMENT, DELETE)

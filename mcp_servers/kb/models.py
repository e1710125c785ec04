"""The kb server's wire models: what each tool takes and returns."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mcp_servers.kit.errors import ToolErrorPayload
from mcp_servers.kit.spec import DataClass


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MediaType(enum.StrEnum):
    """The document formats the knowledge base reads."""

    MARKDOWN = "text/markdown"
    TEXT = "text/plain"
    HTML = "text/html"
    PDF = "application/pdf"
    DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class DocumentIn(_Input):
    source_uri: str = Field(
        min_length=1, max_length=2048,
        description="Where the document lives (its identity: ingesting the same URI again "
        "replaces the document), e.g. 'sharepoint://qm/handbook.docx'.",
    )
    content: str | None = Field(
        default=None, description="The document as text (Markdown, plain text or HTML)."
    )
    content_base64: str | None = Field(
        default=None, description="The document's bytes, base64-encoded (PDF, DOCX, or any text)."
    )
    media_type: str | None = Field(
        default=None,
        description="MIME type (text/markdown, text/plain, text/html, application/pdf, the DOCX "
        "type); guessed from the URI's extension when omitted.",
    )
    title: str | None = Field(
        default=None, max_length=500,
        description="Document title; taken from the document (or the URI) when omitted.",
    )
    data_class: DataClass = Field(
        default=DataClass.II, description="Classification (I public … IV strictly confidential)."
    )
    owner: str | None = Field(
        default=None, max_length=256,
        description="Who answers for the document; the caller when omitted (another owner "
        "needs the admin role).",
    )
    version: str | None = Field(
        default=None, max_length=128, description="The document's own version label."
    )
    fresh_as_of: datetime | None = Field(
        default=None, description="When the content was last known to be current; now when omitted."
    )
    max_age_days: float | None = Field(
        default=None, gt=0, le=36_500,
        description="After this many days past fresh_as_of, search flags its chunks as stale.",
    )

    @model_validator(mode="after")
    def _one_content(self) -> DocumentIn:
        if (self.content is None) == (self.content_base64 is None):
            raise ValueError("give exactly one of content or content_base64")
        return self


class IngestInput(_Input):
    documents: list[DocumentIn] = Field(
        min_length=1, max_length=100, description="Documents to add or replace, one result each."
    )


class IngestedDocument(BaseModel):
    source_uri: str = Field(description="The document's URI, as given.")
    status: Literal["created", "replaced", "unchanged", "failed"] = Field(
        description="created, replaced (its chunks were swapped atomically), unchanged "
        "(same content and metadata: nothing done) or failed (see error)."
    )
    document_id: UUID | None = Field(default=None, description="The document's id (not when failed).")
    chunks: int = Field(default=0, description="How many chunks the document now has.")
    error: ToolErrorPayload | None = Field(
        default=None, description="Why this document failed; the others are unaffected."
    )


class IngestOutput(BaseModel):
    results: list[IngestedDocument] = Field(description="One result per input document, in order.")
    kb_version: int = Field(description="The tenant's KB version after this call.")


class SearchInput(_Input):
    query: str = Field(min_length=1, max_length=2000, description="What to look for, in plain words.")
    k: int = Field(default=8, ge=1, le=100, description="How many chunks to return at most.")
    mode: Literal["hybrid", "dense", "lexical"] = Field(
        default="hybrid",
        description="hybrid (dense + lexical, fused; the best), dense (meaning only) or "
        "lexical (words only).",
    )
    rerank: bool = Field(
        default=True, description="Rerank the fused candidates when a reranker is configured."
    )
    document_ids: list[UUID] | None = Field(
        default=None, max_length=100, description="Only chunks of these documents."
    )
    include_stale: bool = Field(default=True, description="False drops chunks flagged stale.")


class Span(BaseModel):
    start: int = Field(description="Offset of the first character, in the chunk's text.")
    end: int = Field(description="Offset just past the last character, in the chunk's text.")


class Snippet(BaseModel):
    text: str = Field(description="The passage of the chunk that best matches the query.")
    start: int = Field(description="Where the snippet starts in the chunk's text.")
    end: int = Field(description="Where the snippet ends in the chunk's text.")
    matches: list[Span] = Field(description="Query words found in the chunk text, as offsets.")


class Ranks(BaseModel):
    dense: int | None = Field(description="1-based rank from the dense retriever; null: not in its list.")
    lexical: int | None = Field(description="1-based rank from the lexical retriever; null: not in its list.")
    rerank: int | None = Field(default=None, description="1-based rank after reranking, when it ran.")


class Hit(BaseModel):
    chunk_id: UUID = Field(description="Cite this id.")
    document_id: UUID = Field(description="The document the chunk belongs to.")
    title: str = Field(description="The document's title.")
    section_path: list[str] = Field(description="Headings from the top of the document to the chunk.")
    source_uri: str = Field(description="Where the document lives.")
    data_class: DataClass = Field(description="The document's classification.")
    snippet: Snippet = Field(description="The best-matching passage, with matched spans.")
    score: float = Field(description="Fused score (reciprocal rank fusion, or the reranker's); ranks hits.")
    ranks: Ranks = Field(description="Each retriever's rank for this chunk.")
    stale: bool = Field(description="True when the document is past its max age.")
    fresh_as_of: datetime = Field(description="When the document was last known current.")


class SearchOutput(BaseModel):
    hits: list[Hit] = Field(description="Best first.")
    kb_version: int = Field(description="The KB version the results come from.")
    cached: bool = Field(description="True when served from the retrieval cache.")
    reranked: bool = Field(description="True when a reranker ordered the hits.")


class GetChunkInput(_Input):
    chunk_id: UUID = Field(description="The chunk's id, from kb.search.")
    neighbours: int = Field(
        default=0, ge=0, le=5, description="Also return this many chunks before and after it."
    )


class Chunk(BaseModel):
    chunk_id: UUID = Field(description="The chunk's id.")
    document_id: UUID = Field(description="Its document.")
    ordinal: int = Field(description="Position of the chunk in its document (0-based).")
    section_path: list[str] = Field(description="Headings from the top of the document to the chunk.")
    header: str = Field(description="The contextual header indexed with the text.")
    text: str = Field(description="The chunk's text; quote from this.")


class GetChunkOutput(BaseModel):
    chunk: Chunk = Field(description="The chunk asked for.")
    title: str = Field(description="The document's title.")
    source_uri: str = Field(description="Where the document lives.")
    stale: bool = Field(description="True when the document is past its max age.")
    context: list[Chunk] = Field(description="Neighbouring chunks, in document order.")


class GetDocumentInput(_Input):
    document_id: UUID | None = Field(default=None, description="The document's id.")
    source_uri: str | None = Field(default=None, max_length=2048, description="Or its URI.")
    include_chunks: bool = Field(default=False, description="Also return every chunk, in order.")

    @model_validator(mode="after")
    def _one_key(self) -> GetDocumentInput:
        if (self.document_id is None) == (self.source_uri is None):
            raise ValueError("give exactly one of document_id or source_uri")
        return self


class Document(BaseModel):
    document_id: UUID = Field(description="The document's id.")
    source_uri: str = Field(description="Where the document lives.")
    title: str = Field(description="Its title.")
    media_type: str = Field(description="Its format.")
    data_class: DataClass = Field(description="Its classification.")
    owner: str = Field(description="Who answers for it.")
    version: str = Field(description="Its version label.")
    fresh_as_of: datetime = Field(description="When it was last known current.")
    max_age_days: float | None = Field(description="Days after fresh_as_of when it goes stale.")
    stale: bool = Field(description="True when past its max age.")
    chunk_count: int = Field(description="How many chunks it has.")
    updated_at: datetime = Field(description="When it was last ingested.")


class GetDocumentOutput(BaseModel):
    document: Document = Field(description="The document.")
    chunks: list[Chunk] | None = Field(description="Its chunks, when asked for.")


class DeleteInput(_Input):
    document_ids: list[UUID] = Field(
        default_factory=list, max_length=100, description="Documents to delete, by id."
    )
    source_uris: list[str] = Field(
        default_factory=list, max_length=100, description="Documents to delete, by URI."
    )

    @model_validator(mode="after")
    def _some(self) -> DeleteInput:
        if not self.document_ids and not self.source_uris:
            raise ValueError("name at least one document")
        return self


class DeleteOutput(BaseModel):
    deleted: list[UUID] = Field(description="Ids of the deleted documents (chunks and vectors gone).")
    not_found: list[str] = Field(description="Ids or URIs that name no document for this caller.")
    kb_version: int = Field(description="The tenant's KB version after this call.")

"""The citations server's wire models."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from mcp_servers.kit.spec import DataClass

SourceId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[\w.:/@-]+$")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddSourceInput(_Input):
    source_id: SourceId = Field(
        description="Your id for the source, e.g. 'sap:po/4500012345' or a tool call id; "
        "adding the same id again replaces the text."
    )
    text: str = Field(min_length=1, max_length=100_000, description="The source's text, as quoted.")
    label: str = Field(default="", max_length=500, description="What the source is, for people.")
    data_class: DataClass = Field(
        default=DataClass.II, description="Its classification; never above your clearance."
    )


class AddSourceOutput(BaseModel):
    source_id: str = Field(description="The id to cite it by.")
    replaced: bool = Field(description="True when a source with this id existed and was replaced.")


class VerifyQuoteInput(_Input):
    chunk_id: SourceId = Field(description="The cited kb chunk id (from kb.search) or source id.")
    quote: str = Field(min_length=1, max_length=5000, description="The quoted text to check.")


class VerifyQuoteOutput(BaseModel):
    found: bool = Field(description="True when the quote occurs in the chunk (exactly, or up to "
                        "case, whitespace and quote marks).")
    exact: bool = Field(description="True when it occurs character for character.")
    start: int | None = Field(description="Offset of the match in the chunk's text.")
    end: int | None = Field(description="Offset just past the match.")
    matched_text: str | None = Field(description="The chunk's text at the match, or the closest "
                                     "passage when not found.")
    similarity: float = Field(description="1.0 for a match; else how close the closest passage is (0–1).")


class AttributeInput(_Input):
    answer: str = Field(min_length=1, max_length=20_000, description="The answer to attribute.")
    chunk_ids: list[SourceId] = Field(
        min_length=1, max_length=50,
        description="The kb chunk ids (or registered source ids) the answer was written from.",
    )


class Support(BaseModel):
    chunk_id: str = Field(description="The supporting chunk or source.")
    quote: str = Field(description="The exact supporting passage, as it appears in the chunk.")
    start: int = Field(description="Offset of the quote in the chunk's text.")
    end: int = Field(description="Offset just past the quote.")
    score: float = Field(description="Support score (0–1): half word overlap, half meaning.")
    lexical: float = Field(description="Share of the claim's content words found in the quote.")
    semantic: float = Field(description="Cosine similarity of claim and quote.")


class Claim(BaseModel):
    text: str = Field(description="The claim, as it appears in the answer.")
    start: int = Field(description="Offset of the claim in the answer.")
    end: int = Field(description="Offset just past the claim.")
    supported: bool = Field(description="True when at least one passage supports it.")
    support: list[Support] = Field(description="Supporting passages, best first.")
    verified_by_llm: bool | None = Field(
        description="The LLM verifier's verdict when one is configured; null otherwise."
    )


class AttributeOutput(BaseModel):
    claims: list[Claim] = Field(description="Every claim found in the answer, in order.")
    unsupported: list[str] = Field(description="Claims no cited passage supports.")
    coverage: float = Field(description="Share of claims that are supported (0–1).")
    unknown_chunk_ids: list[str] = Field(
        description="Cited ids that name no chunk or source the caller may read."
    )

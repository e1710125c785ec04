"""The memory server's wire models: what each tool takes and returns."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from mcp_servers.kit.spec import DataClass


class MemoryKind(enum.StrEnum):
    """What a memory is; the kind decides how fast it fades from recall."""

    FACT = "FACT"  # something true about the world or the user's work
    PREFERENCE = "PREFERENCE"  # how the user likes things done
    SKILL = "SKILL"  # a procedure that worked
    CONTEXT = "CONTEXT"  # short-lived working context; fades within days
    EPISODIC = "EPISODIC"  # what happened in a past conversation


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


Tag = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w.:/-]+$")]


class RememberInput(_Input):
    content: str = Field(
        min_length=1, max_length=4000, description="The memory, as one self-contained statement."
    )
    kind: MemoryKind = Field(default=MemoryKind.FACT, description="What kind of memory this is.")
    importance: float = Field(
        default=0.5, ge=0.0, le=1.0, description="0 (trivial) to 1 (must not be forgotten)."
    )
    tags: list[Tag] = Field(
        default_factory=list, max_length=16, description="Labels to filter recall by, e.g. 'plant:1000'."
    )
    data_class: DataClass = Field(
        default=DataClass.II,
        description="Classification of the content (I public … IV strictly confidential); "
        "never above the caller's clearance.",
    )
    ttl_s: int | None = Field(
        default=None, ge=60, le=31_536_000, description="Forget automatically after this many seconds."
    )


class RememberOutput(BaseModel):
    id: UUID = Field(description="The memory's id (an existing one when this was a near-duplicate).")
    merged: bool = Field(description="True when the content was merged into a near-duplicate.")
    kind: MemoryKind = Field(description="The stored kind.")


class RecallInput(_Input):
    query: str = Field(min_length=1, max_length=2000, description="What to recall, in plain words.")
    k: int = Field(default=5, ge=1, le=50, description="How many memories to return at most.")
    kinds: list[MemoryKind] | None = Field(
        default=None, description="Only these kinds; all kinds when omitted."
    )
    tags: list[Tag] | None = Field(
        default=None, max_length=16, description="Only memories carrying at least one of these tags."
    )
    min_similarity: float | None = Field(
        default=None, ge=-1.0, le=1.0,
        description="Drop memories less similar than this (the server's default when omitted).",
    )


class Memory(BaseModel):
    id: UUID = Field(description="The memory's id.")
    kind: MemoryKind = Field(description="What kind of memory this is.")
    content: str = Field(description="The remembered statement.")
    importance: float = Field(description="Importance given when it was remembered (0–1).")
    tags: list[str] = Field(description="Its labels.")
    data_class: DataClass = Field(description="Its classification.")
    created_at: datetime = Field(description="When it was first remembered.")
    last_accessed_at: datetime = Field(description="When it was last recalled or merged.")


class RecalledMemory(Memory):
    similarity: float = Field(description="Cosine similarity to the query (-1–1).")
    score: float = Field(description="Similarity blended with recency and importance; ranks results.")


class RecallOutput(BaseModel):
    memories: list[RecalledMemory] = Field(description="Best first.")
    embedding_model: str = Field(description="The model the query was embedded with.")


class ForgetInput(_Input):
    ids: list[UUID] = Field(
        min_length=1, max_length=100, description="Ids of the caller's memories to delete."
    )


class ForgetOutput(BaseModel):
    forgotten: list[UUID] = Field(description="Ids that were deleted.")
    not_found: list[UUID] = Field(description="Ids that do not exist for this caller.")


class ExportUserInput(_Input):
    user: str | None = Field(
        default=None, max_length=256,
        description="Whose memories; the caller's own when omitted (others need the admin role).",
    )
    after: UUID | None = Field(default=None, description="Continue after this id (from next_after).")
    limit: int = Field(default=1000, ge=1, le=5000, description="Most memories in one page.")


class ExportUserOutput(BaseModel):
    user: str = Field(description="Whose memories these are.")
    memories: list[Memory] = Field(description="One page of the user's memories, by id.")
    next_after: UUID | None = Field(description="Pass as `after` for the next page; null at the end.")


class EraseUserInput(_Input):
    user: str | None = Field(
        default=None, max_length=256,
        description="Whose memories; the caller's own when omitted (others need the admin role).",
    )
    confirm: Literal[True] = Field(description="Must be true: erasure cannot be undone.")


class EraseUserOutput(BaseModel):
    user: str = Field(description="Whose memories were erased.")
    erased: int = Field(description="How many memories (rows and vectors) were deleted.")
    audit_seq: int = Field(description="Sequence number of the audit event recording the erasure.")

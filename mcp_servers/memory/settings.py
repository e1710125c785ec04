"""The memory server's own settings (environment prefix `TESSERA_MEMORY_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from mcp_servers.kit.settings import ServerSettings


class MemorySettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="TESSERA_MEMORY_")

    dedupe_similarity: float = Field(
        default=0.95,
        ge=0.5,
        le=1.0,
        description="Cosine similarity at or above which a new memory is merged into an "
        "existing one of the same user and kind.",
    )
    min_similarity: float = Field(
        default=0.3,
        ge=-1.0,
        le=1.0,
        description="Recall drops memories less similar to the query than this, unless the "
        "call sets its own min_similarity.",
    )
    recall_candidates: int = Field(
        default=40, ge=1, le=1000, description="Nearest memories fetched before re-ranking."
    )
    max_per_user: int = Field(
        default=10_000, ge=1, description="Most memories one user may hold in one tenant."
    )

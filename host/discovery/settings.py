"""Tool discovery's own settings (environment prefix `TESSERA_DISCOVERY_`).

Built once at the process edge and passed to `ToolCatalog`; nothing is read at
import time. The embedding model is the process-wide one (`TESSERA_EMBEDDING_*`)
so the host loads one model, not two.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Core tools may never exceed this many, whatever a tenant configures: they are
# loaded on every run, so each one costs prompt tokens on every turn.
CORE_TOOLS_CAP = 5


class DiscoverySettings(BaseSettings):
    """How `search_tools` ranks, when it answers "no suitable tool", and the core tools."""

    model_config = SettingsConfigDict(
        env_prefix="TESSERA_DISCOVERY_", env_file=".env", extra="ignore", validate_default=True
    )

    core_tools: list[str] = Field(
        default=["memory.recall"],
        description="Tools (server.tool) offered on every run besides search_tools, in this "
        "order, unless the tenant has its own list. Tools the caller may not use are skipped.",
    )
    tenant_core_tools: dict[str, list[str]] = Field(
        default={},
        description="Per-tenant core tools, as a JSON object {tenant: [server.tool, ...]}; "
        "replaces core_tools for that tenant.",
    )
    max_core_tools: int = Field(
        default=CORE_TOOLS_CAP,
        ge=0,
        le=CORE_TOOLS_CAP,
        description="Most core tools a run starts with (at most 5).",
    )
    default_k: int = Field(
        default=3,
        ge=1,
        le=20,
        description="Tools search_tools returns when the call sets no k (3: the right tool is "
        "among them about as often as among 5, for 40 % fewer prompt tokens).",
    )
    max_k: int = Field(default=10, ge=1, le=50, description="Most tools one search_tools call may return.")
    lexical_weight: float = Field(
        default=0.4,
        ge=0.0,
        le=1.0,
        description="Weight of the BM25 score in the fused score (the embedding similarity "
        "gets 1 - this).",
    )
    min_score: float | None = Field(
        default=None,
        ge=-1.0,
        le=1.0,
        description="Fused score the best tool must reach, else search_tools answers "
        "'no suitable tool'. Unset: the value calibrated for the embedding model "
        "(docs/tool-discovery.md).",
    )

    @model_validator(mode="after")
    def _core_lists_fit_the_cap(self) -> DiscoverySettings:
        for owner, names in [("core_tools", self.core_tools), *self.tenant_core_tools.items()]:
            if len(names) > self.max_core_tools:
                raise ValueError(
                    f"{owner} lists {len(names)} core tools; at most {self.max_core_tools} "
                    "(TESSERA_DISCOVERY_MAX_CORE_TOOLS) are allowed"
                )
        return self

    def core_tools_for(self, tenant: str) -> tuple[str, ...]:
        """The configured core tools of `tenant`, in order (before the policy filter)."""
        return tuple(self.tenant_core_tools.get(tenant, self.core_tools))

"""The citations server's own settings (environment prefix `TESSERA_CITATIONS_`)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from mcp_servers.kit.settings import ServerSettings


class CitationsSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="TESSERA_CITATIONS_")

    min_support: float = Field(
        default=0.6, ge=0.0, le=1.0,
        description="Support score (half word overlap, half meaning) at or above which a "
        "passage supports a claim.",
    )
    verifier_model: str | None = Field(
        default=None,
        description="LiteLLM chat model that confirms or rejects each supported claim, e.g. "
        "openai/qwen2.5-7b-instruct. Unset: the lexical and semantic scores decide alone.",
    )
    verifier_api_base: str | None = Field(
        default=None, description="Base URL of the verifier's OpenAI-compatible endpoint."
    )
    verifier_api_key: SecretStr | None = Field(
        default=None, description="API key of the verifier endpoint, if it wants one."
    )
    verifier_timeout_s: float = Field(
        default=30.0, gt=0, description="Timeout of one verifier request."
    )

"""The host's own settings (environment prefix `TESSERA_HOST_`), read once at the process edge.

The shared `Settings` (database, keys, embeddings) are read separately; these say
how the host listens, which model endpoints it may use, how it authenticates
users, and the defaults that the policy files can tighten per tenant and role.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

TIERS = ("fast", "standard", "heavy")


class HostSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TESSERA_HOST_", env_file=".env", extra="ignore", validate_default=True
    )

    port: int = Field(default=8700, ge=1, le=65535, description="TCP port the host listens on.")
    workers: int = Field(
        default=1, ge=1, le=64,
        description="Host worker processes sharing the port. Every run's state is in PostgreSQL, "
        "so any worker serves any run; each spawns its own set of sandboxed servers.",
    )

    # Models (through LiteLLM, to OpenAI-compatible endpoints)
    llm_api_base: str | None = Field(
        default=None,
        description="Base URL of the OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp), "
        "e.g. http://127.0.0.1:8000/v1. Unset: no model; chat answers 503, /mcp and approvals work.",
    )
    llm_api_key: SecretStr | None = Field(
        default=None, description="API key for the chat endpoint, if it wants one."
    )
    llm_model: str = Field(
        default="openai/default",
        description="The standard tier's model, as LiteLLM names it: hosted_vllm/<served model name> "
        "for vLLM, openai/<served model name> for other OpenAI-compatible servers.",
    )
    llm_fast_model: str | None = Field(
        default=None, description="The fast tier's model (unset: the standard model)."
    )
    llm_heavy_model: str | None = Field(
        default=None,
        description="The heavy tier's model, used after a malformed tool call or an unsure reply "
        "(unset: the standard model).",
    )
    llm_onprem_hosts: list[str] = Field(
        default=["127.0.0.1", "localhost", "::1"],
        description="Host names the model endpoint may have when TESSERA_ENV=production; "
        "any other endpoint is refused at start.",
    )
    llm_timeout_s: float = Field(default=120.0, gt=0, description="Timeout of one model call.")
    llm_price_per_1k_input: float = Field(
        default=0.0, ge=0, description="Cost of 1,000 prompt tokens, for cost budgets (0: not counted)."
    )
    llm_price_per_1k_output: float = Field(
        default=0.0, ge=0, description="Cost of 1,000 completion tokens, for cost budgets."
    )
    llm_temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    escalate_below_confidence: float | None = Field(
        default=None, gt=0, lt=1,
        description="A reply whose confidence (geometric-mean token probability, from the "
        "endpoint's logprobs) is below this is set aside and its turn asked again, once, at the "
        "next tier up that runs a different model. Unset: no logprobs asked for, no such escalation.",
    )

    # Users
    jwks_file: Path | None = Field(
        default=None,
        description="JWKS file with the keys user tokens are signed with (air-gapped sites). "
        "Unset, and no jwks_url: the development call-context keys (`tessera token --audience tessera`).",
    )
    jwks_url: str | None = Field(default=None, description="JWKS URL of the identity provider.")
    jwt_audience: str = Field(default="tessera", description="`aud` user tokens must carry.")
    jwt_issuers: list[str] = Field(
        default=["tessera-host"], description="Issuers whose user tokens are accepted."
    )
    tenant_claim: str = Field(default="tenant", description="Claim that holds the user's tenant.")
    roles_claim: str = Field(default="roles", description="Claim that holds the user's roles (list).")
    clearance_claim: str = Field(
        default="clearance", description="Claim that holds the user's data-class clearance (I-IV)."
    )

    # Servers
    servers: list[str] | None = Field(
        default=None,
        description="Servers to federate, spawned over stdio (sandboxed as policy says). "
        "Unset: every installed server.",
    )
    remote_servers: dict[str, str] = Field(
        default={},
        description='Servers reached over streamable HTTP instead, as JSON: {"name": "https://host/mcp"}.',
    )
    server_restart_max_s: float = Field(
        default=30.0, gt=0, description="Longest back-off between restarts of a crashed server."
    )

    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces endpoint, e.g. http://otel-collector:4318/v1/traces. "
        "Unset: spans are not exported.",
    )

    # Run defaults (policy budgets override them per tenant and role)
    max_tool_calls: int = Field(default=12, ge=1, description="Tool calls per run.")
    max_wall_s: float = Field(default=120.0, gt=0, description="Wall time per run, in seconds.")
    max_tokens: int = Field(default=60_000, ge=1, description="Model tokens per run.")
    max_cost: float = Field(default=1.0, ge=0, description="Model cost per run, in the endpoint's currency.")
    max_retries: int = Field(default=2, ge=0, description="Retries of retryable tool errors per run.")
    tenant_tokens_per_day: int = Field(
        default=2_000_000, ge=1, description="Model tokens per tenant per day, across host processes."
    )
    rate_limit_per_minute: int = Field(
        default=60, ge=1, description="Requests (chat turns, /mcp tool calls) per user per minute, "
        "across host processes; caps the policy's per-user limits."
    )
    history_messages: int = Field(
        default=16, ge=2, description="Recent conversation messages kept verbatim; older ones are summarised."
    )
    run_lease_s: float = Field(
        default=300.0, gt=0,
        description="A running run's lease, renewed at every step; a run whose host process died "
        "is resumed by another process once its lease has run out. Longer than llm_timeout_s.",
    )

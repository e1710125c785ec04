"""The settings every Tessera process reads: one object, built once at the process edge.

Each field is read from an environment variable named `TESSERA_<FIELD>` (for
example `TESSERA_DATABASE_URL`) or from a `.env` file in the working directory.
Nothing here is read at import time: the CLI calls `Settings()` when it starts and
passes the object down. A capability server with settings of its own declares a
`ServerSettings` subclass with the prefix `TESSERA_<SERVER>_`.
`docs/settings.md` documents every field, and a test keeps it that way.
"""

from __future__ import annotations

import enum
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class EmbeddingProvider(enum.StrEnum):
    LOCAL = "local"  # a model shipped in a Python package; no network
    LITELLM = "litellm"  # any OpenAI-compatible embeddings endpoint, through LiteLLM


class Settings(BaseSettings):
    """Settings shared by the CLI, the servers and the host."""

    model_config = SettingsConfigDict(
        env_prefix="TESSERA_", env_file=".env", extra="ignore", validate_default=True
    )

    env: Environment = Field(
        default=Environment.DEVELOPMENT,
        description="development or production. Production refuses generated keys "
        "and the embedded database.",
    )
    data_dir: Path = Field(
        default=Path(".tessera"),
        description="Where Tessera keeps local state: the embedded database, generated "
        "development keys, downloaded test tools. Relative paths are taken from the "
        "working directory.",
    )
    log_level: str = Field(default="INFO", description="Python log level for Tessera's loggers.")

    # Database
    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL the servers and host connect with (a role that cannot "
        "bypass row-level security). Unset: the embedded PostgreSQL under data_dir.",
    )
    database_admin_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL `tessera db migrate` uses (owner of the schema). "
        "Unset: database_url, or the embedded database's superuser.",
    )
    database_pool_min: int = Field(default=1, ge=0, description="Connections a pool keeps open.")
    database_pool_max: int = Field(default=10, ge=1, description="Most connections per pool.")
    database_statement_timeout_ms: int = Field(
        default=5000, ge=0, description="statement_timeout for application connections."
    )
    embedded_db_port: int = Field(
        default=54329,
        ge=1024,
        le=65535,
        description="Loopback TCP port of the embedded PostgreSQL (it also listens on a "
        "Unix socket under data_dir/run).",
    )
    embedded_db_shared_buffers: str = Field(
        default="1GB",
        pattern=r"^[0-9]+(kB|MB|GB)$",
        description="shared_buffers of the embedded PostgreSQL, applied at each start. A "
        "knowledge base of 100,000 chunks with its indexes takes about 450 MB; with 256 MB "
        "its searches took twice as long as with 1 GB (pages copied in from the OS cache).",
    )

    # Call context (identity that reaches every server)
    context_issuer: str = Field(
        default="tessera-host", description="`iss` of the call contexts the host signs."
    )
    context_accepted_issuers: list[str] = Field(
        default=["tessera-host"],
        description="Issuers whose tokens a server accepts (the host, plus any identity "
        "provider that issues bearer tokens for direct MCP clients).",
    )
    context_signing_key_file: Path | None = Field(
        default=None,
        description="PEM private key (P-256, RSA >= 2048 or Ed25519) the host signs call "
        "contexts with. Unset: data_dir/keys/context-signing-key.pem, generated in development.",
    )
    context_verification_keys_file: Path | None = Field(
        default=None,
        description="PEM public key or JWKS file servers verify call contexts with. "
        "Unset: data_dir/keys/context-verification.jwks.json.",
    )
    context_ttl_s: int = Field(
        default=60, ge=5, le=3600, description="Lifetime of a call context the host signs."
    )
    context_leeway_s: int = Field(
        default=5, ge=0, le=60, description="Clock skew tolerated when checking exp/nbf."
    )

    # Streamable HTTP
    http_host: str = Field(default="127.0.0.1", description="Address HTTP servers bind to.")
    http_allowed_hosts: list[str] = Field(
        default=[],
        description="Extra Host header values the HTTP transport accepts (DNS-rebinding "
        "protection rejects all others; loopback names are always accepted).",
    )
    http_allowed_origins: list[str] = Field(
        default=[], description="Browser origins the HTTP transport accepts besides its own."
    )

    # Embeddings
    embedding_provider: EmbeddingProvider = Field(
        default=EmbeddingProvider.LOCAL,
        description="local (a model shipped in a package, no network) or litellm.",
    )
    embedding_model: str = Field(
        default="wordllama-l2-supercat-256",
        description="Model name. local: one of `tessera embeddings list`; litellm: the "
        "endpoint's model, e.g. openai/bge-m3.",
    )
    embedding_api_base: str | None = Field(
        default=None, description="litellm provider: base URL of the embeddings endpoint."
    )
    embedding_api_key: SecretStr | None = Field(
        default=None, description="litellm provider: API key, if the endpoint wants one."
    )
    embedding_dimensions: int | None = Field(
        default=None,
        ge=1,
        description="litellm provider: the model's vector size (asked of the endpoint when unset).",
    )
    embedding_timeout_s: float = Field(
        default=30.0, gt=0, description="litellm provider: timeout of one embeddings request."
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def signing_key_path(self) -> Path:
        return self.context_signing_key_file or self.keys_dir / "context-signing-key.pem"

    @property
    def verification_keys_path(self) -> Path:
        return self.context_verification_keys_file or self.keys_dir / "context-verification.jwks.json"

    def require_database_url(self) -> str:
        if self.database_url is None:
            raise RuntimeError("database_url is not resolved; the CLI resolves it at start")
        return self.database_url.get_secret_value()


class ServerSettings(BaseSettings):
    """Base of a capability server's own settings (prefix `TESSERA_<SERVER>_`)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", validate_default=True)

"""The kb server's own settings (environment prefix `TESSERA_KB_`)."""

from __future__ import annotations

import enum

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from mcp_servers.kit.settings import ServerSettings


class LexicalScorer(enum.StrEnum):
    """How lexical search ranks the chunks the full-text index matches."""

    BM25 = "bm25"  # Okapi BM25 in SQL, from the per-tenant lexeme statistics
    TS_RANK_CD = "ts_rank_cd"  # PostgreSQL's cover-density rank (no IDF)


class KbSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="TESSERA_KB_")

    ingest_roles: list[str] = Field(
        default=[],
        description="Roles allowed to call kb.ingest and kb.delete; empty: any authenticated "
        "caller (the host's policy decides who reaches the tool). Changing or deleting a "
        "document owned by someone else always needs the admin role.",
    )
    class_iv_preapproved: bool = Field(
        default=False,
        description="Accept class IV documents. Until policy can pre-approve them per "
        "tenant, they are refused unless this is true.",
    )
    max_file_bytes: int = Field(
        default=20_000_000, ge=1, description="Largest document accepted, in bytes."
    )
    chunk_max_chars: int = Field(
        default=1200, ge=200, le=20_000,
        description="Longest chunk text; paragraphs are packed up to it and tables kept whole "
        "when they fit.",
    )
    contextual_headers: bool = Field(
        default=True,
        description="Prefix each chunk with its document title and section path (and an LLM "
        "summary when summary_model is set) before embedding and indexing it.",
    )
    candidates: int = Field(
        default=50, ge=5, le=1000,
        description="Candidates each retriever (dense, lexical) contributes to fusion.",
    )
    rrf_k: int = Field(default=60, ge=1, description="The k of reciprocal rank fusion.")
    lexical_scorer: LexicalScorer = Field(
        default=LexicalScorer.BM25,
        description="bm25 (Okapi BM25 computed in SQL over the GIN index) or ts_rank_cd.",
    )
    lexical_match_budget: int = Field(
        default=2000, ge=1,
        description="bm25: the rarest query stems make chunks candidates until their document "
        "frequencies add up to this; commoner stems only add to candidates' scores.",
    )
    hnsw_ef_search: int = Field(
        default=100, ge=10, le=1000, description="hnsw.ef_search for the dense retriever."
    )
    cache_entries: int = Field(
        default=2048, ge=0, description="Retrieval-cache size per server process (0: off)."
    )
    cache_ttl_s: float = Field(
        default=300.0, ge=0, description="Longest a cached result is served (stale flags age)."
    )
    summary_model: str | None = Field(
        default=None,
        description="LiteLLM chat model that writes a one-sentence summary into each chunk's "
        "contextual header, e.g. openai/qwen2.5-7b-instruct. Unset: no summaries.",
    )
    summary_api_base: str | None = Field(
        default=None, description="Base URL of the summary model's OpenAI-compatible endpoint."
    )
    summary_api_key: SecretStr | None = Field(
        default=None, description="API key of the summary endpoint, if it wants one."
    )
    rerank_model: str | None = Field(
        default=None,
        description="The cross-encoder applied to the fused candidates: local:<directory or "
        "installed package> for a model on this machine, else a LiteLLM rerank model (e.g. "
        "cohere/rerank-v3.5 served on-prem by a compatible endpoint). Unset: no rerank.",
    )
    rerank_api_base: str | None = Field(
        default=None, description="Base URL of the rerank endpoint."
    )
    rerank_api_key: SecretStr | None = Field(
        default=None, description="API key of the rerank endpoint, if it wants one."
    )
    rerank_batch_size: int = Field(
        default=16, ge=1, le=512,
        description="local reranker: query-passage pairs scored per forward pass.",
    )
    rerank_max_length: int | None = Field(
        default=None, ge=16, le=8192,
        description="local reranker: longest query plus passage in tokens (the rest is cut). "
        "Unset: the model's own limit.",
    )
    rerank_threads: int | None = Field(
        default=None, ge=1, le=256,
        description="local reranker: torch's intra-op threads, for the whole server process. "
        "Unset: torch's default (one per core).",
    )
    llm_timeout_s: float = Field(
        default=30.0, gt=0, description="Timeout of one summary or rerank request."
    )

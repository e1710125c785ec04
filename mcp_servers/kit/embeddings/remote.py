"""Embeddings from an OpenAI-compatible endpoint, through LiteLLM."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from mcp_servers.kit.embeddings.base import EmbeddingModelInfo, normalize
from mcp_servers.kit.errors import UpstreamTimeout, UpstreamUnavailable, ValidationFailed
from mcp_servers.kit.settings import Settings

MAX_BATCH = 64


class LiteLLMEmbedder:
    """Calls `litellm.aembedding` against the configured endpoint."""

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None,
        api_key: str | None,
        dimensions: int,
        timeout_s: float,
    ) -> None:
        # LiteLLM fetches a price list from the internet at import unless told not to.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        self._litellm = litellm
        self._model = model
        self._api_base = api_base
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._info = EmbeddingModelInfo(model=model, dimensions=dimensions)

    @classmethod
    def from_settings(cls, settings: Settings) -> LiteLLMEmbedder:
        if settings.embedding_dimensions is None:
            raise ValueError(
                "TESSERA_EMBEDDING_DIMENSIONS must be set for the litellm embedding provider"
            )
        return cls(
            settings.embedding_model,
            api_base=settings.embedding_api_base,
            api_key=settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None,
            dimensions=settings.embedding_dimensions,
            timeout_s=settings.embedding_timeout_s,
        )

    @property
    def info(self) -> EmbeddingModelInfo:
        return self._info

    async def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for start in range(0, len(texts), MAX_BATCH):
            rows.extend(await self._embed(list(texts[start : start + MAX_BATCH])))
        return normalize(np.array(rows, dtype=np.float32).reshape(len(rows), self._info.dimensions))

    async def embed_query(self, text: str) -> np.ndarray:
        return (await self.embed_documents([text]))[0]

    async def _embed(self, texts: list[str]) -> list[list[float]]:
        litellm = self._litellm
        try:
            response: Any = await litellm.aembedding(
                model=self._model,
                input=texts,
                api_base=self._api_base,
                api_key=self._api_key or "unused",
                # Per attempt; the OpenAI client under LiteLLM retries 429/5xx twice itself.
                timeout=self._timeout_s,
            )
        except litellm.Timeout:
            raise UpstreamTimeout("The embedding service did not answer in time.") from None
        except litellm.RateLimitError:
            raise UpstreamUnavailable("The embedding service is rate limiting.", retry_after_s=2.0) from None
        except (litellm.APIConnectionError, litellm.ServiceUnavailableError, litellm.InternalServerError):
            raise UpstreamUnavailable("The embedding service is unavailable.", retry_after_s=2.0) from None
        except litellm.BadRequestError:
            raise ValidationFailed("The embedding service rejected the text.") from None
        vectors = [item["embedding"] for item in sorted(response.data, key=lambda d: d["index"])]
        for vector in vectors:
            if len(vector) != self._info.dimensions:
                # A configuration fault, not the caller's: it surfaces as `internal`.
                raise RuntimeError(
                    f"the embedding service returned {len(vector)}-d vectors; "
                    f"{self._info.dimensions} are configured (TESSERA_EMBEDDING_DIMENSIONS)"
                )
        return vectors

"""The `Embedder` protocol and the factory that builds one from settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from mcp_servers.kit.settings import EmbeddingProvider, Settings


@dataclass(frozen=True)
class EmbeddingModelInfo:
    """Which model made a vector, and how long the vector is."""

    model: str
    dimensions: int


class Embedder(Protocol):
    @property
    def info(self) -> EmbeddingModelInfo: ...

    async def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length float32 row per text, for storing."""
        ...

    async def embed_query(self, text: str) -> np.ndarray:
        """One unit-length float32 vector, for searching."""
        ...


def build_embedder(settings: Settings) -> Embedder:
    if settings.embedding_provider is EmbeddingProvider.LITELLM:
        from mcp_servers.kit.embeddings.remote import LiteLLMEmbedder

        return LiteLLMEmbedder.from_settings(settings)
    from mcp_servers.kit.embeddings.local import local_embedder

    return local_embedder(settings.embedding_model)


def normalize(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)

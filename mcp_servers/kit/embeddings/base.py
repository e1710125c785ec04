"""The `Embedder` protocol, the model info stored with every vector, and normalisation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np



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


def normalize(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)

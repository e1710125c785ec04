"""Tool vectors, cached by the content hash of each tool's searched text.

A catalog refresh (a server restarted, or sent `list_changed`) asks for the
vectors of every tool again; only texts not seen before with this model are
embedded, in one batch. Vectors are kept per model, so switching the embedding
model never mixes vector spaces. The cache lives as long as the catalog (the
host process); entries of tools that disappeared are dropped on `retain`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from host.discovery.descriptor import ToolDescriptor
from mcp_servers.kit.embeddings import Embedder


@dataclass
class CacheStats:
    """How many descriptor texts were embedded (misses) or reused (hits) so far."""

    hits: int = 0
    misses: int = 0


class EmbeddingCache:
    """`vectors(descriptors)` -> one unit vector per descriptor, embedding only the new ones."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.stats = CacheStats()
        self._vectors: dict[tuple[str, str], np.ndarray] = {}

    async def vectors(self, descriptors: Sequence[ToolDescriptor]) -> np.ndarray:
        model = self.embedder.info.model
        missing = {d.content_hash: d.search_text for d in descriptors
                   if (model, d.content_hash) not in self._vectors}
        self.stats.hits += len(descriptors) - len(missing)
        self.stats.misses += len(missing)
        if missing:
            embedded = await self.embedder.embed_documents(list(missing.values()))
            for content_hash, vector in zip(missing, embedded, strict=True):
                self._vectors[(model, content_hash)] = vector
        if not descriptors:
            return np.zeros((0, self.embedder.info.dimensions), dtype=np.float32)
        return np.stack([self._vectors[(model, d.content_hash)] for d in descriptors])

    def retain(self, descriptors: Iterable[ToolDescriptor]) -> None:
        """Forget vectors of texts no longer in the catalog."""
        keep = {d.content_hash for d in descriptors}
        for key in [key for key in self._vectors if key[1] not in keep]:
            del self._vectors[key]

    def __len__(self) -> int:
        return len(self._vectors)

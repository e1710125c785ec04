"""An embedder wrapper that remembers vectors on disk, so re-running an eval re-embeds nothing.

Keyed by model and SHA-256 of the text; stored as one .npz per model under
`TESSERA_DATA_DIR/eval-cache/<dataset>/`. Only the evals use it; the servers never cache
embeddings across processes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mcp_servers.kit.embeddings import Embedder, EmbeddingModelInfo


class CachedEmbedder:
    def __init__(self, inner: Embedder, folder: Path) -> None:
        self._inner = inner
        self._path = folder / f"{inner.info.model}.npz"
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        if self._path.exists():
            with np.load(self._path) as stored:
                self._vectors = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))

    @property
    def info(self) -> EmbeddingModelInfo:
        return self._inner.info

    async def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in self._vectors]
        if missing:
            fresh = await self._inner.embed_documents([texts[i] for i in missing])
            for i, vector in zip(missing, fresh, strict=True):
                self._vectors[keys[i]] = vector
            self._dirty = True
        return np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, self.info.dimensions))

    async def embed_query(self, text: str) -> np.ndarray:
        return await self._inner.embed_query(text)

    def save(self) -> None:
        if not self._dirty:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self._vectors)
        np.savez(self._path, keys=np.array(keys), vectors=np.stack([self._vectors[k] for k in keys]))
        self._dirty = False

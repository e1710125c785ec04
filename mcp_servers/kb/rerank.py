"""Which reranker the settings name, and the local cross-encoder one.

`TESSERA_KB_RERANK_MODEL` chooses: unset, no rerank; `local:<directory-or-package>`, a
sentence-transformers `CrossEncoder` loaded from files on this machine
(`LocalReranker`); anything else, a model behind a LiteLLM rerank endpoint
(`llm.Reranker`). Both answer `rerank(query, documents)` with (index, relevance) pairs,
best first.

The local model comes from a directory (`local:/srv/models/my-reranker`, as written by
`save_pretrained`) or from an installed Python package that carries the model files
(`local:my_reranker_package`: its `get_model_path()`, else its `model/` folder, else the
package folder itself). It is loaded with the Hugging Face hub offline, so it never
touches the network, and loaded when the server is built, so a missing or unreadable
model stops the server at start rather than failing the first search. Inference runs on
a worker thread, one batch of `rerank_batch_size` pairs at a time, one search at a time
per process. Errors of torch and the libraries around it are mapped to the taxonomy
here (`map_local_errors`), with a test that the mapping is complete.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import anyio

from mcp_servers.kb.llm import Reranker
from mcp_servers.kb.settings import KbSettings
from mcp_servers.kit.errors import TesseraError, UpstreamUnavailable

logger = logging.getLogger("tessera.kb.rerank")

LOCAL_PREFIX = "local:"
# Libraries whose exceptions mean "the local model failed", not "our code is wrong".
MODEL_LIBRARIES = ("torch", "transformers", "tokenizers", "sentence_transformers", "safetensors")


class RerankBackend(Protocol):
    model: str

    async def rerank(self, query: str, documents: Sequence[str]) -> list[tuple[int, float]]:
        """(index into documents, relevance) best first."""
        ...


def build_reranker(settings: KbSettings) -> RerankBackend | None:
    """The reranker `settings.rerank_model` names, loaded now; None when it is unset."""
    name = settings.rerank_model
    if not name:
        return None
    if name.startswith(LOCAL_PREFIX):
        return LocalReranker.load(model_folder(name.removeprefix(LOCAL_PREFIX)), settings)
    return Reranker(settings)


def model_folder(spec: str) -> Path:
    """The folder holding a local model: a directory, or an installed package carrying one."""
    spec = spec.strip()
    path = Path(spec).expanduser()
    if path.is_dir():
        return _checked(path, spec)
    if not spec or "/" in spec or os.sep in spec or spec.startswith((".", "~")):
        raise ValueError(f"TESSERA_KB_RERANK_MODEL: the model directory {spec!r} does not exist.")
    try:
        package = importlib.import_module(spec)
    except ImportError:
        raise ValueError(
            f"TESSERA_KB_RERANK_MODEL: {spec!r} is neither a model directory nor an installed "
            "Python package."
        ) from None
    folder = Path(package.__file__ or "").parent
    candidates = [folder / "model", folder]
    if callable(getattr(package, "get_model_path", None)):
        candidates.insert(0, Path(package.get_model_path()))
    for candidate in candidates:
        if (candidate / "config.json").is_file():
            return candidate
    raise ValueError(f"TESSERA_KB_RERANK_MODEL: the package {spec!r} carries no model files "
                     "(no config.json in get_model_path(), model/ or the package folder).")


def _checked(path: Path, spec: str) -> Path:
    if not os.access(path, os.R_OK | os.X_OK) or not (path / "config.json").is_file():
        raise ValueError(f"TESSERA_KB_RERANK_MODEL: {spec!r} is not a readable model directory "
                         "(it needs the config.json, weights and tokenizer that "
                         "save_pretrained writes).")
    return path


def category_for(error: type[BaseException]) -> type[TesseraError] | None:
    """Our category for an exception the local model raises; None: our own bug.

    torch reports most failures (a shape it cannot handle, memory it cannot get) as a
    plain RuntimeError; only the model call runs under this mapping, so one of those
    means the model, not our code, failed. TypeError, KeyError and the like stay bugs.
    """
    if issubclass(error, (MemoryError, RuntimeError)):
        return UpstreamUnavailable
    if error.__module__.split(".")[0] in MODEL_LIBRARIES:
        return UpstreamUnavailable
    return None


@contextlib.contextmanager
def map_local_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        if category_for(type(exc)) is None:
            raise
        logger.warning("local reranker failed", exc_info=True)
        raise UpstreamUnavailable("The local reranker failed; search without rerank or retry.",
                                  retry_after_s=2.0) from None


class LocalReranker:
    """A cross-encoder on this machine's CPU, scored on a worker thread."""

    def __init__(self, model: Any, name: str, batch_size: int) -> None:
        self.model = name
        self._cross_encoder = model
        self._batch_size = batch_size
        # torch already spreads one batch over its threads; searches wait their turn.
        self._limiter = anyio.CapacityLimiter(1)

    @classmethod
    def load(cls, folder: Path, settings: KbSettings) -> LocalReranker:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            import torch
            from sentence_transformers import CrossEncoder
        except ImportError:
            raise ValueError("A local reranker needs torch and sentence-transformers: "
                             "pip install -e '.[minilm]'") from None
        if settings.rerank_threads:
            torch.set_num_threads(settings.rerank_threads)  # for the whole process
        try:
            model = CrossEncoder(str(folder), device="cpu", local_files_only=True,
                                 max_length=settings.rerank_max_length)
        except Exception as exc:
            raise ValueError(f"TESSERA_KB_RERANK_MODEL: could not load a cross-encoder from "
                             f"{folder}: {exc}") from exc
        logger.info("local reranker loaded from %s", folder)
        return cls(model, f"{LOCAL_PREFIX}{folder}", settings.rerank_batch_size)

    async def rerank(self, query: str, documents: Sequence[str]) -> list[tuple[int, float]]:
        if not documents:
            return []
        scores = await anyio.to_thread.run_sync(self.scores, query, list(documents),
                                                limiter=self._limiter)
        # A stable sort: equal relevance keeps the fused order.
        return sorted(enumerate(scores), key=lambda item: item[1], reverse=True)

    def scores(self, query: str, documents: Sequence[str]) -> list[float]:
        """The model's relevance of each document to the query, in the documents' order."""
        with map_local_errors():
            scores = self._cross_encoder.predict([(query, d) for d in documents],
                                                 batch_size=self._batch_size,
                                                 show_progress_bar=False)
        return [float(s) for s in scores]

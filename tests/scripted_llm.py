"""A scripted OpenAI-compatible server for tests: real HTTP on loopback, answers we choose.

Tests never reach a real model. They serve this app with `tests.helpers.serving`
and point LiteLLM at it; `ScriptedLLM.embedding_status` and friends make it fail
on demand.
"""

from __future__ import annotations

import hashlib

import anyio
import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class ScriptedLLM:
    def __init__(self, dimensions: int = 8) -> None:
        self.dimensions = dimensions
        self.embedding_status = 200  # answer embeddings requests with this status
        self.embedding_delay_s = 0.0
        self.requests: list[dict] = []
        self.app = Starlette(routes=[Route("/v1/embeddings", self._embeddings, methods=["POST"])])

    def vector(self, text: str) -> list[float]:
        """A deterministic pseudo-embedding of `text`."""
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
        return np.random.default_rng(seed).standard_normal(self.dimensions).round(6).tolist()

    async def _embeddings(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append(body)
        if self.embedding_delay_s:
            await anyio.sleep(self.embedding_delay_s)
        if self.embedding_status != 200:
            return JSONResponse({"error": {"message": "scripted failure", "type": "server_error"}},
                                status_code=self.embedding_status)
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return JSONResponse({
            "object": "list",
            "model": body["model"],
            "data": [{"object": "embedding", "index": i, "embedding": self.vector(t)}
                     for i, t in enumerate(texts)],
            "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
        })

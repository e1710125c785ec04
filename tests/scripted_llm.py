"""A scripted OpenAI-compatible server for tests: real HTTP on loopback, answers we choose.

Tests never reach a real model. They serve this app with `tests.helpers.serving`
and point LiteLLM at it; `ScriptedLLM.embedding_status` and friends make it fail
on demand.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route


@dataclass
class Reply:
    """One scripted chat answer: text, tool calls, or both."""

    content: str = ""
    tool_calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)
    prompt_tokens: int = 100
    completion_tokens: int = 20
    status: int = 200  # anything else: the endpoint fails with this status
    delay_s: float = 0.0
    # Token log-probabilities, sent (as vLLM does) only when the request asks for logprobs,
    # spread over the reply's content and tool-call chunks. None: the endpoint sends none.
    logprobs: list[float] | None = None


class ScriptedLLM:
    def __init__(self, dimensions: int = 8) -> None:
        self.dimensions = dimensions
        self.embedding_status = 200  # answer embeddings requests with this status
        self.embedding_delay_s = 0.0
        self.requests: list[dict] = []
        self.chat_requests: list[dict] = []
        # Each chat request takes the next reply; a callable reply is given the request body.
        self.script: list[Reply | Callable[[dict], Reply]] = []
        self.default_reply: Reply | Callable[[dict], Reply] | None = None
        self.app = Starlette(routes=[
            Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
        ])

    def tool_names(self, request: dict) -> list[str]:
        return [tool["function"]["name"] for tool in request.get("tools") or []]

    async def _chat(self, request: Request) -> JSONResponse | StreamingResponse:
        body = await request.json()
        self.chat_requests.append(body)
        reply = self.script.pop(0) if self.script else self.default_reply
        if reply is None:
            return JSONResponse({"error": {"message": "script exhausted", "type": "server_error"}},
                                status_code=500)
        if callable(reply):
            reply = reply(body)
        if reply.delay_s:
            await anyio.sleep(reply.delay_s)
        if reply.status != 200:
            return JSONResponse({"error": {"message": "scripted failure", "type": "server_error"}},
                                status_code=reply.status)
        calls = [{"id": f"call_{uuid.uuid4().hex[:10]}", "type": "function",
                  "function": {"name": name,
                               "arguments": args if isinstance(args, str) else json.dumps(args)}}
                 for name, args in reply.tool_calls]
        usage = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                 "total_tokens": reply.prompt_tokens + reply.completion_tokens}
        base = {"id": f"chatcmpl-{uuid.uuid4().hex[:10]}", "created": int(time.time()),
                "model": body["model"]}
        finish = "tool_calls" if calls else "stop"
        if not body.get("stream"):
            message = {"role": "assistant", "content": reply.content or None}
            if calls:
                message["tool_calls"] = calls
            return JSONResponse({**base, "object": "chat.completion", "usage": usage,
                                 "choices": [{"index": 0, "message": message, "finish_reason": finish}]})

        def events():
            def chunk(delta: dict, finish_reason: str | None = None, **choice: Any) -> str:
                data = {**base, "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason,
                                     **choice}]}
                return f"data: {json.dumps(data)}\n\n"

            deltas = [{"content": reply.content[start:start + 8]}
                      for start in range(0, len(reply.content), 8)]
            deltas += [{"tool_calls": [{**call, "index": index}]} for index, call in enumerate(calls)]
            logprobs = _spread(reply.logprobs, len(deltas)) if body.get("logprobs") else None
            yield chunk({"role": "assistant", "content": ""})
            for index, delta in enumerate(deltas):
                extra = {"logprobs": logprobs[index]} if logprobs else {}
                yield chunk(delta, **extra)
            yield chunk({}, finish)
            yield f"data: {json.dumps({**base, 'object': 'chat.completion.chunk', 'choices': [], 'usage': usage})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

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


def _spread(logprobs: list[float] | None, pieces: int) -> list[dict[str, Any]] | None:
    """The tokens' logprobs in OpenAI's chunk shape, split in order over `pieces` chunks."""
    if logprobs is None or pieces == 0:
        return None
    parts = np.array_split(np.asarray(logprobs, dtype=float), pieces)
    return [{"content": [{"token": f"t{i}", "logprob": float(value), "bytes": None, "top_logprobs": []}
                         for i, value in enumerate(part)]} for part in parts]

"""The benchmarks' model: an OpenAI-compatible endpoint on loopback that streams like vLLM.

It asks for `memory.recall` when the last message is the user's, and answers
otherwise, a chunk per token (`ModelShape`); what it saw of each run goes to a
`ModelLog`. Used by `evals.bench.host_overhead` (in its own process's event loop)
and `evals.bench.model_client` (in a process of its own).
"""

from __future__ import annotations

import json
import random
import socket
import time
import uuid
from dataclasses import dataclass, field

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route


@dataclass(frozen=True)
class ModelShape:
    """How the stub model answers: like a real endpoint, one chunk per token."""

    latency_s: float = 0.0  # until its first token (± jitter of it)
    jitter: float = 0.0
    token_s: float = 0.0  # between tokens
    answer_tokens: int = 40  # the answer turn's length; a tool call streams its arguments
    # in ARGUMENT_TOKEN_CHARS pieces, as vLLM's tool parsers do


ARGUMENT_TOKEN_CHARS = 4


@dataclass
class ModelLog:
    """What the stub model saw of each run, keyed by the run's tag (the "[...]" its question ends with).

    `model_ms`: its own time (request to last chunk, sleeps and delays included), which
    the bench subtracts. `turn_gap_ms`: from the tool call's last chunk to the next
    request, the host's part of the tool-calling turn (with the tool's time in it).
    """

    model_ms: dict[str, float] = field(default_factory=dict)
    call_ended: dict[str, float] = field(default_factory=dict)
    turn_gap_ms: dict[str, float] = field(default_factory=dict)

    def take(self, tag: str) -> tuple[float, float | None]:
        self.call_ended.pop(tag, None)
        return self.model_ms.pop(tag, 0.0), self.turn_gap_ms.pop(tag, None)


def model_app(shape: ModelShape, log: ModelLog | None = None) -> Starlette:
    """A model that asks for `memory.recall`, then answers, streaming a chunk per token (see `ModelLog`)."""

    async def chat(request: Request) -> StreamingResponse:
        began = time.perf_counter()
        body = await request.json()
        question = next(m["content"] for m in body["messages"] if m["role"] == "user")
        tag = question.rsplit("[", 1)[-1].rstrip("]")
        last = body["messages"][-1]
        if log is not None and tag in log.call_ended:
            log.turn_gap_ms[tag] = (began - log.call_ended.pop(tag)) * 1000
        base = {"id": "b", "created": 0, "model": body["model"], "object": "chat.completion.chunk"}

        def chunk(delta: dict, finish: str | None = None) -> str:
            return "data: " + json.dumps({**base, "choices": [
                {"index": 0, "delta": delta, "finish_reason": finish}]}) + "\n\n"

        def deltas() -> list[dict]:
            if last["role"] == "user":
                arguments = json.dumps({"query": last["content"][:100]})
                pieces = [arguments[i:i + ARGUMENT_TOKEN_CHARS]
                          for i in range(0, len(arguments), ARGUMENT_TOKEN_CHARS)]
                head = {"index": 0, "id": f"c{uuid.uuid4().hex[:8]}", "type": "function",
                        "function": {"name": "memory__recall", "arguments": ""}}
                return [{"role": "assistant", "tool_calls": [head]}, *(
                    {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]} for piece in pieces)]
            words = [f" w{i}" for i in range(max(1, shape.answer_tokens))]
            return [{"role": "assistant", "content": "Found:"}, *({"content": w} for w in words)]

        async def events():
            pause = shape.latency_s * random.uniform(1 - shape.jitter, 1 + shape.jitter)
            if pause:
                await anyio.sleep(pause)
            stream = deltas()
            for index, delta in enumerate(stream):
                if index and shape.token_s:
                    await anyio.sleep(shape.token_s)
                yield chunk(delta)
            yield chunk({}, "tool_calls" if last["role"] == "user" else "stop")
            usage = {"prompt_tokens": 200, "completion_tokens": len(stream),
                     "total_tokens": 200 + len(stream)}
            yield "data: " + json.dumps({**base, "choices": [], "usage": usage}) + "\n\n"
            yield "data: [DONE]\n\n"
            if log is not None:
                ended = time.perf_counter()
                log.model_ms[tag] = log.model_ms.get(tag, 0.0) + (ended - began) * 1000
                if last["role"] == "user":
                    log.call_ended[tag] = ended

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

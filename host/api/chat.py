"""The chat endpoints: `POST /v1/chat` (Server-Sent Events) and `POST /v1/chat/completions`.

A chat turn runs in the host's own task group, not in the request: a client that
disconnects stops receiving events, but the run finishes (or pauses for approval)
and its answer lands in the conversation. `/v1/chat/completions` speaks OpenAI's
chat API, so an existing chat UI can use Tessera as its model.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from host.api.common import api, json_body, principal
from host.auth import Principal
from host.events import RunEvent
from host.session import start_run
from mcp_servers.kit.errors import TesseraError, UpstreamUnavailable, ValidationFailed

NO_MODEL = ("No model is configured. Set TESSERA_HOST_LLM_API_BASE to an OpenAI-compatible "
            "endpoint (vLLM, Ollama, llama.cpp) and TESSERA_HOST_LLM_MODEL to its model, e.g. "
            "hosted_vllm/qwen2.5-7b-instruct (vLLM) or openai/qwen2.5:7b (Ollama), then restart. "
            "/mcp and the approvals API work without one.")


class ChatRequest(BaseModel):
    message: str = Field(min_length=1, max_length=20_000, description="The user's message.")
    conversation_id: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$",
        description="Continue this conversation; a new one is started when omitted.")


async def admit(request: Request, who: Principal) -> None:
    """Refuse a chat turn early: no model configured, or over the rate limit (all processes)."""
    host = request.app.state.host
    if not host.model.configured:
        raise UpstreamUnavailable(NO_MODEL, model_fix_hint="Configure a model endpoint.")
    await request.app.state.limiter.admit_caller(host.policy(), who)


def launch(request: Request, who: Principal, conversation_id: str, text: str) -> AsyncIterator[RunEvent]:
    """Start the run in the host's task group; return the stream of its events."""
    send, receive = anyio.create_memory_object_stream[RunEvent](math.inf)
    host = request.app.state.host

    async def emit(event: RunEvent) -> None:
        try:
            send.send_nowait(event)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass  # the watcher left; the run goes on

    async def run() -> None:
        with send:
            try:
                await start_run(host, who, conversation_id, text, emit)
            except TesseraError as error:
                payload = error.to_payload().model_dump(mode="json", exclude_none=True)
                await emit(RunEvent(type="run_finished", run_id="", data={"status": "failed", **payload}))

    request.app.state.tasks.start_soon(run)

    async def events() -> AsyncIterator[RunEvent]:
        with receive:
            async for event in receive:
                yield event

    return events()


@api
async def chat(request: Request) -> Response:
    who = principal(request)
    body = ChatRequest.model_validate(await json_body(request))
    await admit(request, who)
    conversation_id = body.conversation_id or f"c-{uuid.uuid4().hex[:16]}"
    events = launch(request, who, conversation_id, body.message)

    async def stream() -> AsyncIterator[dict[str, str]]:
        async for event in events:
            yield {"event": event.type,
                   "data": json.dumps({"run_id": event.run_id, **event.data}, default=str)}

    return EventSourceResponse(stream(), headers={"X-Tessera-Conversation": conversation_id})


class CompletionRequest(BaseModel):
    model: str = Field(default="tessera", description="Ignored: Tessera chooses its model tiers.")
    messages: list[dict[str, Any]] = Field(min_length=1, description="OpenAI chat messages.")
    stream: bool = Field(default=False, description="Stream chunks as Server-Sent Events.")
    user: str | None = Field(default=None, description="Used as the conversation id when given.")


@api
async def completions(request: Request) -> Response:
    who = principal(request)
    body = CompletionRequest.model_validate(await json_body(request))
    question = next((m.get("content") for m in reversed(body.messages) if m.get("role") == "user"), None)
    if not isinstance(question, str) or not question.strip():
        raise ValidationFailed("The last user message must be text.",
                               model_fix_hint="End messages with a user message.")
    await admit(request, who)
    conversation_id = body.user or f"oai-{uuid.uuid4().hex[:16]}"
    events = launch(request, who, conversation_id, question)
    created, completion_id = int(time.time()), f"chatcmpl-{uuid.uuid4().hex[:16]}"

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return json.dumps({"id": completion_id, "object": "chat.completion.chunk", "created": created,
                           "model": "tessera", "choices": [{"index": 0, "delta": delta,
                                                            "finish_reason": finish}]})

    if body.stream:
        async def stream() -> AsyncIterator[dict[str, str]]:
            yield {"data": chunk({"role": "assistant", "content": ""})}
            streamed = False
            async for event in events:
                if event.type == "token":
                    streamed = True
                    yield {"data": chunk({"content": event.data["delta"]})}
                elif event.type == "answer" and not streamed:
                    yield {"data": chunk({"content": event.data.get("text") or ""})}
                elif event.type == "approval_required":
                    note = f"\n[approval {event.data['approval_id']} required for {event.data['tool']}]"
                    yield {"data": chunk({"content": note})}
            yield {"data": chunk({}, "stop")}
            yield {"data": "[DONE]"}

        return EventSourceResponse(stream())
    answer, usage = "", {}
    async for event in events:
        if event.type == "answer":
            answer = event.data.get("text") or ""
        elif event.type == "approval_required":
            answer = (f"The call {event.data['tool']} needs approval "
                      f"(request {event.data['approval_id']}); it runs once an approver decides.")
        elif event.type == "run_finished":
            usage = event.data.get("usage") or {}
    return JSONResponse({
        "id": completion_id, "object": "chat.completion", "created": created, "model": "tessera",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": usage.get("tokens_in", 0),
                  "completion_tokens": usage.get("tokens_out", 0),
                  "total_tokens": usage.get("tokens_in", 0) + usage.get("tokens_out", 0)},
    })

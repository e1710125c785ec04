"""A scripted OpenAI-compatible chat endpoint and a Cohere-style rerank endpoint, on loopback.

Tests point LiteLLM at it; nothing reaches a real model.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class ScriptedModels:
    def __init__(self) -> None:
        self.chat_requests: list[dict] = []
        self.rerank_requests: list[dict] = []
        self.chat_answer = "A scripted summary about {marker}."
        self.chat_status = 200
        self.app = Starlette(routes=[
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/rerank", self._rerank, methods=["POST"]),
            Route("/v2/rerank", self._rerank, methods=["POST"]),
        ])

    async def _chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.chat_requests.append(body)
        if self.chat_status != 200:
            return JSONResponse({"error": {"message": "scripted failure", "type": "server_error"}},
                                status_code=self.chat_status)
        prompt = body["messages"][-1]["content"]
        answer = self.chat_answer.replace("{marker}", str(len(self.chat_requests)))
        if "Claim:" in prompt:  # the citations verifier: yes unless the claim says "canteen"
            answer = "no" if "canteen" in prompt.split("Claim:")[1] else "yes"
        return JSONResponse({
            "id": "chat-1", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": answer}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        })

    async def _rerank(self, request: Request) -> JSONResponse:
        """Relevance = how often the document says 'preferred'; so the order is ours to choose."""
        body = await request.json()
        self.rerank_requests.append(body)
        scored = [(i, doc.count("preferred") / 10) for i, doc in enumerate(body["documents"])]
        scored.sort(key=lambda item: item[1], reverse=True)
        return JSONResponse({"id": "rerank-1", "results": [
            {"index": i, "relevance_score": score} for i, score in scored[: body.get("top_n")]]})

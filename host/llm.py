"""Model calls, only through LiteLLM: a Router with the tiers fast, standard and heavy.

Each tier maps to a model on an OpenAI-compatible endpoint (vLLM in production;
Ollama or llama.cpp on a laptop). With TESSERA_ENV=production the client refuses
an endpoint whose host is not on the on-prem allow-list, before any call. Replies
are streamed: text deltas go to `on_delta` as they arrive, unless the text looks
like a tool call written as text, which is held back and parsed instead. Asked for
logprobs, a reply carries its confidence: the geometric-mean probability of the
tokens the endpoint sent logprobs for (None when it sent none).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlparse

from host.settings import TIERS, HostSettings
from host.toolcalls import ToolCallRequest, looks_like_tool_call, parse_text_tool_calls
from mcp_servers.kit.errors import UpstreamTimeout, UpstreamUnavailable

OnDelta = Callable[[str], Awaitable[None]]


class ModelNotConfigured(RuntimeError):
    """No chat endpoint is configured: chat answers 503 with how to configure one."""


class EndpointRefused(RuntimeError):
    """A production host was pointed at a model endpoint that is not on-prem."""


@dataclass(frozen=True)
class ModelReply:
    text: str
    tool_calls: tuple[ToolCallRequest, ...]
    tokens_in: int
    tokens_out: int
    cost: float
    model: str
    tier: str
    calls_from_text: bool = False
    confidence: float | None = None  # None: logprobs not asked for, or the endpoint sent none


def check_endpoint(settings: HostSettings, production: bool) -> None:
    if settings.llm_api_base is None or not production:
        return
    host = urlparse(settings.llm_api_base).hostname or ""
    if host not in settings.llm_onprem_hosts:
        raise EndpointRefused(
            f"model endpoint host {host!r} is not on TESSERA_HOST_LLM_ONPREM_HOSTS; production "
            "sends prompts only to on-prem endpoints"
        )


class ModelClient:
    def __init__(self, settings: HostSettings, *, production: bool) -> None:
        check_endpoint(settings, production)
        self.settings = settings
        self.configured = settings.llm_api_base is not None
        self._router: Any = None

    def model_for(self, tier: str) -> str:
        s = self.settings
        return {"fast": s.llm_fast_model, "heavy": s.llm_heavy_model}.get(tier) or s.llm_model

    def stronger_tier(self, tier: str) -> str | None:
        """The next tier up that runs another model, or None: the same model would answer the same."""
        higher = escalate(tier)
        while higher is not None and self.model_for(higher) == self.model_for(tier):
            higher = escalate(higher)
        return higher

    def prepare(self) -> None:
        """Import LiteLLM and build the Router now (the host does this at start)."""
        if self.configured:
            self._get_router()

    def _get_router(self) -> Any:
        if self._router is None:
            litellm = _litellm()
            # Our prices (0: free) in LiteLLM's price map, once: unpriced models cost it a
            # "zero cost" diagnosis per call, and prices passed per call re-register the
            # model (and rebuild its whole price index) on every call.
            litellm.register_model({
                self.model_for(tier): {
                    "litellm_provider": self.model_for(tier).split("/", 1)[0], "mode": "chat",
                    "input_cost_per_token": self.settings.llm_price_per_1k_input / 1000,
                    "output_cost_per_token": self.settings.llm_price_per_1k_output / 1000,
                    "cache_creation_input_token_cost": 0.0, "cache_read_input_token_cost": 0.0,
                } for tier in TIERS
            })
            key = self.settings.llm_api_key.get_secret_value() if self.settings.llm_api_key else "none"
            self._router = litellm.Router(
                model_list=[
                    {"model_name": tier, "litellm_params": {
                        "model": self.model_for(tier), "api_base": self.settings.llm_api_base,
                        "api_key": key, "timeout": self.settings.llm_timeout_s, "max_retries": 0,
                    }} for tier in TIERS
                ],
                num_retries=0,
            )
        return self._router

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                       *, tier: str, on_delta: OnDelta, logprobs: bool = False) -> ModelReply:
        if not self.configured:
            raise ModelNotConfigured("no model endpoint is configured")
        litellm = _litellm()
        try:
            stream = await self._get_router().acompletion(
                model=tier, messages=messages, tools=tools or None, stream=True,
                stream_options={"include_usage": True}, temperature=self.settings.llm_temperature,
                **({"logprobs": True} if logprobs else {}),
            )
            chunks, text = [], ""
            token_logprobs: list[float] = []
            held = False
            async for chunk in stream:
                chunks.append(chunk)
                token_logprobs += _token_logprobs(chunk)
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if not delta:
                    continue
                text += delta
                held = held or looks_like_tool_call(text)
                if not held:
                    await on_delta(delta)
        except litellm.Timeout:
            raise UpstreamTimeout("The model did not answer in time.") from None
        except (litellm.APIConnectionError, litellm.ServiceUnavailableError,
                litellm.InternalServerError, litellm.RateLimitError, litellm.BadGatewayError) as exc:
            raise UpstreamUnavailable(f"The model endpoint failed: {type(exc).__name__}.",
                                      retry_after_s=2.0) from None
        except litellm.APIError as exc:
            raise UpstreamUnavailable(f"The model endpoint refused the request: {type(exc).__name__}.") from None
        full = litellm.stream_chunk_builder(chunks, messages=messages)
        reply = self._reply(full, text, tier, tools)
        if token_logprobs:
            reply = replace(reply, confidence=math.exp(sum(token_logprobs) / len(token_logprobs)))
        return reply

    def _reply(self, full: Any, text: str, tier: str, tools: list[dict[str, Any]]) -> ModelReply:
        message = full.choices[0].message
        calls = tuple(
            ToolCallRequest(id=call.id, name=call.function.name or "",
                            arguments=call.function.arguments or "{}")
            for call in (message.tool_calls or [])
        )
        content = message.content or text or ""
        from_text = False
        if not calls:
            offered = {tool["function"]["name"] for tool in tools}
            calls = tuple(parse_text_tool_calls(content, offered))
            from_text = bool(calls)
            if from_text:
                content = ""
        usage = getattr(full, "usage", None)
        tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
        cost = (tokens_in * self.settings.llm_price_per_1k_input
                + tokens_out * self.settings.llm_price_per_1k_output) / 1000
        return ModelReply(text=content, tool_calls=calls, tokens_in=tokens_in,
                          tokens_out=tokens_out, cost=cost, model=self.model_for(tier),
                          tier=tier, calls_from_text=from_text)


def _litellm() -> Any:
    # LiteLLM fetches a price list from the internet at import unless told not to.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    # We keep our own run records and use no LiteLLM callbacks; its per-stream success
    # logging cost about a fifth of the CPU of each model call (measured, host bench).
    litellm.disable_streaming_logging = True
    return litellm


def _token_logprobs(chunk: Any) -> list[float]:
    """The logprobs of the tokens in one streamed chunk, content or tool call alike.

    `stream_chunk_builder` drops them, so they are read from each chunk as it arrives
    (LiteLLM gives them as `choices[0].logprobs.content[*].logprob`).
    """
    logprobs = getattr(chunk.choices[0], "logprobs", None) if chunk.choices else None
    return [float(token.logprob) for token in getattr(logprobs, "content", None) or []]


def escalate(tier: str) -> str | None:
    """The next tier up, or None at the top."""
    index = TIERS.index(tier)
    return TIERS[index + 1] if index + 1 < len(TIERS) else None


def parse_arguments(text: str) -> dict[str, Any] | None:
    """The tool call's arguments as an object, or None when the model wrote no valid JSON object."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None

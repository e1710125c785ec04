"""The kb server's optional LLM helpers, through LiteLLM: chunk summaries and reranking.

Both are off unless configured (`TESSERA_KB_SUMMARY_MODEL`, `TESSERA_KB_RERANK_MODEL`).
LiteLLM's exceptions are mapped to the taxonomy here, at the edge
(`map_litellm_errors`), with a test that the mapping is complete.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

import anyio

from mcp_servers.kb.settings import KbSettings
from mcp_servers.kit.errors import TesseraError, UpstreamTimeout, UpstreamUnavailable

logger = logging.getLogger("tessera.kb.llm")

SUMMARY_PROMPT = (
    "Write one sentence (at most 30 words) that says what the following passage of the "
    "document '{title}' is about, so it can be found by search. Answer with the sentence only."
    "\n\n{text}"
)
SUMMARY_CONCURRENCY = 4


def _litellm() -> Any:
    # LiteLLM fetches a price list from the internet at import unless told not to.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    return litellm


def category_for(error: type[BaseException]) -> type[TesseraError] | None:
    """Our category for an exception LiteLLM (or the OpenAI client or httpx under it) raises.

    A timeout may pass on retry; everything else LiteLLM raises (rate limits,
    outages, an endpoint that refuses the request, which is a configuration
    fault the caller cannot fix) means the service is unusable now.
    """
    litellm = _litellm()
    if issubclass(error, litellm.Timeout):
        return UpstreamTimeout
    if error.__module__.split(".")[0] in ("litellm", "openai", "httpx"):
        return UpstreamUnavailable
    return None


@contextlib.contextmanager
def map_litellm_errors(what: str) -> Iterator[None]:
    try:
        yield
    except TesseraError:
        raise
    except Exception as exc:
        category = category_for(type(exc))
        if category is None:
            raise
        logger.warning("%s service failed", what, exc_info=True)
        retry = {"retry_after_s": 2.0} if category is UpstreamUnavailable else {}
        raise category(f"The {what} service failed or is unavailable.", **retry) from None


class Summarizer:
    """One-sentence chunk summaries from a chat model."""

    def __init__(self, settings: KbSettings) -> None:
        assert settings.summary_model
        self.model = settings.summary_model
        self._settings = settings

    async def summarize(self, title: str, texts: Sequence[str]) -> list[str]:
        results = [""] * len(texts)
        failures: list[TesseraError] = []
        limiter = anyio.Semaphore(SUMMARY_CONCURRENCY)

        async def one(index: int) -> None:
            async with limiter:
                try:
                    results[index] = await self._one(title, texts[index])
                except TesseraError as exc:  # raised below as itself, not as a task group
                    failures.append(exc)

        async with anyio.create_task_group() as group:
            for index in range(len(texts)):
                group.start_soon(one, index)
        if failures:
            raise failures[0]
        return results

    async def _one(self, title: str, text: str) -> str:
        litellm = _litellm()
        key = self._settings.summary_api_key
        with map_litellm_errors("summary"):
            response: Any = await litellm.acompletion(
                model=self.model,
                messages=[{"role": "user", "content": SUMMARY_PROMPT.format(title=title, text=text)}],
                api_base=self._settings.summary_api_base,
                api_key=key.get_secret_value() if key else "unused",
                timeout=self._settings.llm_timeout_s,
                temperature=0,
                max_tokens=80,
            )
        content = response.choices[0].message.content or ""
        return " ".join(content.split())[:400]


class Reranker:
    """Orders candidates with a cross-encoder behind a LiteLLM rerank endpoint."""

    def __init__(self, settings: KbSettings) -> None:
        assert settings.rerank_model
        self.model = settings.rerank_model
        self._settings = settings

    async def rerank(self, query: str, documents: Sequence[str]) -> list[tuple[int, float]]:
        """(index into documents, relevance) best first."""
        if not documents:
            return []
        litellm = _litellm()
        key = self._settings.rerank_api_key
        with map_litellm_errors("rerank"):
            response: Any = await litellm.arerank(
                model=self.model,
                query=query,
                documents=list(documents),
                top_n=len(documents),
                api_base=self._settings.rerank_api_base,
                api_key=key.get_secret_value() if key else "unused",
                timeout=self._settings.llm_timeout_s,
            )
        ranked = [(int(r["index"]), float(r["relevance_score"])) for r in response.results]
        if any(not 0 <= index < len(documents) for index, _ in ranked):
            raise UpstreamUnavailable("The rerank service answered with an unknown document index.")
        return sorted(ranked, key=lambda item: item[1], reverse=True)

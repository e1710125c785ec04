"""The optional LLM verifier: do the passages support a claim? Through LiteLLM.

LiteLLM's exceptions are mapped to the taxonomy here, at the edge
(`category_for`), with a test that every LiteLLM exception class is covered.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from mcp_servers.citations.settings import CitationsSettings
from mcp_servers.kit.errors import TesseraError, UpstreamTimeout, UpstreamUnavailable

logger = logging.getLogger("tessera.citations.verifier")

PROMPT = (
    "Passages:\n{passages}\n\nClaim: {claim}\n\n"
    "Do the passages state or directly imply the claim? Answer with one word: yes or no."
)


def _litellm() -> Any:
    # LiteLLM fetches a price list from the internet at import unless told not to.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    return litellm


def category_for(error: type[BaseException]) -> type[TesseraError] | None:
    """Timeouts may pass on retry; anything else from LiteLLM means the verifier is unusable."""
    if issubclass(error, _litellm().Timeout):
        return UpstreamTimeout
    if error.__module__.split(".")[0] in ("litellm", "openai", "httpx"):
        return UpstreamUnavailable
    return None


class Verifier:
    def __init__(self, settings: CitationsSettings) -> None:
        assert settings.verifier_model
        self._settings = settings

    async def supports(self, claim: str, passages: list[str]) -> bool:
        litellm = _litellm()
        key = self._settings.verifier_api_key
        text = "\n".join(f"- {p}" for p in passages)
        try:
            response: Any = await litellm.acompletion(
                model=self._settings.verifier_model,
                messages=[{"role": "user", "content": PROMPT.format(passages=text, claim=claim)}],
                api_base=self._settings.verifier_api_base,
                api_key=key.get_secret_value() if key else "unused",
                timeout=self._settings.verifier_timeout_s, temperature=0, max_tokens=3,
            )
        except Exception as exc:
            category = category_for(type(exc))
            if category is None:
                raise
            logger.warning("verifier failed", exc_info=True)
            raise category("The verifier model failed or is unavailable.") from None
        answer = (response.choices[0].message.content or "").strip().lower()
        return answer.startswith("yes")

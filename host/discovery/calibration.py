"""The calibrated "no suitable tool" thresholds, one per embedding model.

`search_tools` abstains when the best allowed tool's fused score is below the
threshold of the embedding model in use. Each value was calibrated on held-out
MetaTool data by `python -m evals.tools --calibrate` (docs/tool-discovery.md):
the 10th percentile of the best tool's score over the calibration queries of
tools in the catalog, so that at most ~10 % of servable queries are refused.
The queries used to calibrate are disjoint from every query the eval scores.

`TESSERA_DISCOVERY_MIN_SCORE` overrides the table; a model not in it (a remote
one through LiteLLM) uses `FALLBACK_MIN_SCORE` until calibrated for it.
"""

from __future__ import annotations

CALIBRATED_MIN_SCORE: dict[str, float] = {
    "wordllama-l2-supercat-256": 0.16,
    "all-minilm-l6-v2": 0.17,
}

FALLBACK_MIN_SCORE = 0.16


def min_score_for(model: str, override: float | None = None) -> float:
    """The threshold to use with `model`: the override, the calibrated one, or the fallback."""
    if override is not None:
        return override
    return CALIBRATED_MIN_SCORE.get(model, FALLBACK_MIN_SCORE)

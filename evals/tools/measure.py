"""Scoring a catalog on a query set: recall@k, abstention, tokens, latency.

Everything goes through the product's own `ToolCatalog` and `CatalogView.search`
(the same path the host takes), with every tool allowed. Recall is measured on
the ranked candidates; "abstained" means the search answered no suitable tool.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from evals.tools.tokens import count_tokens, definitions_tokens
from host.discovery import CatalogView, SearchToolsOutput, ToolCatalog
from mcp_servers.kit.embeddings import Embedder, EmbeddingModelInfo

TENANT = "eval"


@dataclass(frozen=True)
class Labeled:
    query: str
    tool: str  # the one tool that serves it


@dataclass(frozen=True)
class Report:
    label: str
    tools: int
    queries: int
    recall_at_1: float
    recall_at_5: float
    found_shown: float  # the right tool was among the tools actually returned (default k)
    false_abstention: float | None  # servable queries answered "no suitable tool"
    unservable: int
    abstention: float | None  # unservable queries answered "no suitable tool"
    tokens_all: int
    tokens_discovery: float  # mean per servable query
    search_ms_p50: float  # query vectors are pre-computed: ranking only (see evals/bench)

    @property
    def token_reduction(self) -> float:
        return 1 - self.tokens_discovery / self.tokens_all if self.tokens_all else 0.0


class QueryVectorCache:
    """An `Embedder` that remembers query vectors, so configurations share one embedding pass."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._queries: dict[str, np.ndarray] = {}

    @property
    def info(self) -> EmbeddingModelInfo:
        return self.embedder.info

    async def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return await self.embedder.embed_documents(texts)

    async def embed_query(self, text: str) -> np.ndarray:
        if text not in self._queries:
            self._queries[text] = await self.embedder.embed_query(text)
        return self._queries[text]

    async def warm(self, texts: Sequence[str]) -> None:
        """Embed many queries in batches (the eval's speed-up; searches then hit the cache)."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._queries]
        for start in range(0, len(todo), 256):
            batch = todo[start : start + 256]
            for text, vector in zip(batch, await self.embedder.embed_documents(batch), strict=True):
                self._queries[text] = vector


async def evaluate(label: str, catalog: ToolCatalog, servable: Sequence[Labeled],
                   unservable: Sequence[str] = (), *, abstains: bool = True) -> Report:
    """Recall of the ranking (top 1, top 5) and of what the model is shown (the default k).

    `abstains=False` for rows whose scores the threshold was not calibrated for.
    """
    view = catalog.view(lambda name: True)
    core = view.core_tools(TENANT)
    shown_k = catalog.settings.default_k
    hits1 = hits5 = found = refused = 0
    discovery_tokens, timings = [], []
    for item in servable:
        started = time.perf_counter()
        result = await view.search(item.query, max(5, shown_k))
        timings.append((time.perf_counter() - started) * 1000)
        names = [m.tool.name for m in result.candidates]
        hits1 += names[:1] == [item.tool]
        hits5 += item.tool in names[:5]
        refused += result.no_suitable_tool
        if not abstains:  # judge this row as if it never abstained
            result = replace(result, matches=result.candidates)
        result = replace(result, matches=result.matches[:shown_k])
        found += item.tool in [m.tool.name for m in result.matches]
        answer = SearchToolsOutput.from_result(result).model_dump_json()
        shown = list(core) + [m.tool for m in result.matches if m.tool not in core]
        discovery_tokens.append(definitions_tokens(shown, with_search_tools=True)
                                + count_tokens(answer))
    abstained = [(await view.search(query)).no_suitable_tool for query in unservable]
    n = max(len(servable), 1)
    return Report(
        label=label,
        tools=len(view.tools),
        queries=len(servable),
        recall_at_1=hits1 / n,
        recall_at_5=hits5 / n,
        found_shown=found / n,
        false_abstention=refused / n if abstains else None,
        unservable=len(unservable),
        abstention=sum(abstained) / len(abstained) if abstained and abstains else None,
        tokens_all=definitions_tokens(view.tools, with_search_tools=False),
        tokens_discovery=statistics.fmean(discovery_tokens) if discovery_tokens else 0.0,
        search_ms_p50=statistics.median(timings) if timings else 0.0,
    )


async def calibrate(view: CatalogView, queries: Sequence[str], *, quantile: float = 0.10) -> float:
    """The best-tool score that `1 - quantile` of servable calibration queries reach."""
    best = [(await view.search(query, 1)).best_score for query in queries]
    return float(np.quantile([b for b in best if b is not None], quantile))


HEADER = ("| set | tools | queries | R@1 | R@5 | found in answer | refused (servable) "
          "| abstained (unservable) | tool tokens: all | with discovery | saved | ranking p50 |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|")


def row(report: Report) -> str:
    abstention = "–" if report.abstention is None else f"{report.abstention:.3f} (n={report.unservable})"
    refused = "–" if report.false_abstention is None else f"{report.false_abstention:.3f}"
    return (f"| {report.label} | {report.tools} | {report.queries} | {report.recall_at_1:.3f} "
            f"| {report.recall_at_5:.3f} | {report.found_shown:.3f} | {refused} | {abstention} "
            f"| {report.tokens_all:,} | {report.tokens_discovery:,.0f} "
            f"| {report.token_reduction:.0%} | {report.search_ms_p50:.2f} ms |")

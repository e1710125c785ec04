"""`ToolSearchIndex`: hybrid ranking of tools, and the "no suitable tool" answer.

One index is an immutable snapshot of the catalog: descriptors, their unit
vectors and a BM25 index over their tokens. `search` scores only the rows it is
given (the caller's allowed tools), so a tool outside that set is never ranked.

The fused score of a tool is a weighted sum

    score = w * bm25_normalized + (1 - w) * cosine

with `w = TESSERA_DISCOVERY_LEXICAL_WEIGHT` (0.4). Both parts have a fixed scale
(`lexical.Bm25Index.normalized_scores` is in [0, 1], cosine in [-1, 1]), so one
threshold on the best tool's score decides "no suitable tool"; it was calibrated
on held-out MetaTool queries for each local model (`calibration.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from host.discovery.descriptor import ToolDescriptor, words
from host.discovery.lexical import Bm25Index, document_tokens, tokenize

# The tool's own name words count this many extra times for BM25 (a field boost):
# "remember ..." should find memory.remember before tools that merely mention it.
NAME_BOOST = 2


@dataclass(frozen=True)
class ToolMatch:
    """One ranked tool, with the parts of its score."""

    tool: ToolDescriptor
    score: float  # fused
    lexical: float  # normalized BM25, 0..1
    semantic: float  # cosine similarity, -1..1


@dataclass(frozen=True)
class SearchResult:
    """What one search found; `matches` is empty exactly when it abstained.

    `candidates` are the best `k` allowed tools whatever their score, for traces
    and evals; only `matches` may be shown to the model.
    """

    query: str
    matches: tuple[ToolMatch, ...]
    candidates: tuple[ToolMatch, ...]
    best_score: float | None  # of the best allowed tool, even when below the threshold
    min_score: float

    @property
    def no_suitable_tool(self) -> bool:
        return not self.matches


class ToolSearchIndex:
    """An immutable, searchable snapshot of tool descriptors and their vectors."""

    def __init__(self, descriptors: Sequence[ToolDescriptor], vectors: np.ndarray, *,
                 lexical_weight: float) -> None:
        if len(descriptors) != len(vectors):
            raise ValueError("one vector per descriptor is needed")
        self.descriptors = tuple(descriptors)
        self.rows = {d.name: row for row, d in enumerate(self.descriptors)}
        if len(self.rows) != len(self.descriptors):
            raise ValueError("tool names in a catalog must be unique")
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.lexical_weight = lexical_weight
        self.bm25 = Bm25Index([document_tokens(d.search_text) + document_tokens(words(d.tool)) * NAME_BOOST
                               for d in self.descriptors])

    @classmethod
    def empty(cls, dimensions: int, lexical_weight: float) -> ToolSearchIndex:
        return cls((), np.zeros((0, dimensions), dtype=np.float32), lexical_weight=lexical_weight)

    def __len__(self) -> int:
        return len(self.descriptors)

    def rows_of(self, names: Sequence[str]) -> np.ndarray:
        """Row numbers of the named tools that are in this snapshot, in the given order."""
        return np.array([self.rows[name] for name in names if name in self.rows], dtype=np.int64)

    def rank(self, query: str, query_vector: np.ndarray, rows: np.ndarray) -> list[ToolMatch]:
        """Every tool at `rows`, best first (ties by name, so the order is stable)."""
        if len(rows) == 0:
            return []
        lexical = self.bm25.normalized_scores(tokenize(query), rows)
        semantic = self.vectors[rows] @ np.asarray(query_vector, dtype=np.float32)
        fused = self.lexical_weight * lexical + (1 - self.lexical_weight) * semantic
        matches = [
            ToolMatch(self.descriptors[row], float(f), float(lex), float(sem))
            for row, f, lex, sem in zip(rows, fused, lexical, semantic, strict=True)
        ]
        matches.sort(key=lambda m: (-m.score, m.tool.name))
        return matches

    def search(self, query: str, query_vector: np.ndarray, rows: np.ndarray, *, k: int,
               min_score: float) -> SearchResult:
        """The best `k` tools at `rows`, or none when even the best scores below `min_score`."""
        candidates = tuple(self.rank(query, query_vector, rows)[:k])
        best = candidates[0].score if candidates else None
        matches = candidates if best is not None and best >= min_score else ()
        return SearchResult(query=query, matches=matches, candidates=candidates,
                            best_score=best, min_score=min_score)

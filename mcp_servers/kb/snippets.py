"""Snippets with matched spans, and the retrieval cache.

A snippet is the window of sentences in a chunk's text that holds the most
distinct query words, with the character offsets of every query word matched in
it, so a citation can point at the exact span. Words match when equal or when
they share a stem-like prefix ("bearing" matches "bearings"); stop words never
match.

The retrieval cache maps (tenant, clearance, normalised query, options, KB
version) to results. Every ingestion or deletion bumps the tenant's KB version,
so a change makes older entries unreachable at once; a TTL bounds how long a
stale flag computed at search time is served.
"""

from __future__ import annotations

import functools
import re
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

WORD = re.compile(r"\w+", re.UNICODE)
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")
SNIPPET_CHARS = 320
STOP_WORDS = frozenset(
    "a an and are as at be but by for from has have how i if in into is it its of on or that "
    "the their there these this to was were what when where which who why will with does do "
    "did can could should would about".split()
)


def query_words(query: str) -> list[str]:
    words = [w.lower() for w in WORD.findall(query)]
    return list(dict.fromkeys(w for w in words if w not in STOP_WORDS and (len(w) > 1 or w.isdigit())))


@functools.lru_cache(maxsize=256)
def _word_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for every query word; group `w<i>` says which word a match is (cached per query)."""
    parts = []
    for index, word in enumerate(words):
        body = re.escape(word) + ("(?:e?s)?" if word.isalpha() else "")
        if len(word) >= 5:  # a stem-like prefix plus a bounded ending: "bearing" ~ "bearings"
            stem = max(4, len(word) - 3)
            low, high = max(0, len(word) - 4 - stem), len(word) + 4 - stem
            body = re.escape(word[:stem]) + rf"\w{{{low},{high}}}"
        parts.append(rf"(?P<w{index}>{body})")
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def snippet(text: str, query: str) -> dict[str, Any]:
    """{text, start, end, matches: [{start, end}]} with offsets into `text`."""
    words = query_words(query)
    hits = ([(m.start(), m.end(), m.lastgroup) for m in _word_pattern(tuple(words)).finditer(text)]
            if words else [])
    starts = [0] + [m.end() for m in SENTENCE_END.finditer(text)]
    best = (-1, 0, min(len(text), SNIPPET_CHARS))
    for start in starts:
        end = min(len(text), start + SNIPPET_CHARS)
        cut = text.rfind(" ", start, end) if end < len(text) else end
        end = cut if cut > start else end
        found = {w for s, e, w in hits if s >= start and e <= end}
        if len(found) > best[0]:
            best = (len(found), start, end)
    _, start, end = best
    return {
        "text": text[start:end],
        "start": start,
        "end": end,
        "matches": [{"start": s, "end": e} for s, e, _ in hits if s >= start and e <= end],
    }


def normalise_query(query: str) -> str:
    return " ".join(query.lower().split())


class RetrievalCache:
    """A small LRU with a TTL; keys carry the KB version, so changes invalidate them."""

    def __init__(self, entries: int, ttl_s: float) -> None:
        self._entries = entries
        self._ttl_s = ttl_s
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def get(self, key: Hashable) -> Any | None:
        item = self._items.get(key)
        if item is None:
            return None
        stored_at, value = item
        if time.monotonic() - stored_at > self._ttl_s:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        if self._entries <= 0:
            return
        self._items[key] = (time.monotonic(), value)
        self._items.move_to_end(key)
        while len(self._items) > self._entries:
            self._items.popitem(last=False)

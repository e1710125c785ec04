"""The lexical half of tool search: a stemming tokenizer and a small BM25 index.

Tokens are lower-cased words with identifiers split (`exportUser` -> export,
user), English stop words dropped and Snowball-stemmed (`orders` and `ordering`
meet at `order`). `Bm25Index` keeps one posting list per term, so scoring a
query touches only the documents that contain its terms, and scores only the
rows it is asked about: tools outside the caller's allowed set are never scored.

`normalized_scores` divides each BM25 score by the best score the query could
reach (every query term matched with saturated term frequency; a term the
catalog has never seen counts with the highest IDF), giving a number in [0, 1]
that means "how much of what was asked is in this tool" whatever the query's
length — the property the calibrated "no suitable tool" threshold needs.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import Stemmer

STOP_WORDS = frozenset(
    """a about all also an and any are as at be been but by can could do does for from get
    give has have how i if in into is it its let me my need of on or our please show some
    tell than that the their them then there these this those to us use using want was we
    what when where which who will with would you your""".split()
)
_WORD = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")  # PyStemmer: the Snowball stemmers, in C


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


def tokenize(text: str) -> list[str]:
    """Stemmed content words of `text`, in order, repeats kept."""
    words = _WORD.findall(_CAMEL.sub(" ", text).lower())
    return [_stem(word) for word in words if word not in STOP_WORDS]


@lru_cache(maxsize=8192)
def document_tokens(text: str) -> tuple[str, ...]:
    """`tokenize` for a tool's text, remembered: a catalog refresh re-tokenizes nothing unchanged."""
    return tuple(tokenize(text))


class Bm25Index:
    """Okapi BM25 over a fixed list of token lists (one per tool)."""

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.size = len(documents)
        vocabulary: dict[str, int] = {}
        term_ids: list[int] = []
        doc_rows: list[int] = []
        counts: list[int] = []
        for row, doc in enumerate(documents):
            for term, count in Counter(doc).items():
                term_ids.append(vocabulary.setdefault(term, len(vocabulary)))
                doc_rows.append(row)
                counts.append(count)
        terms = np.array(term_ids, dtype=np.int64)
        rows = np.array(doc_rows, dtype=np.int64)
        tf = np.array(counts, dtype=np.float32)
        lengths = np.array([len(doc) for doc in documents], dtype=np.float32)
        average = float(lengths.mean()) if self.size and lengths.sum() else 1.0
        df = np.bincount(terms, minlength=len(vocabulary)).astype(np.float32)
        # The "+1" form of IDF never goes negative, so a word common to most tools
        # still counts a little instead of pushing scores down.
        idf = np.log1p((self.size - df + 0.5) / (df + 0.5))
        norm = k1 * (1 - b + b * lengths[rows] / average) if len(rows) else tf
        weights = idf[terms] * tf * (k1 + 1) / (tf + norm)
        # Postings: entries sorted by term, each term's slice found by its bounds.
        order = np.argsort(terms, kind="stable")
        self._rows, self._weights = rows[order], weights[order].astype(np.float32)
        bounds = np.searchsorted(terms[order], np.arange(len(vocabulary) + 1))
        self._postings = {term: (int(bounds[i]), int(bounds[i + 1])) for term, i in vocabulary.items()}
        self._idf = {term: float(idf[i]) for term, i in vocabulary.items()}
        self.unseen_idf = math.log(1 + (self.size + 0.5) / 0.5)

    def scores(self, query: Sequence[str], rows: np.ndarray) -> np.ndarray:
        """BM25 of `query` for the documents at `rows` (and only those)."""
        mask = np.zeros(self.size, dtype=bool)
        mask[rows] = True
        total = np.zeros(self.size, dtype=np.float32)
        for term in query:
            bounds = self._postings.get(term)
            if bounds is not None:
                docs, weights = self._rows[bounds[0]:bounds[1]], self._weights[bounds[0]:bounds[1]]
                keep = mask[docs]
                total[docs[keep]] += weights[keep]
        return total[rows]

    def best_possible(self, query: Sequence[str]) -> float:
        """The score of a document matching every query term with saturated frequency."""
        return sum(self._idf.get(term, self.unseen_idf) for term in query) * (self.k1 + 1)

    def normalized_scores(self, query: Sequence[str], rows: np.ndarray) -> np.ndarray:
        bound = self.best_possible(query)
        if bound <= 0:
            return np.zeros(len(rows), dtype=np.float32)
        return self.scores(query, rows) / bound

"""Text matching for citations: claims, passages, quotes and overlap scores.

Pure functions, no I/O. A claim is a sentence of the answer (citation markers
like `[1]` or `[chunk:…]` removed); a passage is a sentence of a chunk. Lexical
overlap is the share of the claim's content words found in the passage (words
match when equal or when they share a stem-like prefix). A claim with numbers is
only supported by a passage that has the same numbers: "25 Nm" is not "30 Nm".
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

WORD = re.compile(r"\w+(?:[.,]\d+)*", re.UNICODE)
SENTENCE = re.compile(r"[^.!?;\n]+(?:[.!?;]+|\n|$)")
MARKER = re.compile(r"\[(?:\d+|[\w:.-]*chunk[\w:.-]*|[0-9a-f-]{36})\]", re.I)
QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                        "\u2013": "-", "\u2014": "-", "\u00a0": " "})
STOP_WORDS = frozenset(
    "a an and are as at be been but by for from has have had i if in into is it its of on or "
    "that the their there these this those to was were will with which who what when where "
    "also than then so such not no can may should would could our we you they he she".split()
)
MIN_CLAIM_WORDS = 3


@dataclass(frozen=True)
class Piece:
    text: str
    start: int
    end: int


def sentences(text: str) -> list[Piece]:
    pieces = []
    for match in SENTENCE.finditer(text):
        raw = match.group()
        lead = len(raw) - len(raw.lstrip())
        body = raw.strip()
        if body:
            start = match.start() + lead
            pieces.append(Piece(body, start, start + len(body)))
    return pieces


def claims(answer: str) -> list[Piece]:
    """The answer's sentences that state something (three or more content words)."""
    found = []
    for piece in sentences(answer):
        if len(content_words(MARKER.sub(" ", piece.text))) >= MIN_CLAIM_WORDS:
            found.append(piece)
    return found


def content_words(text: str) -> list[str]:
    words = [w.lower() for w in WORD.findall(text.translate(QUOTES))]
    return [w for w in words if w not in STOP_WORDS]


def numbers(words: list[str]) -> set[str]:
    return {w.replace(",", ".") for w in words if any(c.isdigit() for c in w)}


def _same_word(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) < 5 or len(b) < 5 or any(c.isdigit() for c in a + b):
        return False
    stem = min(len(a), len(b)) - 2
    return a[:stem] == b[:stem] and stem >= 4


def lexical_overlap(claim: str, passage: str) -> float:
    wanted = list(dict.fromkeys(content_words(MARKER.sub(" ", claim))))
    if not wanted:
        return 0.0
    have = set(content_words(passage))
    if not numbers(wanted) <= numbers(list(have)):
        return 0.0
    hits = sum(1 for w in wanted if w in have or any(_same_word(w, h) for h in have))
    return hits / len(wanted)


def _normalise(text: str) -> tuple[str, list[int]]:
    """Lower-cased text with runs of whitespace as one space, and each character's origin."""
    out, origin = [], []
    previous_space = False
    for index, char in enumerate(text.translate(QUOTES)):
        if char.isspace():
            if previous_space:
                continue
            char, previous_space = " ", True
        else:
            previous_space = False
        out.append(char.lower())
        origin.append(index)
    return "".join(out), origin


def find_quote(text: str, quote: str) -> tuple[int, int, bool] | None:
    """(start, end, exact) of `quote` in `text`, exactly or up to case, spaces and quote marks."""
    at = text.find(quote)
    if at >= 0:
        return at, at + len(quote), True
    norm_text, origin = _normalise(text)
    norm_quote, _ = _normalise(quote.strip())
    at = norm_text.find(norm_quote) if norm_quote else -1
    if at < 0:
        return None
    return origin[at], origin[at + len(norm_quote) - 1] + 1, False


def closest_passage(text: str, quote: str) -> tuple[Piece, float]:
    """The window of `text` most like `quote`, and how alike they are (0–1)."""
    best, best_ratio = Piece(text[: len(quote)], 0, min(len(quote), len(text))), 0.0
    norm_quote = quote.lower()
    for piece in sentences(text):
        ratio = difflib.SequenceMatcher(None, piece.text.lower(), norm_quote).ratio()
        if ratio > best_ratio:
            best, best_ratio = piece, ratio
    return best, best_ratio

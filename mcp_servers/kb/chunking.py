"""Structure-aware chunking and the contextual header each chunk is indexed with.

Chunks never cross a heading: each carries its section path (the headings above
it). Paragraphs of one section are packed together up to `max_chars`; a table
stays whole when it fits, and otherwise is split by rows with its first (header)
row repeated in every part; an over-long paragraph is split at sentence ends.

The contextual header is deterministic: document title, section path, and, when
an LLM is configured, its one-sentence summary of the chunk (cached by content
hash, so unchanged content is never summarised twice). Header plus text is what
gets embedded and indexed; the text alone is what is quoted.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from mcp_servers.kb.parsing import Block, Parsed


@dataclass(frozen=True)
class ChunkDraft:
    ordinal: int
    section_path: tuple[str, ...]
    text: str

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def chunk_document(parsed: Parsed, max_chars: int) -> list[ChunkDraft]:
    pieces: list[tuple[tuple[str, ...], str]] = []
    path: list[tuple[int, str]] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            pieces.append((tuple(text for _, text in path), "\n\n".join(current)))
            current.clear()

    for block in parsed.blocks:
        if block.kind == "heading":
            flush()
            while path and path[-1][0] >= block.level:
                path.pop()
            path.append((block.level, block.text))
            continue
        for part in _fitting_parts(block, max_chars):
            if current and sum(len(c) + 2 for c in current) + len(part) > max_chars:
                flush()
            current.append(part)
    flush()
    return [ChunkDraft(n, section, text) for n, (section, text) in enumerate(pieces)]


def _fitting_parts(block: Block, max_chars: int) -> list[str]:
    text = block.text.strip()
    if not text:
        return []
    if len(text) <= max_chars:
        return [text]
    if block.kind == "table":
        return _split_table(text, max_chars)
    return _pack(re.split(r"(?<=[.!?;:])\s+", text), max_chars, " ")


def _split_table(text: str, max_chars: int) -> list[str]:
    header, *rows = text.split("\n")
    if len(header) > max_chars // 2:  # a header row that big is data, not a header
        return _pack([header, *rows], max_chars, "\n")
    parts = _pack(rows, max_chars - len(header) - 1, "\n")
    return [f"{header}\n{part}" for part in parts]


def _pack(units: list[str], max_chars: int, joiner: str) -> list[str]:
    parts: list[str] = []
    current = ""
    for unit in units:
        for piece in _hard_split(unit, max_chars):
            if current and len(current) + len(joiner) + len(piece) > max_chars:
                parts.append(current)
                current = ""
            current = f"{current}{joiner}{piece}" if current else piece
    if current:
        parts.append(current)
    return parts


def _hard_split(unit: str, max_chars: int) -> list[str]:
    """A unit longer than max_chars, cut between words (or anywhere, for one huge word)."""
    if len(unit) <= max_chars:
        return [unit]
    pieces, current = [], ""
    for word in unit.split(" "):
        while len(word) > max_chars:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:max_chars])
            word = word[max_chars:]
        if current and len(current) + 1 + len(word) > max_chars:
            pieces.append(current)
            current = ""
        current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces


def contextual_header(title: str, section_path: tuple[str, ...], summary: str | None) -> str:
    """`Title > Section > Subsection`, then the summary on its own line when there is one."""
    trail = [title, *[s for s in section_path if s and s != title]]
    header = " > ".join(part for part in trail if part)
    return f"{header}\n{summary.strip()}" if summary and summary.strip() else header

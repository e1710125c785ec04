"""PII redaction: the policy's named patterns applied to text and to JSON-like objects.

The host redacts before anything is persisted, traced or exported. Replacements
are literal text (no back-references), so a pattern can only remove data, never
copy it elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from policies.model import Redaction


@dataclass(frozen=True)
class _Compiled:
    name: str
    regex: re.Pattern[str]
    replacement: str


class Redactor:
    """Applies redaction patterns in order. `redact(text)`, `redact_obj(obj)`."""

    def __init__(self, patterns: Iterable[Redaction]) -> None:
        self._patterns = tuple(
            _Compiled(p.name, re.compile(p.pattern, re.IGNORECASE if p.ignore_case else 0),
                      p.replacement or f"[REDACTED:{p.name}]")
            for p in patterns
        )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self._patterns)

    def redact(self, text: str) -> str:
        for pattern in self._patterns:
            replacement = pattern.replacement
            text = pattern.regex.sub(lambda _match, r=replacement: r, text)
        return text

    def findings(self, text: str) -> dict[str, int]:
        """How many matches of each pattern `text` holds (for audit, without the data)."""
        counts = {p.name: len(p.regex.findall(text)) for p in self._patterns}
        return {name: count for name, count in counts.items() if count}

    def redact_obj(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string (not mapping keys) redacted."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {key: self.redact_obj(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_obj(item) for item in value]
        return value

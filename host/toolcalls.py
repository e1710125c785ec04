"""Reading tool calls out of a model's text, for small models that do not use `tool_calls`.

Some endpoints (or small models behind them) answer with the call as text: bare
JSON, JSON in a ```json fence, or Hermes-style `<tool_call>{...}</tool_call>`.
`parse_text_tool_calls` recovers those when, and only when, every call names a
tool the run actually offers; anything else stays an ordinary answer.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

_FENCED = re.compile(r"```(?:json)?\s*(.+?)\s*```", re.DOTALL)
_TAGGED = re.compile(r"<tool_call>\s*(.+?)\s*</tool_call>", re.DOTALL)
_NAME_KEYS = ("name", "tool", "function", "tool_name")
_ARGS_KEYS = ("arguments", "args", "parameters", "input")


@dataclass(frozen=True)
class ToolCallRequest:
    """One tool call the model asked for; `arguments` is the raw JSON text it sent."""

    id: str
    name: str
    arguments: str


def parse_text_tool_calls(text: str, offered: Collection[str]) -> list[ToolCallRequest]:
    stripped = text.strip()
    if not stripped:
        return []
    candidates = _TAGGED.findall(stripped) or _FENCED.findall(stripped) or [stripped]
    calls: list[ToolCallRequest] = []
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            return []
        for item in value if isinstance(value, list) else [value]:
            call = _as_call(item, offered)
            if call is None:
                return []
            calls.append(call)
    return calls


def _as_call(item: Any, offered: Collection[str]) -> ToolCallRequest | None:
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("function"), dict):  # {"type": "function", "function": {...}}
        item = item["function"]
    name = next((item[key] for key in _NAME_KEYS if isinstance(item.get(key), str)), None)
    if name not in offered:
        return None
    arguments = next((item[key] for key in _ARGS_KEYS if key in item), {})
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCallRequest(id=f"call_{uuid.uuid4().hex[:12]}", name=name, arguments=text)


def looks_like_tool_call(prefix: str) -> bool:
    """True while streamed text may still turn out to be a tool call (hold it back)."""
    head = prefix.lstrip()[:12]
    return head.startswith(("{", "[", "```", "<tool_call>")) or "<tool_call>".startswith(head)

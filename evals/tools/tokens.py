"""Counting the prompt tokens tool definitions cost.

Tokens are counted with the Llama-2 tokenizer (32 000-token SentencePiece BPE)
that ships inside the `wordllama` package — offline, no download — over the
tool definitions as an OpenAI-compatible endpoint receives them (the `tools`
array of a chat completion request, JSON without spaces). Other LLM tokenizers
differ by roughly ±20 % in absolute counts; the ratio with/without discovery
barely moves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from host.discovery import SEARCH_TOOLS_DESCRIPTION, SEARCH_TOOLS_NAME, SearchToolsInput, ToolDescriptor

TOKENIZER_NAME = "Llama-2 BPE (shipped in the wordllama package)"


@cache
def _tokenizer() -> Tokenizer:
    import wordllama

    path = Path(wordllama.__file__).parent / "tokenizers" / "l2_supercat_tokenizer_config.json"
    return Tokenizer.from_file(str(path))


def count_tokens(text: str) -> int:
    return len(_tokenizer().encode(text, add_special_tokens=False).ids)


def openai_tool(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function",
            "function": {"name": name, "description": description, "parameters": schema}}


def search_tools_definition() -> dict[str, Any]:
    return openai_tool(SEARCH_TOOLS_NAME, SEARCH_TOOLS_DESCRIPTION, SearchToolsInput.model_json_schema())


def definitions_tokens(tools: Sequence[ToolDescriptor], *, with_search_tools: bool) -> int:
    """Tokens of the `tools` array for these tools (plus search_tools when asked)."""
    array = [openai_tool(t.name, t.description, dict(t.input_schema) or {"type": "object"})
             for t in tools]
    if with_search_tools:
        array.insert(0, search_tools_definition())
    return count_tokens(json.dumps(array, separators=(",", ":"))) if array else 0

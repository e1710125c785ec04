"""What discovery knows about one tool: the `ToolDescriptor`.

A descriptor is built from a server's `ToolSpec` (in process) or from an MCP
`Tool` listed by a server (over the wire, where the spec travels in `_meta`).
It carries the text discovery searches — the name split into words, the
description, the argument names and their descriptions, the string values of
the examples and any example queries ("when to use this") — and a content hash
of that text, so a catalog refresh re-embeds only tools whose text changed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mcp_servers.kit.spec import SPEC_META_KEY, ToolSpec

# Example values longer than this are payloads, not words a user would ask with.
MAX_EXAMPLE_VALUE_CHARS = 200


@dataclass(frozen=True)
class ToolDescriptor:
    """One tool as discovery sees it; immutable, hashable by name."""

    name: str  # "server.tool"
    description: str
    input_schema: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    examples: tuple[Mapping[str, Any], ...] = field(default=(), hash=False, compare=False)
    example_queries: tuple[str, ...] = field(default=(), hash=False, compare=False)
    risk: str = "read"
    annotations: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    title: str | None = None

    def __post_init__(self) -> None:
        if "." not in self.name.strip(".") or not self.description.strip():
            raise ValueError(f"a tool descriptor needs a 'server.tool' name and a description: {self.name!r}")

    @property
    def server(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def tool(self) -> str:
        return self.name.split(".", 1)[1]

    @cached_property
    def search_text(self) -> str:
        """Everything discovery matches a query against, as one text."""
        parts = [f"{words(self.tool)} ({words(self.server)})."]
        if self.title:
            parts.append(self.title + ".")
        parts.append(self.description)
        for argument, description in argument_docs(self.input_schema):
            parts.append(f"{words(argument)}: {description}" if description else words(argument))
        parts.extend(_example_strings(self.examples))
        parts.extend(self.example_queries)
        return "\n".join(part.strip() for part in parts if part.strip())

    @cached_property
    def content_hash(self) -> str:
        """Changes exactly when the searched text changes."""
        return hashlib.sha256(self.search_text.encode()).hexdigest()

    def definition(self) -> dict[str, Any]:
        """The tool as an MCP client lists it (name, description, input schema)."""
        return {"name": self.name, "description": self.description,
                "inputSchema": dict(self.input_schema)}

    @classmethod
    def from_spec(cls, spec: ToolSpec, example_queries: Sequence[str] = ()) -> ToolDescriptor:
        return cls(
            name=spec.name,
            title=spec.title,
            description=spec.description,
            input_schema=spec.input_schema,
            examples=tuple(dict(example) for example in spec.examples),
            example_queries=tuple(example_queries),
            risk=spec.risk.value,
            annotations=spec.annotations().model_dump(by_alias=True, exclude_none=True),
        )

    @classmethod
    def from_mcp_tool(cls, tool: Any, *, name: str | None = None) -> ToolDescriptor:
        """From an `mcp_types.Tool` a server listed; `name` overrides its (namespaced) name.

        Tools of third-party servers carry no Tessera spec: their risk is then taken
        from the annotations (read-only, else destructive or not).
        """
        meta = (tool.meta or {}).get(SPEC_META_KEY) or {}
        annotations = tool.annotations.model_dump(by_alias=True, exclude_none=True) if tool.annotations else {}
        return cls(
            name=name or tool.name,
            title=tool.title,
            description=tool.description or tool.title or tool.name,
            input_schema=tool.input_schema or {},
            examples=tuple(meta.get("examples", ())),
            risk=meta.get("risk") or _risk_from_annotations(annotations),
            annotations=annotations,
        )


def words(identifier: str) -> str:
    """`exportUser`, `export_user`, `PDF&URLTool` -> plain words."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", identifier)
    return re.sub(r"[_\W]+", " ", spaced).strip()


def argument_docs(schema: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, description) of each top-level argument, `$ref`s resolved one level."""
    definitions = schema.get("$defs", {})
    docs = []
    for name, prop in (schema.get("properties") or {}).items():
        description = prop.get("description", "")
        ref = prop.get("$ref", "")
        if not description and ref.startswith("#/$defs/"):
            description = definitions.get(ref.rsplit("/", 1)[1], {}).get("description", "")
        docs.append((name, description))
    return docs


def _example_strings(examples: Sequence[Mapping[str, Any]]) -> list[str]:
    """Short string values in the examples: they read like what a user asks about."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if 2 < len(value) <= MAX_EXAMPLE_VALUE_CHARS and not _looks_like_an_id(value):
                found.append(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    for example in examples:
        walk(example)
    return list(dict.fromkeys(found))


def _looks_like_an_id(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F-]{16,}", value))


def _risk_from_annotations(annotations: Mapping[str, Any]) -> str:
    if annotations.get("readOnlyHint"):
        return "read"
    return "write_high" if annotations.get("destructiveHint", True) else "write_low"


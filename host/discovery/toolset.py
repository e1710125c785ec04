"""`RunToolset`: the tools one run offers the model, in an order that never changes.

The list starts with the core tools (a stable prefix, so the model server's
prompt cache keeps hitting), then every tool `search_tools` returned, appended
in the order discovered. A tool is never listed twice, never moved and never
removed during a run. `version` names the exact list, for the run record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from host.discovery.descriptor import ToolDescriptor


class RunToolset:
    """Core tools first, then discovered tools in discovery order; deduplicated."""

    def __init__(self, core: Iterable[ToolDescriptor] = ()) -> None:
        self._tools: dict[str, ToolDescriptor] = {}
        self.core_count = len(self.add(core))

    def add(self, tools: Iterable[ToolDescriptor]) -> list[ToolDescriptor]:
        """Append the tools not yet present; return those that were new, in order."""
        added = []
        for tool in tools:
            if tool.name not in self._tools:
                self._tools[tool.name] = tool
                added.append(tool)
        return added

    @property
    def tools(self) -> tuple[ToolDescriptor, ...]:
        return tuple(self._tools.values())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._tools)

    @property
    def core(self) -> tuple[ToolDescriptor, ...]:
        return self.tools[: self.core_count]

    @property
    def discovered(self) -> tuple[ToolDescriptor, ...]:
        return self.tools[self.core_count :]

    def get(self, name: str) -> ToolDescriptor | None:
        return self._tools.get(name)

    @property
    def version(self) -> str:
        """A short hash of the names and contents, in order: equal lists, equal versions."""
        digest = hashlib.sha256()
        for tool in self._tools.values():
            digest.update(f"{tool.name}\0{tool.content_hash}\n".encode())
        return digest.hexdigest()[:16]

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[ToolDescriptor]:
        return iter(self.tools)

    def __len__(self) -> int:
        return len(self._tools)

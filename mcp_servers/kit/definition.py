"""How a capability server makes itself known to Tessera: a `ServerDefinition`.

A server package exposes one `ServerDefinition` and registers it in its
pyproject under the entry-point group `tessera.servers`. From that, the CLI can
serve it (`tessera serve NAME`), migrate its tables (`tessera db migrate`), show
its settings (`tessera config show`), and the conformance suite can test it,
including the tenant-isolation probes it declares. A server that fronts an
outside system (SAP, an MES) also declares `test_backends`, which starts a
stand-in for that system so the suite can test the server without the real one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from mcp_servers.kit.server import ToolServer
from mcp_servers.kit.settings import ServerSettings, Settings
from mcp_servers.kit.store.migrate import MigrationSet

ENTRY_POINT_GROUP = "tessera.servers"
MARKER = "{marker}"


@dataclass(frozen=True)
class ToolCall:
    """A tool name and its arguments; `{marker}` in a string is replaced by a unique token."""

    tool: str
    arguments: Mapping[str, Any]

    def with_marker(self, marker: str) -> dict[str, Any]:
        return _substitute(dict(self.arguments), marker)


@dataclass(frozen=True)
class IsolationProbe:
    """Write something as tenant A, then read as tenant B: the marker must not show.

    The same `read` call as tenant A must show the marker, so the probe proves
    the read works and cannot pass by returning nothing at all.
    """

    write: ToolCall
    read: ToolCall


TestBackends = Callable[[Sequence[str]], AbstractAsyncContextManager[Mapping[str, Any]]]
"""Given the tenants a test will call as, start what the server talks to (for example a
simulator on loopback, one partition per tenant) and yield overrides of the server's own
settings that point it there; stop it all on exit."""


@dataclass(frozen=True)
class ServerDefinition:
    name: str
    description: str
    build: Callable[[Settings, Any], ToolServer]
    default_port: int
    settings_model: type[ServerSettings] | None = None
    migrations: Path | None = None
    isolation_probes: tuple[IsolationProbe, ...] = field(default=())
    test_backends: TestBackends | None = None  # for servers that front an outside system

    def server_settings(self, **overrides: Any) -> ServerSettings | None:
        return self.settings_model(**overrides) if self.settings_model else None

    def create(self, settings: Settings, server_settings: ServerSettings | None = None) -> ToolServer:
        return self.build(settings, server_settings or self.server_settings())

    def migration_set(self) -> MigrationSet | None:
        if self.migrations is None:
            return None
        return MigrationSet.from_directory(self.name, self.migrations)


def registered_servers() -> dict[str, ServerDefinition]:
    """Every server installed in this environment, by name."""
    found: dict[str, ServerDefinition] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        definition = entry.load()
        if not isinstance(definition, ServerDefinition):
            raise TypeError(f"entry point {entry.value} is not a ServerDefinition")
        if definition.name != entry.name:
            raise ValueError(f"entry point {entry.name!r} names server {definition.name!r}")
        found[definition.name] = definition
    return dict(sorted(found.items()))


def _substitute(value: Any, marker: str) -> Any:
    if isinstance(value, str):
        return value.replace(MARKER, marker)
    if isinstance(value, list):
        return [_substitute(item, marker) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, marker) for key, item in value.items()}
    return value

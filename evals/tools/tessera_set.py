"""Tessera's own catalog: the specs of every installed server, and the golden set over them.

Each registered server (`registered_servers()`) is built the way `tessera serve`
builds it and its `ToolServer.specs` are read; nothing is started and no
database is reached. A server that is not installed, or that cannot be built
here, is skipped with its reason, and the golden queries of its tools with it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from pydantic import SecretStr

from evals.tools.golden import GOLDEN, UNSERVABLE
from evals.tools.measure import Labeled
from host.discovery import ToolDescriptor
from mcp_servers.kit.context import generate_key_pair
from mcp_servers.kit.definition import ENTRY_POINT_GROUP, ServerDefinition
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.spec import ToolSpec


@dataclass(frozen=True)
class TesseraSet:
    descriptors: tuple[ToolDescriptor, ...]
    servable: tuple[Labeled, ...]
    unservable: tuple[str, ...]
    skipped_servers: dict[str, str]  # name -> why
    unlabeled_tools: tuple[str, ...]  # installed tools the golden set has no query for


def offline_settings(workdir: Path) -> Settings:
    """Settings that let a server be built (not run): fresh keys, a database URL never dialled."""
    generate_key_pair(workdir / "keys")
    return Settings(
        _env_file=None,
        data_dir=workdir,
        database_url=SecretStr("postgresql://tessera@127.0.0.1:1/unused"),
        context_signing_key_file=workdir / "keys" / "context-signing-key.pem",
        context_verification_keys_file=workdir / "keys" / "context-verification.jwks.json",
    )


def collect_specs(settings: Settings) -> tuple[dict[str, ToolSpec], dict[str, str]]:
    """Every installed server's tool specs, and the servers that could not be built."""
    specs: dict[str, ToolSpec] = {}
    skipped: dict[str, str] = {}
    # Entry points are loaded one by one (not through registered_servers()) so that
    # a server still being written that fails to import skips only itself.
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        name = entry.name
        try:
            definition = entry.load()
            if not isinstance(definition, ServerDefinition):
                raise TypeError(f"{entry.value} is not a ServerDefinition")
            specs.update(definition.create(settings).specs)
        except Exception as exc:  # noqa: BLE001 - a server under construction must not stop the eval
            skipped[name] = f"{type(exc).__name__}: {exc}"
    return specs, skipped


def tessera_set(settings: Settings | None = None) -> TesseraSet:
    if settings is None:
        with tempfile.TemporaryDirectory() as workdir:
            return tessera_set(offline_settings(Path(workdir)))
    specs, skipped = collect_specs(settings)
    servable = tuple(Labeled(query, tool) for tool, queries in GOLDEN.items() if tool in specs
                     for query in queries)
    return TesseraSet(
        descriptors=tuple(ToolDescriptor.from_spec(spec) for spec in specs.values()),
        servable=servable,
        unservable=UNSERVABLE,
        skipped_servers=skipped,
        unlabeled_tools=tuple(sorted(set(specs) - set(GOLDEN))),
    )

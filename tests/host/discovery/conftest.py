"""A real catalog: the specs of every registered server, embedded by the real local model."""

from __future__ import annotations

import pytest

from host.discovery import DiscoverySettings, ToolCatalog, ToolDescriptor
from mcp_servers.kit.definition import registered_servers
from mcp_servers.kit.embeddings.local import local_embedder
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.spec import ToolSpec


@pytest.fixture(scope="session")
def specs(settings: Settings) -> dict[str, ToolSpec]:
    found: dict[str, ToolSpec] = {}
    for definition in registered_servers().values():
        found.update(definition.create(settings).specs)
    return found


@pytest.fixture(scope="session")
def descriptors(specs: dict[str, ToolSpec]) -> list[ToolDescriptor]:
    return [ToolDescriptor.from_spec(spec) for spec in specs.values()]


@pytest.fixture
def embedder(settings: Settings):
    return local_embedder(settings.embedding_model)


@pytest.fixture
def discovery_settings() -> DiscoverySettings:
    return DiscoverySettings(_env_file=None)


@pytest.fixture
async def catalog(embedder, discovery_settings, descriptors, anyio_backend) -> ToolCatalog:
    return await ToolCatalog.build(embedder, discovery_settings, descriptors)

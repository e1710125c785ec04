"""`ToolCatalog`: every tool the federation offers; `CatalogView`: the part one caller may use.

The federation feeds the catalog (`set_server_tools` when a server connects or
sends `list_changed`, `remove_server` when it goes away). Each change builds a
new immutable `ToolSearchIndex` snapshot; vectors come from the `EmbeddingCache`,
so only changed tools are embedded.

The host never searches the catalog directly. For each run it first asks the
policy decision point which tools the caller may use and takes a view:

    view = catalog.view(lambda name: policy_allows(caller, name))
    toolset = view.new_toolset(tenant)          # core tools, always offered
    result = await view.search("create a purchase order", k=5)
    toolset.add(match.tool for match in result.matches)

The predicate gets each tool's name (`server.tool`) once, when the view is taken, and searches score
only the allowed rows, so a tool outside the allowed set is never ranked, not
even for a query that is its exact name. A view keeps the snapshot it was taken
from: a refresh mid-run does not change what the run can see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import anyio

from host.discovery.calibration import min_score_for
from host.discovery.descriptor import ToolDescriptor
from host.discovery.embedding_cache import EmbeddingCache
from host.discovery.index import SearchResult, ToolSearchIndex
from host.discovery.settings import DiscoverySettings
from host.discovery.toolset import RunToolset
from mcp_servers.kit.embeddings import Embedder

Allowed = Callable[[str], bool]  # called with each tool's name


class ToolCatalog:
    """The federation's tools, searchable; refreshed per server."""

    def __init__(self, embedder: Embedder, settings: DiscoverySettings,
                 cache: EmbeddingCache | None = None) -> None:
        self.embedder = embedder
        self.settings = settings
        self.cache = cache or EmbeddingCache(embedder)
        self._owns_cache = cache is None  # a shared cache is pruned by its owner
        self.min_score = min_score_for(embedder.info.model, settings.min_score)
        self._by_server: dict[str, tuple[ToolDescriptor, ...]] = {}
        self._index = ToolSearchIndex.empty(embedder.info.dimensions, settings.lexical_weight)
        self._lock = anyio.Lock()

    @classmethod
    async def build(cls, embedder: Embedder, settings: DiscoverySettings,
                    descriptors: Iterable[ToolDescriptor], *,
                    cache: EmbeddingCache | None = None) -> ToolCatalog:
        """A catalog holding `descriptors`, grouped by server."""
        catalog = cls(embedder, settings, cache)
        grouped: dict[str, list[ToolDescriptor]] = {}
        for descriptor in descriptors:
            grouped.setdefault(descriptor.server, []).append(descriptor)
        async with catalog._lock:
            catalog._by_server = {server: tuple(tools) for server, tools in grouped.items()}
            await catalog._rebuild()
        return catalog

    @property
    def index(self) -> ToolSearchIndex:
        """The current snapshot."""
        return self._index

    @property
    def tools(self) -> tuple[ToolDescriptor, ...]:
        return self._index.descriptors

    async def set_server_tools(self, server: str, descriptors: Sequence[ToolDescriptor]) -> None:
        """Replace one server's tools (after it connected or sent `list_changed`)."""
        strangers = [d.name for d in descriptors if d.server != server]
        if strangers:
            raise ValueError(f"tools {strangers} do not belong to server {server!r}")
        async with self._lock:
            self._by_server[server] = tuple(descriptors)
            await self._rebuild()

    async def remove_server(self, server: str) -> None:
        async with self._lock:
            if self._by_server.pop(server, None) is not None:
                await self._rebuild()

    def view(self, allowed: Allowed) -> CatalogView:
        """The tools `allowed` admits, on the current snapshot."""
        index = self._index
        names = tuple(d.name for d in index.descriptors if allowed(d.name))
        return CatalogView(self, index, names)

    async def _rebuild(self) -> None:
        descriptors = [d for server in sorted(self._by_server) for d in self._by_server[server]]
        vectors = await self.cache.vectors(descriptors)
        self._index = ToolSearchIndex(descriptors, vectors, lexical_weight=self.settings.lexical_weight)
        if self._owns_cache:
            self.cache.retain(descriptors)


class CatalogView:
    """The tools one caller may use, on one snapshot of the catalog."""

    def __init__(self, catalog: ToolCatalog, index: ToolSearchIndex, names: tuple[str, ...]) -> None:
        self._catalog = catalog
        self._index = index
        self.names = names
        self._allowed = frozenset(names)
        self._rows = index.rows_of(names)

    @property
    def tools(self) -> tuple[ToolDescriptor, ...]:
        return tuple(self._index.descriptors[row] for row in self._rows)

    def get(self, name: str) -> ToolDescriptor | None:
        """The named tool if this caller may use it."""
        row = self._index.rows.get(name)
        return self._index.descriptors[row] if row is not None and name in self._allowed else None

    def core_tools(self, tenant: str) -> tuple[ToolDescriptor, ...]:
        """The tenant's configured core tools that this caller may use, in configured order."""
        settings = self._catalog.settings
        found = [self.get(name) for name in settings.core_tools_for(tenant)]
        return tuple(tool for tool in found if tool is not None)[: settings.max_core_tools]

    def new_toolset(self, tenant: str) -> RunToolset:
        """A run's tool list, starting with the core tools."""
        return RunToolset(self.core_tools(tenant))

    async def search(self, query: str, k: int | None = None) -> SearchResult:
        """The best allowed tools for `query`, or a "no suitable tool" result."""
        settings = self._catalog.settings
        k = min(k or settings.default_k, settings.max_k)
        vector = await self._catalog.embedder.embed_query(query)
        return self._index.search(query, vector, self._rows, k=k, min_score=self._catalog.min_score)

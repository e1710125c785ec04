"""Tool discovery: the policy-filtered catalog, hybrid `search_tools`, and the run's tool list.

    ToolDescriptor      one tool as discovery sees it (from a ToolSpec or an MCP Tool)
    ToolCatalog         every federated tool; refreshed per server; embeddings cached
      .view(allowed)    CatalogView: the caller's allowed tools, filtered before ranking
        .search(q, k)   SearchResult: best tools, or "no suitable tool"
        .new_toolset()  RunToolset: core tools first, discovered tools appended
    SearchToolsInput / SearchToolsOutput / SEARCH_TOOLS_DESCRIPTION   the MCP tool

Ranking and calibration are described in `docs/tool-discovery.md`.
"""

from host.discovery.catalog import CatalogView, ToolCatalog
from host.discovery.descriptor import ToolDescriptor
from host.discovery.index import SearchResult, ToolMatch, ToolSearchIndex
from host.discovery.search_tool import (
    SEARCH_TOOLS_DESCRIPTION,
    SEARCH_TOOLS_NAME,
    FoundTool,
    SearchToolsInput,
    SearchToolsOutput,
)
from host.discovery.settings import DiscoverySettings
from host.discovery.toolset import RunToolset

__all__ = [
    "SEARCH_TOOLS_DESCRIPTION",
    "SEARCH_TOOLS_NAME",
    "CatalogView",
    "DiscoverySettings",
    "FoundTool",
    "RunToolset",
    "SearchResult",
    "SearchToolsInput",
    "SearchToolsOutput",
    "ToolCatalog",
    "ToolDescriptor",
    "ToolMatch",
    "ToolSearchIndex",
]

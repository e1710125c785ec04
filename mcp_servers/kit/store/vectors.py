"""Guarding vector collections against mixed embedding models.

A collection (a table of vectors, e.g. `memories`) is bound to the first model
that writes to it, in `embedding_spaces`. A server claims its collection at
start-up; if the configured model differs from the bound one it refuses to
start with `EmbeddingSpaceMismatch`, instead of silently comparing vectors from
two models (or two sizes) that mean nothing to each other.
"""

from __future__ import annotations

from mcp_servers.kit.embeddings.base import EmbeddingModelInfo
from mcp_servers.kit.errors import Conflict
from mcp_servers.kit.store.pool import Store

# Vector sizes that have an HNSW index in the migrations; others are searched exactly.
INDEXED_DIMENSIONS = (256, 384, 768, 1024)


class EmbeddingSpaceMismatch(Conflict):
    """The configured embedding model differs from the one a collection was built with."""


async def claim_embedding_space(store: Store, collection: str, info: EmbeddingModelInfo) -> None:
    async with store.unscoped() as conn:
        await conn.execute(
            "INSERT INTO embedding_spaces (collection, model, dimensions) VALUES (%s, %s, %s) "
            "ON CONFLICT (collection) DO NOTHING",
            (collection, info.model, info.dimensions),
        )
        cursor = await conn.execute(
            "SELECT model, dimensions FROM embedding_spaces WHERE collection = %s", (collection,)
        )
        row = await cursor.fetchone()
    assert row is not None
    model, dimensions = row
    if (model, dimensions) != (info.model, info.dimensions):
        raise EmbeddingSpaceMismatch(
            f"The {collection!r} vectors were made with {model} ({dimensions}-d), but "
            f"{info.model} ({info.dimensions}-d) is configured. Set TESSERA_EMBEDDING_MODEL "
            f"back to {model}, or re-embed the collection before switching models."
        )

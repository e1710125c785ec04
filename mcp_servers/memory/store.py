"""SQL for the `memories` table. Every function runs inside a tenant transaction.

Row-level security already limits each statement to the transaction's tenant;
the user filter is added here on every statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np
from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from mcp_servers.kit.embeddings import EmbeddingModelInfo

COLUMNS = sql.SQL(
    "id, kind, content, importance, tags, data_class, created_at, last_accessed_at"
)


@dataclass(frozen=True)
class NewMemory:
    user: str
    kind: str
    content: str
    importance: float
    tags: list[str]
    data_class: int
    ttl_s: int | None
    embedding: np.ndarray


async def lock_user(conn: AsyncConnection, user: str) -> None:
    """Serialise writes per user, so two identical remembers cannot both insert."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('tessera.memory:' || "
        "tessera_current_tenant() || ':' || %s, 0))",
        (user,),
    )


async def count_for_user(conn: AsyncConnection, user: str) -> int:
    cursor = await conn.execute("SELECT count(*) FROM memories WHERE user_id = %s", (user,))
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def nearest(
    conn: AsyncConnection,
    *,
    user: str,
    query: np.ndarray,
    info: EmbeddingModelInfo,
    limit: int,
    max_data_class: int,
    kinds: list[str] | None = None,
    tags: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The user's live memories closest to `query`, with their cosine similarity."""
    vector_type = sql.SQL("vector({})").format(sql.Literal(info.dimensions))
    distance = sql.SQL("embedding::{t} <=> %(query)s::{t}").format(t=vector_type)
    statement = sql.SQL(
        "SELECT {columns}, 1 - ({distance}) AS similarity FROM memories "
        "WHERE user_id = %(user)s AND embedding_dim = %(dim)s AND embedding_model = %(model)s "
        "AND data_class <= %(max_class)s AND (expires_at IS NULL OR expires_at > now()) "
        "AND (%(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s)) "
        "AND (%(tags)s::text[] IS NULL OR tags && %(tags)s) "
        "ORDER BY {distance} LIMIT %(limit)s"
    ).format(columns=COLUMNS, distance=distance)
    await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
    await conn.execute("SET LOCAL hnsw.ef_search = 100")
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        statement,
        {
            "query": query,
            "user": user,
            "dim": info.dimensions,
            "model": info.model,
            "max_class": max_data_class,
            "kinds": kinds,
            "tags": tags,
            "limit": limit,
        },
    )
    return await cursor.fetchall()


async def insert(conn: AsyncConnection, memory: NewMemory, info: EmbeddingModelInfo) -> UUID:
    cursor = await conn.execute(
        "INSERT INTO memories (user_id, kind, content, importance, tags, data_class, expires_at, "
        "embedding, embedding_model, embedding_dim) VALUES (%s, %s, %s, %s, %s, %s, "
        "now() + make_interval(secs => %s), %s, %s, %s) RETURNING id",
        (memory.user, memory.kind, memory.content, memory.importance, memory.tags,
         memory.data_class, memory.ttl_s, memory.embedding, info.model, info.dimensions),
    )
    row = await cursor.fetchone()
    assert row is not None
    return row[0]


async def merge_into(conn: AsyncConnection, memory_id: UUID, memory: NewMemory) -> None:
    """Fold a near-duplicate into an existing memory: the newer wording wins."""
    await conn.execute(
        "UPDATE memories SET content = %s, embedding = %s, importance = greatest(importance, %s), "
        "tags = ARRAY(SELECT DISTINCT unnest(tags || %s::text[])), "
        "data_class = greatest(data_class, %s), "
        "expires_at = CASE WHEN %s::int IS NULL THEN NULL "
        "                  ELSE greatest(expires_at, now() + make_interval(secs => %s)) END, "
        "merged_count = merged_count + 1, updated_at = now(), last_accessed_at = now() "
        "WHERE id = %s",
        (memory.content, memory.embedding, memory.importance, memory.tags, memory.data_class,
         memory.ttl_s, memory.ttl_s, memory_id),
    )


async def touch(conn: AsyncConnection, ids: list[UUID]) -> None:
    """Record that these memories were recalled (recency and access count)."""
    if ids:
        await conn.execute(
            "UPDATE memories SET last_accessed_at = now(), access_count = access_count + 1 "
            "WHERE id = ANY(%s)",
            (ids,),
        )


async def delete(conn: AsyncConnection, user: str, ids: list[UUID]) -> list[UUID]:
    cursor = await conn.execute(
        "DELETE FROM memories WHERE user_id = %s AND id = ANY(%s) RETURNING id", (user, ids)
    )
    return [row[0] for row in await cursor.fetchall()]


async def page_for_user(
    conn: AsyncConnection, user: str, after: UUID | None, limit: int
) -> list[dict[str, Any]]:
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        sql.SQL(
            "SELECT {columns} FROM memories WHERE user_id = %(user)s "
            "AND (%(after)s::uuid IS NULL OR id > %(after)s) ORDER BY id LIMIT %(limit)s"
        ).format(columns=COLUMNS),
        {"user": user, "after": after, "limit": limit},
    )
    return await cursor.fetchall()


async def delete_user(conn: AsyncConnection, user: str) -> int:
    cursor = await conn.execute("DELETE FROM memories WHERE user_id = %s", (user,))
    return cursor.rowcount


def age_days(moment: datetime, now: datetime) -> float:
    return max((now - moment).total_seconds(), 0.0) / 86400.0

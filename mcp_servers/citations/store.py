"""SQL for citations: registered sources, and kb chunks read in place.

Both reads run in a tenant transaction (row-level security) with the caller's
clearance inside the statement. The kb's chunks are read, never written; ids
that are not UUIDs can only name registered sources.
"""

from __future__ import annotations

from uuid import UUID

from psycopg import AsyncConnection


async def upsert_source(conn: AsyncConnection, source_id: str, text: str, label: str,
                        data_class: int, user: str) -> bool:
    """Store a source; True when one with this id was replaced."""
    cursor = await conn.execute(
        "INSERT INTO citation_sources (source_id, text, label, data_class, created_by) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id, source_id) DO UPDATE SET "
        "text = excluded.text, label = excluded.label, data_class = excluded.data_class, "
        "created_by = excluded.created_by, created_at = now() RETURNING (xmax <> 0)",
        (source_id, text, label, data_class, user),
    )
    row = await cursor.fetchone()
    return bool(row and row[0])


async def source_class(conn: AsyncConnection, source_id: str) -> int | None:
    cursor = await conn.execute(
        "SELECT data_class FROM citation_sources WHERE source_id = %s", (source_id,))
    row = await cursor.fetchone()
    return int(row[0]) if row else None


async def texts(conn: AsyncConnection, ids: list[str], max_class: int) -> dict[str, str]:
    """The text of each id the caller may read: registered sources first, then kb chunks."""
    cursor = await conn.execute(
        "SELECT source_id, text FROM citation_sources WHERE source_id = ANY(%s) AND data_class <= %s",
        (ids, max_class),
    )
    found = {row[0]: row[1] for row in await cursor.fetchall()}
    chunk_ids = [UUID(i) for i in ids if i not in found and _is_uuid(i)]
    if chunk_ids:
        cursor = await conn.execute(
            "SELECT id, text FROM kb_chunks WHERE id = ANY(%s) AND data_class <= %s",
            (chunk_ids, max_class),
        )
        by_uuid = {row[0]: row[1] for row in await cursor.fetchall()}
        found.update({i: by_uuid[UUID(i)] for i in ids if _is_uuid(i) and UUID(i) in by_uuid})
    return found


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True

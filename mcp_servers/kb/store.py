"""SQL for the knowledge base. Every function runs inside a tenant transaction.

Row-level security limits each statement to the transaction's tenant; the
caller's clearance is a condition inside each statement that reads chunks, so a
chunk above it is never fetched, ranked or counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from mcp_servers.kit.embeddings import EmbeddingModelInfo

DOCUMENT_COLUMNS = (
    "id, source_uri, title, media_type, data_class, owner, version, content_hash, fresh_as_of, "
    "max_age_s, chunk_count, updated_at, "
    "(max_age_s IS NOT NULL AND fresh_as_of + make_interval(secs => max_age_s) <= now()) AS stale"
)
CHUNK_COLUMNS = "id, document_id, ordinal, section_path, header, text"


@dataclass(frozen=True)
class DocumentRow:
    source_uri: str
    title: str
    media_type: str
    data_class: int
    owner: str
    version: str
    content_hash: str
    fresh_as_of: datetime
    max_age_s: int | None


@dataclass(frozen=True)
class ChunkRow:
    ordinal: int
    section_path: list[str]
    header: str
    text: str
    embedding: np.ndarray


async def lock_state(conn: AsyncConnection) -> None:
    """Serialise changes per tenant: statistics, terms and version move together."""
    await conn.execute("INSERT INTO kb_state DEFAULT VALUES ON CONFLICT (tenant_id) DO NOTHING")
    await conn.execute("SELECT version FROM kb_state FOR UPDATE")


async def bump_version(conn: AsyncConnection, chunks: int, length: int) -> int:
    cursor = await conn.execute(
        "UPDATE kb_state SET version = version + 1, chunk_count = chunk_count + %s, "
        "total_length = total_length + %s RETURNING version",
        (chunks, length),
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def kb_version(conn: AsyncConnection) -> int:
    cursor = await conn.execute("SELECT version FROM kb_state")
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def document_by_uri(conn: AsyncConnection, source_uri: str, *, lock: bool = False
                          ) -> dict[str, Any] | None:
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        f"SELECT {DOCUMENT_COLUMNS} FROM kb_documents WHERE source_uri = %s"
        + (" FOR UPDATE" if lock else ""),
        (source_uri,),
    )
    return await cursor.fetchone()


async def document_by_id(conn: AsyncConnection, document_id: UUID, max_class: int
                         ) -> dict[str, Any] | None:
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        f"SELECT {DOCUMENT_COLUMNS} FROM kb_documents WHERE id = %s AND data_class <= %s",
        (document_id, max_class),
    )
    return await cursor.fetchone()


async def save_document(conn: AsyncConnection, existing: UUID | None, doc: DocumentRow,
                        chunk_count: int) -> UUID:
    values = (doc.source_uri, doc.title, doc.media_type, doc.data_class, doc.owner, doc.version,
              doc.content_hash, doc.fresh_as_of, doc.max_age_s, chunk_count)
    if existing is None:
        cursor = await conn.execute(
            "INSERT INTO kb_documents (source_uri, title, media_type, data_class, owner, version, "
            "content_hash, fresh_as_of, max_age_s, chunk_count) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            values,
        )
        row = await cursor.fetchone()
        assert row is not None
        return row[0]
    await conn.execute(
        "UPDATE kb_documents SET source_uri = %s, title = %s, media_type = %s, data_class = %s, "
        "owner = %s, version = %s, content_hash = %s, fresh_as_of = %s, max_age_s = %s, "
        "chunk_count = %s, updated_at = now() WHERE id = %s",
        (*values, existing),
    )
    return existing


async def remove_chunks(conn: AsyncConnection, document_id: UUID) -> tuple[int, int]:
    """Delete a document's chunks and take them out of the term statistics."""
    cursor = await conn.execute(
        "WITH old AS (SELECT u.lexeme, count(*) AS n FROM kb_chunks c, unnest(c.tsv) u "
        "             WHERE c.document_id = %s GROUP BY u.lexeme) "
        "UPDATE kb_terms t SET df = t.df - old.n FROM old WHERE t.lexeme = old.lexeme "
        "RETURNING t.lexeme, t.df",
        (document_id,),
    )
    unused = [row[0] for row in await cursor.fetchall() if row[1] <= 0]
    if unused:  # a statement cannot update and delete the same row, hence two
        await conn.execute("DELETE FROM kb_terms WHERE lexeme = ANY(%s) AND df <= 0", (unused,))
    cursor = await conn.execute(
        "WITH gone AS (DELETE FROM kb_chunks WHERE document_id = %s RETURNING length(tsv) AS n) "
        "SELECT count(*), coalesce(sum(n), 0) FROM gone",
        (document_id,),
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def insert_chunks(conn: AsyncConnection, document_id: UUID, data_class: int,
                        stale_at: datetime | None, chunks: list[ChunkRow],
                        info: EmbeddingModelInfo) -> int:
    """Insert a document's chunks and add them to the term statistics.

    Row-level security rules out COPY; executemany pipelines the inserts instead.
    """
    async with conn.cursor() as cursor:
        await cursor.executemany(
            "INSERT INTO kb_chunks (document_id, ordinal, section_path, header, text, data_class, "
            "stale_at, embedding, embedding_model, embedding_dim) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(document_id, chunk.ordinal, chunk.section_path, chunk.header, chunk.text,
              data_class, stale_at, chunk.embedding, info.model, info.dimensions)
             for chunk in chunks],
        )
    await conn.execute(
        "INSERT INTO kb_terms (lexeme, df) "
        "SELECT u.lexeme, count(*) FROM kb_chunks c, unnest(c.tsv) u WHERE c.document_id = %s "
        "GROUP BY u.lexeme ORDER BY u.lexeme "
        "ON CONFLICT (tenant_id, lexeme) DO UPDATE SET df = kb_terms.df + excluded.df",
        (document_id,),
    )
    cursor = await conn.execute(
        "SELECT coalesce(sum(length(tsv)), 0) FROM kb_chunks WHERE document_id = %s", (document_id,)
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def delete_document(conn: AsyncConnection, document_id: UUID) -> None:
    await conn.execute("DELETE FROM kb_documents WHERE id = %s", (document_id,))


async def chunk_by_id(conn: AsyncConnection, chunk_id: UUID, max_class: int
                      ) -> dict[str, Any] | None:
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        "SELECT c.id, c.document_id, c.ordinal, c.section_path, c.header, c.text, d.title, "
        "d.source_uri, (c.stale_at IS NOT NULL AND c.stale_at <= now()) AS stale "
        "FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id "
        "WHERE c.id = %s AND c.data_class <= %s",
        (chunk_id, max_class),
    )
    return await cursor.fetchone()


async def chunks_of(conn: AsyncConnection, document_id: UUID, max_class: int,
                    first: int = 0, last: int = 2**31 - 1) -> list[dict[str, Any]]:
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        f"SELECT {CHUNK_COLUMNS} FROM kb_chunks WHERE document_id = %s AND data_class <= %s "
        "AND ordinal BETWEEN %s AND %s ORDER BY ordinal",
        (document_id, max_class, first, last),
    )
    return await cursor.fetchall()


async def cached_summaries(conn: AsyncConnection, hashes: list[str], model: str) -> dict[str, str]:
    cursor = await conn.execute(
        "SELECT content_hash, summary FROM kb_summaries WHERE model = %s AND content_hash = ANY(%s)",
        (model, hashes),
    )
    return {row[0]: row[1] for row in await cursor.fetchall()}


async def save_summaries(conn: AsyncConnection, summaries: dict[str, str], model: str) -> None:
    async with conn.cursor() as cursor:
        await cursor.executemany(
            "INSERT INTO kb_summaries (content_hash, model, summary) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            [(digest, model, summary) for digest, summary in summaries.items()],
        )


def vector_text(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"

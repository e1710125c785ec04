"""Ingestion: from one document's bytes to chunks written atomically.

`draft` and `embed` do the slow work outside any transaction: decode, check
size and type, parse, chunk, build each chunk's contextual header (with a
cached LLM summary when one is configured), then embed header plus text, in one
batch for a whole call. `write` then swaps
the document's chunks in one transaction: the old chunks, their term statistics
and the document row are replaced together, and the tenant's KB version is
bumped, so readers see the old document or the new one, never a mix.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from urllib.parse import unquote, urlparse
from uuid import UUID

from psycopg import AsyncConnection

from mcp_servers.kb import store as sql
from mcp_servers.kb.chunking import ChunkDraft, chunk_document, contextual_header
from mcp_servers.kb.llm import Summarizer
from mcp_servers.kb.models import DocumentIn
from mcp_servers.kb.parsing import media_type_of, read_document
from mcp_servers.kb.settings import KbSettings
from mcp_servers.kit.embeddings import Embedder
from mcp_servers.kit.errors import ValidationFailed
from mcp_servers.kit.store import Store


@dataclass(frozen=True)
class Drafted:
    """A parsed and chunked document whose chunks are not embedded yet."""

    document: sql.DocumentRow
    drafts: list[ChunkDraft]
    headers: list[str]
    stale_at: datetime | None

    @property
    def texts(self) -> list[str]:
        """What gets embedded: the contextual header, then the chunk text."""
        return [f"{h}\n\n{d.text}" if h else d.text
                for h, d in zip(self.headers, self.drafts, strict=True)]


@dataclass(frozen=True)
class Prepared:
    document: sql.DocumentRow
    chunks: list[sql.ChunkRow]
    stale_at: datetime | None


def raw_bytes(doc: DocumentIn, max_bytes: int) -> bytes:
    if doc.content is not None:
        data = doc.content.encode()
    else:
        try:
            data = base64.b64decode(doc.content_base64 or "", validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed("content_base64 is not valid base64.",
                                   model_fix_hint="Encode the file's bytes with standard base64.",
                                   details={"fields": [{"field": "content_base64",
                                                        "problem": "not base64"}]}) from None
    if len(data) > max_bytes:
        raise ValidationFailed(
            f"The document is {len(data):,} bytes; the largest accepted is {max_bytes:,}.",
            model_fix_hint="Split the document, or ask an operator to raise TESSERA_KB_MAX_FILE_BYTES.",
        )
    return data


def content_hash(data: bytes, doc: DocumentIn, owner: str, title: str | None) -> str:
    """Covers the bytes and every stored attribute: equal hash means nothing to do."""
    meta = json.dumps([doc.media_type, title, doc.data_class.value, owner, doc.version,
                       doc.fresh_as_of.isoformat() if doc.fresh_as_of else None,
                       doc.max_age_days], sort_keys=True)
    return hashlib.sha256(data + b"\x00" + meta.encode()).hexdigest()


def title_from_uri(source_uri: str) -> str:
    name = PurePosixPath(unquote(urlparse(source_uri).path or source_uri)).name
    return PurePosixPath(name).stem.replace("_", " ").replace("-", " ").strip() or source_uri


class Ingestor:
    def __init__(self, store: Store, embedder: Embedder, settings: KbSettings,
                 summarizer: Summarizer | None) -> None:
        self._store = store
        self._embedder = embedder
        self._settings = settings
        self._summarizer = summarizer

    async def draft(self, tenant: str, doc: DocumentIn, owner: str, data: bytes,
                    digest: str) -> Drafted:
        """Parse, chunk and head one document (no database writes)."""
        media_type = media_type_of(doc.source_uri, doc.media_type, data)
        parsed = read_document(data, media_type)
        drafts = chunk_document(parsed, self._settings.chunk_max_chars)
        title = (doc.title or parsed.title or title_from_uri(doc.source_uri)).strip()[:500]
        fresh = doc.fresh_as_of or datetime.now(UTC)
        if fresh.tzinfo is None:
            fresh = fresh.replace(tzinfo=UTC)
        max_age_s = int(doc.max_age_days * 86400) if doc.max_age_days else None
        return Drafted(
            document=sql.DocumentRow(
                source_uri=doc.source_uri, title=title, media_type=media_type.value,
                data_class=doc.data_class.rank, owner=owner,
                version=doc.version or digest[:12], content_hash=digest,
                fresh_as_of=fresh, max_age_s=max_age_s,
            ),
            drafts=drafts,
            headers=await self._headers(tenant, title, drafts),
            stale_at=fresh + timedelta(seconds=max_age_s) if max_age_s else None,
        )

    async def embed(self, drafted: list[Drafted]) -> list[Prepared]:
        """Embed the chunks of many documents in one batch (much faster than one by one)."""
        texts = [text for d in drafted for text in d.texts]
        vectors = await self._embedder.embed_documents(texts) if texts else []
        prepared, at = [], 0
        for d in drafted:
            rows = [sql.ChunkRow(c.ordinal, list(c.section_path), h, c.text, vectors[at + i])
                    for i, (c, h) in enumerate(zip(d.drafts, d.headers, strict=True))]
            at += len(rows)
            prepared.append(Prepared(d.document, rows, d.stale_at))
        return prepared

    async def _headers(self, tenant: str, title: str, drafts: list[ChunkDraft]) -> list[str]:
        if not self._settings.contextual_headers:
            return [""] * len(drafts)
        summaries = await self._summaries(tenant, title, drafts)
        return [contextual_header(title, d.section_path, summaries.get(d.content_hash))
                for d in drafts]

    async def _summaries(self, tenant: str, title: str, drafts: list[ChunkDraft]) -> dict[str, str]:
        if self._summarizer is None:
            return {}
        model = self._summarizer.model
        hashes = list(dict.fromkeys(d.content_hash for d in drafts))
        async with self._store.tenant(tenant) as conn:
            known = await sql.cached_summaries(conn, hashes, model)
        missing = [d for d in {d.content_hash: d for d in drafts}.values()
                   if d.content_hash not in known]
        if missing:
            made = await self._summarizer.summarize(title, [d.text for d in missing])
            fresh = {d.content_hash: s for d, s in zip(missing, made, strict=True) if s}
            async with self._store.tenant(tenant) as conn:
                await sql.save_summaries(conn, fresh, model)
            known.update(fresh)
        return known

    async def write(self, conn: AsyncConnection, existing: UUID | None, prepared: Prepared
                    ) -> tuple[UUID, int]:
        """Swap the document's chunks; the caller holds the tenant lock (`lock_state`)."""
        removed, removed_length = (0, 0)
        if existing is not None:
            removed, removed_length = await sql.remove_chunks(conn, existing)
        document_id = await sql.save_document(conn, existing, prepared.document,
                                              len(prepared.chunks))
        added_length = await sql.insert_chunks(conn, document_id, prepared.document.data_class,
                                               prepared.stale_at, prepared.chunks,
                                               self._embedder.info)
        version = await sql.bump_version(conn, len(prepared.chunks) - removed,
                                         added_length - removed_length)
        return document_id, version

"""What each kb tool does: the handlers behind the specs.

Ingestion handles each document on its own: a bad one gets a structured error
in its result and never aborts the batch or leaves rows behind. Search embeds
the query, runs the one-statement hybrid retrieval (`retrieval.py`) under the
caller's tenant and clearance, optionally reranks, and builds snippets; results
are cached per tenant, clearance and KB version.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from mcp_servers.kb import models as m
from mcp_servers.kb import retrieval
from mcp_servers.kb import store as sql
from mcp_servers.kb.ingest import Drafted, Ingestor, Prepared, content_hash, raw_bytes
from mcp_servers.kb.llm import Summarizer
from mcp_servers.kb.rerank import build_reranker
from mcp_servers.kb.settings import KbSettings
from mcp_servers.kb.snippets import RetrievalCache, normalise_query, snippet
from mcp_servers.kit.context import CallContext
from mcp_servers.kit.embeddings import Embedder
from mcp_servers.kit.errors import Forbidden, NotFound, PolicyDenied, TesseraError
from mcp_servers.kit.spec import DataClass
from mcp_servers.kit.store import Store

logger = logging.getLogger("tessera.kb")
ADMIN_ROLE = "admin"
CLASSES = list(DataClass)


class KbService:
    def __init__(self, store: Store, embedder: Embedder, settings: KbSettings) -> None:
        self._store = store
        self._embedder = embedder
        self._settings = settings
        summarizer = Summarizer(settings) if settings.summary_model else None
        self._reranker = build_reranker(settings)
        self._ingestor = Ingestor(store, embedder, settings, summarizer)
        self._cache = RetrievalCache(settings.cache_entries, settings.cache_ttl_s)

    # -- ingestion ---------------------------------------------------------------------

    async def ingest(self, ctx: CallContext, args: m.IngestInput) -> m.IngestOutput:
        self._require_writer(ctx)
        results: list[m.IngestedDocument | None] = [None] * len(args.documents)
        drafted: list[tuple[int, Drafted]] = []
        for index, doc in enumerate(args.documents):
            try:
                outcome = await self._draft(ctx, doc)
            except TesseraError as exc:
                outcome = _failed(doc, exc)
            if isinstance(outcome, Drafted):
                drafted.append((index, outcome))
            else:
                results[index] = outcome
        prepared = await self._ingestor.embed([d for _, d in drafted])
        for (index, _), ready in zip(drafted, prepared, strict=True):
            try:
                results[index] = await self._write(ctx, ready)
            except TesseraError as exc:
                results[index] = _failed(args.documents[index], exc)
        async with self._store.tenant(ctx.tenant) as conn:
            version = await sql.kb_version(conn)
        return m.IngestOutput(results=[r for r in results if r is not None], kb_version=version)

    async def _draft(self, ctx: CallContext, doc: m.DocumentIn) -> Drafted | m.IngestedDocument:
        if doc.data_class is DataClass.IV and not self._settings.class_iv_preapproved:
            raise PolicyDenied(
                "Class IV documents are not accepted into the knowledge base.",
                model_fix_hint="Ask the security team to pre-approve class IV documents.",
            )
        if not ctx.clearance.allows(doc.data_class):
            raise Forbidden(f"You may not ingest class {doc.data_class} documents with "
                            f"clearance {ctx.clearance}.")
        owner = doc.owner or ctx.user
        if owner != ctx.user and not ctx.has_role(ADMIN_ROLE):
            raise Forbidden("Only an admin may ingest a document on someone else's behalf.",
                            model_fix_hint="Omit owner to own the document yourself.")
        data = raw_bytes(doc, self._settings.max_file_bytes)
        digest = content_hash(data, doc, owner, doc.title)
        async with self._store.tenant(ctx.tenant) as conn:
            current = await sql.document_by_uri(conn, doc.source_uri)
        self._check_may_change(ctx, current)
        if current is not None and current["content_hash"] == digest:
            return m.IngestedDocument(source_uri=doc.source_uri, status="unchanged",
                                      document_id=current["id"], chunks=current["chunk_count"])
        return await self._ingestor.draft(ctx.tenant, doc, owner, data, digest)

    async def _write(self, ctx: CallContext, ready: Prepared) -> m.IngestedDocument:
        uri = ready.document.source_uri
        async with self._store.tenant(ctx.tenant) as conn:
            await sql.lock_state(conn)
            current = await sql.document_by_uri(conn, uri, lock=True)
            self._check_may_change(ctx, current)
            document_id, _ = await self._ingestor.write(
                conn, current["id"] if current else None, ready)
        return m.IngestedDocument(source_uri=uri, status="replaced" if current else "created",
                                  document_id=document_id, chunks=len(ready.chunks))

    def _require_writer(self, ctx: CallContext) -> None:
        roles = self._settings.ingest_roles
        if roles and not ctx.has_role(*roles, ADMIN_ROLE):
            raise Forbidden("You may not change the knowledge base.",
                            model_fix_hint="Ask a knowledge-base admin to ingest the document.")

    def _check_may_change(self, ctx: CallContext, current: dict[str, Any] | None) -> None:
        if current is None:
            return
        if current["owner"] != ctx.user and not ctx.has_role(ADMIN_ROLE):
            raise Forbidden("This document belongs to someone else; only they or an admin may "
                            "change or delete it.")
        if not ctx.clearance.allows(CLASSES[current["data_class"] - 1]):
            raise Forbidden("This document is classified above your clearance.")

    async def delete(self, ctx: CallContext, args: m.DeleteInput) -> m.DeleteOutput:
        self._require_writer(ctx)
        deleted: list[UUID] = []
        missing: list[str] = []
        async with self._store.tenant(ctx.tenant) as conn:
            await sql.lock_state(conn)
            targets: list[tuple[str, dict[str, Any] | None]] = [
                (str(i), await sql.document_by_id(conn, i, ctx.clearance.rank))
                for i in dict.fromkeys(args.document_ids)]
            targets += [(u, await sql.document_by_uri(conn, u, lock=True))
                        for u in dict.fromkeys(args.source_uris)]
            for name, row in targets:
                if row is None or row["id"] in deleted:
                    if row is None:
                        missing.append(name)
                    continue
                self._check_may_change(ctx, row)
                chunks, length = await sql.remove_chunks(conn, row["id"])
                await sql.delete_document(conn, row["id"])
                await sql.bump_version(conn, -chunks, -length)
                deleted.append(row["id"])
            version = await sql.kb_version(conn)
        if not deleted:
            raise NotFound("None of these documents exist for you.",
                           model_fix_hint="Search or get the document first to find its id.")
        return m.DeleteOutput(deleted=deleted, not_found=missing, kb_version=version)

    # -- retrieval ---------------------------------------------------------------------

    async def search(self, ctx: CallContext, args: m.SearchInput) -> m.SearchOutput:
        rerank = bool(args.rerank and self._reranker is not None)
        # One transaction: the term statistics, the cache check and the search share a
        # connection, which saves a round of BEGIN / tenant / COMMIT per search.
        async with self._store.tenant(ctx.tenant) as conn:
            version, chunks, length, stats = await retrieval.term_statistics(conn, args.query)
            key = (ctx.tenant, ctx.clearance.rank, normalise_query(args.query), args.k, args.mode,
                   rerank, tuple(sorted(map(str, args.document_ids or []))), args.include_stale,
                   version)
            cached = self._cache.get(key)
            if cached is not None:
                return cached.model_copy(update={"cached": True})
            settings = self._settings
            info = self._embedder.info
            vector = None if args.mode == "lexical" else await self._embedder.embed_query(args.query)
            request = retrieval.SearchRequest(
                lexical=retrieval.plan_lexical(stats, chunks, length, settings.lexical_match_budget,
                                               settings.lexical_scorer),
                vector=vector, dimensions=info.dimensions, model=info.model,
                max_class=ctx.clearance.rank,
                limit=max(args.k, settings.candidates) if rerank else args.k,
                candidates=max(settings.candidates, args.k), rrf_k=settings.rrf_k,
                mode=args.mode, scorer=settings.lexical_scorer,
                document_ids=args.document_ids, include_stale=args.include_stale,
                ef_search=settings.hnsw_ef_search,
            )
            rows = await retrieval.search(conn, request)
        hits = [_hit(row, args.query, float(row["score"])) for row in rows]
        if rerank and hits:
            hits = await self._rerank(args.query, hits, rows, args.k)
        output = m.SearchOutput(hits=hits[: args.k], kb_version=version, cached=False,
                                reranked=rerank)
        self._cache.put(key, output)
        return output

    async def _rerank(self, query: str, hits: list[m.Hit], rows: list[dict[str, Any]], k: int
                      ) -> list[m.Hit]:
        assert self._reranker is not None
        order = await self._reranker.rerank(query, [row["text"] for row in rows])
        ranked = []
        for position, (index, relevance) in enumerate(order[:k], start=1):
            hit = hits[index]
            ranked.append(hit.model_copy(update={
                "score": round(relevance, 6),
                "ranks": hit.ranks.model_copy(update={"rerank": position}),
            }))
        return ranked

    async def get_chunk(self, ctx: CallContext, args: m.GetChunkInput) -> m.GetChunkOutput:
        async with self._store.tenant(ctx.tenant) as conn:
            row = await sql.chunk_by_id(conn, args.chunk_id, ctx.clearance.rank)
            if row is None:
                raise NotFound("There is no such chunk for you.",
                               model_fix_hint="Use a chunk_id returned by kb.search.")
            context = []
            if args.neighbours:
                context = await sql.chunks_of(conn, row["document_id"], ctx.clearance.rank,
                                              row["ordinal"] - args.neighbours,
                                              row["ordinal"] + args.neighbours)
        return m.GetChunkOutput(
            chunk=_chunk(row), title=row["title"], source_uri=row["source_uri"],
            stale=row["stale"], context=[_chunk(c) for c in context if c["id"] != row["id"]],
        )

    async def get_document(self, ctx: CallContext, args: m.GetDocumentInput
                           ) -> m.GetDocumentOutput:
        async with self._store.tenant(ctx.tenant) as conn:
            if args.document_id is not None:
                row = await sql.document_by_id(conn, args.document_id, ctx.clearance.rank)
            else:
                row = await sql.document_by_uri(conn, args.source_uri or "")
                if row is not None and row["data_class"] > ctx.clearance.rank:
                    row = None
            if row is None:
                raise NotFound("There is no such document for you.",
                               model_fix_hint="Use a document_id returned by kb.search.")
            chunks = (await sql.chunks_of(conn, row["id"], ctx.clearance.rank)
                      if args.include_chunks else None)
        return m.GetDocumentOutput(
            document=m.Document(
                document_id=row["id"], source_uri=row["source_uri"], title=row["title"],
                media_type=row["media_type"], data_class=CLASSES[row["data_class"] - 1],
                owner=row["owner"], version=row["version"], fresh_as_of=row["fresh_as_of"],
                max_age_days=row["max_age_s"] / 86400 if row["max_age_s"] else None,
                stale=row["stale"], chunk_count=row["chunk_count"], updated_at=row["updated_at"],
            ),
            chunks=[_chunk(c) for c in chunks] if chunks is not None else None,
        )


def _failed(doc: m.DocumentIn, error: TesseraError) -> m.IngestedDocument:
    return m.IngestedDocument(source_uri=doc.source_uri, status="failed", error=error.to_payload())


def _chunk(row: dict[str, Any]) -> m.Chunk:
    return m.Chunk(chunk_id=row["id"], document_id=row["document_id"], ordinal=row["ordinal"],
                   section_path=row["section_path"], header=row["header"], text=row["text"])


def _hit(row: dict[str, Any], query: str, score: float) -> m.Hit:
    return m.Hit(
        chunk_id=row["id"], document_id=row["document_id"], title=row["title"],
        section_path=row["section_path"], source_uri=row["source_uri"],
        data_class=CLASSES[row["data_class"] - 1],
        snippet=m.Snippet.model_validate(snippet(row["text"], query)),
        score=round(score, 6),
        ranks=m.Ranks(dense=row["dense_rank"], lexical=row["lexical_rank"]),
        stale=row["stale"], fresh_as_of=row["fresh_as_of"],
    )

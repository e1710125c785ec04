"""What each citations tool does.

`attribute` splits the answer into claims and, for each, scores every sentence
of every cited chunk: score = 0.5 * lexical overlap + 0.5 * cosine similarity of
their embeddings (the kit's embedder). A passage with score >= min_support
supports the claim; when an LLM verifier is configured it has the last word on
each claim that has support. `verify_quote` checks a quote against the chunk
text character for character, then up to case, whitespace and quote marks.
"""

from __future__ import annotations

import numpy as np

from mcp_servers.citations import matching
from mcp_servers.citations import models as m
from mcp_servers.citations import store as sql
from mcp_servers.citations.settings import CitationsSettings
from mcp_servers.citations.verifier import Verifier
from mcp_servers.kit.context import CallContext
from mcp_servers.kit.embeddings import Embedder
from mcp_servers.kit.errors import Forbidden, NotFound
from mcp_servers.kit.store import Store

WEIGHT_LEXICAL = 0.5
MAX_SUPPORT = 3


class CitationsService:
    def __init__(self, store: Store, embedder: Embedder, settings: CitationsSettings) -> None:
        self._store = store
        self._embedder = embedder
        self._settings = settings
        self._verifier = Verifier(settings) if settings.verifier_model else None

    async def add_source(self, ctx: CallContext, args: m.AddSourceInput) -> m.AddSourceOutput:
        if not ctx.clearance.allows(args.data_class):
            raise Forbidden(f"You may not store class {args.data_class} text with clearance "
                            f"{ctx.clearance}.")
        async with self._store.tenant(ctx.tenant) as conn:
            existing = await sql.source_class(conn, args.source_id)
            if existing is not None and existing > ctx.clearance.rank:
                raise Forbidden("A source with this id exists above your clearance.",
                                model_fix_hint="Choose another source_id.")
            replaced = await sql.upsert_source(conn, args.source_id, args.text, args.label,
                                               args.data_class.rank, ctx.user)
        return m.AddSourceOutput(source_id=args.source_id, replaced=replaced)

    async def verify_quote(self, ctx: CallContext, args: m.VerifyQuoteInput) -> m.VerifyQuoteOutput:
        async with self._store.tenant(ctx.tenant) as conn:
            texts = await sql.texts(conn, [args.chunk_id], ctx.clearance.rank)
        if args.chunk_id not in texts:
            raise NotFound("There is no such chunk or source for you.",
                           model_fix_hint="Cite a chunk_id returned by kb.search.")
        text = texts[args.chunk_id]
        match = matching.find_quote(text, args.quote)
        if match is not None:
            start, end, exact = match
            return m.VerifyQuoteOutput(found=True, exact=exact, start=start, end=end,
                                       matched_text=text[start:end], similarity=1.0)
        closest, ratio = matching.closest_passage(text, args.quote)
        return m.VerifyQuoteOutput(found=False, exact=False, start=None, end=None,
                                   matched_text=closest.text, similarity=round(ratio, 4))

    async def attribute(self, ctx: CallContext, args: m.AttributeInput) -> m.AttributeOutput:
        ids = list(dict.fromkeys(args.chunk_ids))
        async with self._store.tenant(ctx.tenant) as conn:
            texts = await sql.texts(conn, ids, ctx.clearance.rank)
        if not texts:
            raise NotFound("None of the cited chunks exist for you.",
                           model_fix_hint="Cite chunk_ids returned by kb.search.")
        passages = [(cid, piece) for cid in ids if cid in texts
                    for piece in matching.sentences(texts[cid])]
        found_claims = matching.claims(args.answer)
        claim_vectors = await self._embedder.embed_documents([c.text for c in found_claims])
        passage_vectors = await self._embedder.embed_documents([p.text for _, p in passages])
        cosine = (np.asarray(claim_vectors) @ np.asarray(passage_vectors).T
                  if found_claims and passages else np.zeros((len(found_claims), len(passages))))
        claims = []
        for i, claim in enumerate(found_claims):
            support = self._support(claim, passages, cosine[i])
            verdict = None
            if support and self._verifier is not None:
                verdict = await self._verifier.supports(claim.text, [s.quote for s in support])
            claims.append(m.Claim(text=claim.text, start=claim.start, end=claim.end,
                                  supported=bool(support) and verdict is not False,
                                  support=support if verdict is not False else [],
                                  verified_by_llm=verdict))
        unsupported = [c.text for c in claims if not c.supported]
        return m.AttributeOutput(
            claims=claims, unsupported=unsupported,
            coverage=round(1 - len(unsupported) / len(claims), 4) if claims else 0.0,
            unknown_chunk_ids=[i for i in ids if i not in texts],
        )

    def _support(self, claim: matching.Piece, passages: list[tuple[str, matching.Piece]],
                 cosine: np.ndarray) -> list[m.Support]:
        best: dict[str, m.Support] = {}
        for j, (cid, piece) in enumerate(passages):
            lexical = matching.lexical_overlap(claim.text, piece.text)
            if lexical == 0.0:
                continue  # different numbers, or no word in common
            semantic = max(float(cosine[j]), 0.0)
            score = WEIGHT_LEXICAL * lexical + (1 - WEIGHT_LEXICAL) * semantic
            if score >= self._settings.min_support and (cid not in best or score > best[cid].score):
                best[cid] = m.Support(chunk_id=cid, quote=piece.text, start=piece.start,
                                      end=piece.end, score=round(score, 4),
                                      lexical=round(lexical, 4), semantic=round(semantic, 4))
        return sorted(best.values(), key=lambda s: s.score, reverse=True)[:MAX_SUPPORT]

"""What each memory tool does: the handlers behind the specs.

Recall ranks by a blend of meaning, recency and importance:

    score = 0.75 * similarity + 0.15 * recency + 0.10 * importance
    recency = 0.5 ** (days since last recalled / half-life of the memory's kind)

so a CONTEXT memory fades within days while a FACT stays for a year (decay).
Remember folds a near-duplicate into the existing memory instead of storing it
twice (compaction). Near-duplicate is deliberately strict, because a wrong merge
loses information: same user and kind, cosine similarity at or above
`dedupe_similarity`, the same numbers, and nearly the same words. So "Line 4
runs three shifts" merges with "line 4 runs three shifts.", while "Order 4711 is
late" never merges with "Order 4712 is late", however close their vectors.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from mcp_servers.kit.context import CallContext
from mcp_servers.kit.embeddings import Embedder
from mcp_servers.kit.errors import BudgetExceeded, Forbidden, NotFound
from mcp_servers.kit.spec import DataClass
from mcp_servers.kit.store import AuditEvent, Store, append_audit
from mcp_servers.memory import models as m
from mcp_servers.memory import store as sql
from mcp_servers.memory.settings import MemorySettings

HALF_LIFE_DAYS = {
    m.MemoryKind.FACT: 365.0,
    m.MemoryKind.PREFERENCE: 365.0,
    m.MemoryKind.SKILL: 180.0,
    m.MemoryKind.EPISODIC: 30.0,
    m.MemoryKind.CONTEXT: 2.0,
}
WEIGHT_SIMILARITY, WEIGHT_RECENCY, WEIGHT_IMPORTANCE = 0.75, 0.15, 0.10
WORD_OVERLAP = 0.8  # Jaccard overlap of the word sets for a near-duplicate
ADMIN_ROLE = "admin"


class MemoryService:
    def __init__(self, store: Store, embedder: Embedder, settings: MemorySettings) -> None:
        self._store = store
        self._embedder = embedder
        self._settings = settings

    async def remember(self, ctx: CallContext, args: m.RememberInput) -> m.RememberOutput:
        if not ctx.clearance.allows(args.data_class):
            raise Forbidden(
                f"You may not store class {args.data_class} content with clearance {ctx.clearance}.",
                model_fix_hint="Do not store this; or store a less sensitive summary.",
            )
        embedding = (await self._embedder.embed_documents([args.content]))[0]
        new = sql.NewMemory(
            user=ctx.user,
            kind=args.kind.value,
            content=args.content,
            importance=args.importance,
            tags=sorted(set(args.tags)),
            data_class=args.data_class.rank,
            ttl_s=args.ttl_s,
            embedding=embedding,
        )
        info = self._embedder.info
        async with self._store.tenant(ctx.tenant) as conn:
            await sql.lock_user(conn, ctx.user)
            neighbours = await sql.nearest(conn, user=ctx.user, query=embedding, info=info,
                                           limit=3, max_data_class=4, kinds=[new.kind])
            twin = next((row for row in neighbours if self._is_duplicate(row, args.content)), None)
            if twin is not None:
                await sql.merge_into(conn, twin["id"], new)
                return m.RememberOutput(id=twin["id"], merged=True, kind=args.kind)
            if await sql.count_for_user(conn, ctx.user) >= self._settings.max_per_user:
                raise BudgetExceeded(
                    f"You already have {self._settings.max_per_user} memories, the most allowed.",
                    model_fix_hint="Forget memories that are no longer needed, then remember again.",
                )
            memory_id = await sql.insert(conn, new, info)
        return m.RememberOutput(id=memory_id, merged=False, kind=args.kind)

    def _is_duplicate(self, row: dict[str, Any], content: str) -> bool:
        if row["similarity"] < self._settings.dedupe_similarity:
            return False
        old, new = _words(row["content"]), _words(content)
        if _numbers(old) != _numbers(new):
            return False
        return len(set(old) & set(new)) / max(len(set(old) | set(new)), 1) >= WORD_OVERLAP

    async def recall(self, ctx: CallContext, args: m.RecallInput) -> m.RecallOutput:
        query = await self._embedder.embed_query(args.query)
        floor = self._settings.min_similarity if args.min_similarity is None else args.min_similarity
        async with self._store.tenant(ctx.tenant) as conn:
            candidates = await sql.nearest(
                conn,
                user=ctx.user,
                query=query,
                info=self._embedder.info,
                limit=max(args.k * 4, self._settings.recall_candidates),
                max_data_class=ctx.clearance.rank,
                kinds=[kind.value for kind in args.kinds] if args.kinds else None,
                tags=args.tags,
            )
            now = datetime.now(UTC)
            ranked = sorted(
                (_recalled(row, now) for row in candidates if row["similarity"] >= floor),
                key=lambda memory: memory.score,
                reverse=True,
            )[: args.k]
            await sql.touch(conn, [memory.id for memory in ranked])
        return m.RecallOutput(memories=ranked, embedding_model=self._embedder.info.model)

    async def forget(self, ctx: CallContext, args: m.ForgetInput) -> m.ForgetOutput:
        wanted = list(dict.fromkeys(args.ids))
        async with self._store.tenant(ctx.tenant) as conn:
            deleted = set(await sql.delete(conn, ctx.user, wanted))
        if not deleted:
            raise NotFound(
                "None of these memories exist for you.",
                model_fix_hint="Recall or export first to get the ids of existing memories.",
            )
        return m.ForgetOutput(
            forgotten=[i for i in wanted if i in deleted],
            not_found=[i for i in wanted if i not in deleted],
        )

    async def export_user(self, ctx: CallContext, args: m.ExportUserInput) -> m.ExportUserOutput:
        user = _subject(ctx, args.user, "export")
        async with self._store.tenant(ctx.tenant) as conn:
            rows = await sql.page_for_user(conn, user, args.after, args.limit + 1)
        page = [_memory(row) for row in rows[: args.limit]]
        more = len(rows) > args.limit
        return m.ExportUserOutput(user=user, memories=page, next_after=page[-1].id if more else None)

    async def erase_user(self, ctx: CallContext, args: m.EraseUserInput) -> m.EraseUserOutput:
        user = _subject(ctx, args.user, "erase")
        async with self._store.tenant(ctx.tenant) as conn:
            await sql.lock_user(conn, user)
            erased = await sql.delete_user(conn, user)
            seq = await append_audit(
                conn,
                AuditEvent(
                    actor=ctx.user,
                    action="memory.erase_user",
                    target=user,
                    details={"erased": erased, "run_id": ctx.run_id},
                ),
            )
        return m.EraseUserOutput(user=user, erased=erased, audit_seq=seq)


def _subject(ctx: CallContext, user: str | None, verb: str) -> str:
    """Whose memories a GDPR request is about; someone else's needs the admin role."""
    if user is None or user == ctx.user:
        return ctx.user
    if not ctx.has_role(ADMIN_ROLE):
        raise Forbidden(
            f"Only an admin may {verb} another user's memories.",
            model_fix_hint="Omit `user` to act on your own memories.",
        )
    return user


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _numbers(words: list[str]) -> list[str]:
    return sorted(word for word in words if any(char.isdigit() for char in word))


def _memory(row: dict[str, Any]) -> m.Memory:
    return m.Memory(
        id=row["id"],
        kind=m.MemoryKind(row["kind"]),
        content=row["content"],
        importance=row["importance"],
        tags=row["tags"],
        data_class=list(DataClass)[row["data_class"] - 1],
        created_at=row["created_at"],
        last_accessed_at=row["last_accessed_at"],
    )


def _recalled(row: dict[str, Any], now: datetime) -> m.RecalledMemory:
    base = _memory(row)
    half_life = HALF_LIFE_DAYS[base.kind]
    recency = 0.5 ** (sql.age_days(base.last_accessed_at, now) / half_life)
    similarity = float(row["similarity"])
    score = WEIGHT_SIMILARITY * similarity + WEIGHT_RECENCY * recency + WEIGHT_IMPORTANCE * base.importance
    return m.RecalledMemory(**base.model_dump(), similarity=round(similarity, 4), score=round(score, 4))

"""Conversations per tenant and user, with a rolling summary instead of blind truncation.

The recent messages are kept verbatim (`TESSERA_HOST_HISTORY_MESSAGES`); when a
conversation grows past that, the oldest half is folded into a summary by the fast
model tier, so a long conversation keeps its facts without growing the prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import AsyncConnection

from host.llm import ModelClient
from mcp_servers.kit.errors import Forbidden, TesseraError
from mcp_servers.kit.store.pool import Store

SUMMARY_PROMPT = (
    "Summarise this conversation between a user and Tessera's assistant for the assistant's "
    "own later use. Keep names, numbers, document and order ids, decisions and open requests. "
    "At most 200 words."
)


@dataclass(frozen=True)
class History:
    summary: str
    messages: list[dict[str, str]]


class ConversationStore:
    def __init__(self, store: Store, model: ModelClient, keep: int) -> None:
        self.store = store
        self.model = model
        self.keep = keep

    async def open(self, tenant: str, user: str, conversation_id: str, message: str) -> History:
        """The conversation so far (created on first use), with the user's new message added.

        One transaction: the history returned is what came before `message`.
        """
        async with self.store.tenant(tenant) as conn:
            await conn.execute(
                "INSERT INTO host_conversations (id, user_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (conversation_id, user))
            cursor = await conn.execute(
                "SELECT user_id, summary, summarized_through FROM host_conversations WHERE id = %s",
                (conversation_id,))
            owner, summary, through = await cursor.fetchone()
            if owner != user:
                raise Forbidden("This conversation belongs to another user.",
                                model_fix_hint="Start a new conversation id.")
            cursor = await conn.execute(
                "SELECT role, content FROM host_messages WHERE conversation_id = %s AND seq > %s "
                "ORDER BY seq", (conversation_id, through))
            messages = [{"role": role, "content": content} for role, content in await cursor.fetchall()]
            await self.add_message(conn, conversation_id, "user", message)
        return History(summary=summary, messages=messages)

    @staticmethod
    async def add_message(conn: AsyncConnection, conversation_id: str, role: str, content: str,
                          run_id: str | None = None) -> None:
        """Add a message at the conversation's end (`conn` is scoped to its tenant)."""
        await conn.execute(
            "INSERT INTO host_messages (conversation_id, seq, role, content, run_id) "
            "SELECT %s, coalesce(max(seq), 0) + 1, %s, %s, %s FROM host_messages "
            "WHERE conversation_id = %s",
            (conversation_id, role, content, run_id, conversation_id))

    async def compact(self, tenant: str, conversation_id: str) -> None:
        """Fold the oldest messages into the summary once there are more than `keep`."""
        async with self.store.tenant(tenant) as conn:
            cursor = await conn.execute(
                "SELECT c.summary, c.summarized_through, "
                "array_agg(m.seq ORDER BY m.seq), array_agg(m.role ORDER BY m.seq), "
                "array_agg(m.content ORDER BY m.seq) FROM host_conversations c "
                "JOIN host_messages m ON m.conversation_id = c.id AND m.seq > c.summarized_through "
                "WHERE c.id = %s GROUP BY c.summary, c.summarized_through", (conversation_id,))
            row = await cursor.fetchone()
        if row is None or len(row[2]) <= self.keep or not self.model.configured:
            return
        summary, _, seqs, roles, contents = row
        fold = len(seqs) - self.keep // 2
        transcript = "\n".join(f"{r}: {c}" for r, c in zip(roles[:fold], contents[:fold], strict=True))
        prompt = [{"role": "system", "content": SUMMARY_PROMPT},
                  {"role": "user", "content": f"Earlier summary: {summary or '(none)'}\n\n{transcript}"}]

        async def ignore(_: str) -> None:
            return None

        try:
            reply = await self.model.complete(prompt, [], tier="fast", on_delta=ignore)
        except TesseraError:
            return  # keep the messages; summarising again next turn costs nothing extra
        async with self.store.tenant(tenant) as conn:
            await conn.execute(
                "UPDATE host_conversations SET summary = %s, summarized_through = %s, "
                "updated_at = now() WHERE id = %s", (reply.text[:4000], seqs[fold - 1], conversation_id))

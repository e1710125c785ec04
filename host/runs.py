"""Runs in PostgreSQL: the state a paused run resumes from, its events, and its lease.

A run's whole working state (messages, offered tools, usage) is one JSON document,
saved after every step, so any host process can pick a paused run up. Whoever
resumes a run first takes its lease with one conditional UPDATE; a second process
racing for the same run gets nothing, so a run never advances twice.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from mcp_servers.kit.store.audit import AuditEvent, append_audit
from mcp_servers.kit.store.pool import Store


class Usage(BaseModel):
    """What a run has spent so far."""

    tool_calls: int = Field(default=0, description="Tool calls made.")
    tokens_in: int = Field(default=0, description="Prompt tokens.")
    tokens_out: int = Field(default=0, description="Completion tokens.")
    cost: float = Field(default=0.0, description="Model cost.")
    retries: int = Field(default=0, description="Retries of retryable tool errors.")
    active_s: float = Field(default=0.0, description="Wall time spent running (not waiting for approval).")
    model_calls: int = Field(default=0, description="Model calls made.")

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


class Limits(BaseModel):
    """The run's budget, fixed when it starts (settings, tightened by policy)."""

    tool_calls: int = Field(description="Most tool calls.")
    wall_s: float = Field(description="Most wall time, in seconds.")
    tokens: int = Field(description="Most model tokens.")
    cost: float = Field(description="Most model cost.")
    retries: int = Field(description="Most retries of retryable errors.")


class PendingCall(BaseModel):
    """The tool call a paused run waits on."""

    tool_call_id: str = Field(description="The model's id for the call.")
    tool: str = Field(description="Namespaced tool name.")
    approval_id: str = Field(description="The approval it waits for.")


class RunState(BaseModel):
    """Everything needed to continue a run on any host process."""

    run_id: str = Field(description="Run id.")
    tenant: str = Field(description="Tenant.")
    user: str = Field(description="The user the run acts for.")
    roles: list[str] = Field(description="The user's roles.")
    clearance: str = Field(description="The user's clearance (I-IV).")
    conversation_id: str | None = Field(default=None, description="Conversation, if any.")
    messages: list[dict[str, Any]] = Field(description="The model conversation so far.")
    toolset: list[str] = Field(default_factory=list, description="Tools offered, in the order they joined.")
    usage: Usage = Field(default_factory=Usage, description="Spent so far.")
    limits: Limits = Field(description="The budget.")
    tier: str = Field(default="standard", description="Model tier in use.")
    tainted: bool = Field(default=False, description="The run has read untrusted content.")
    fix_attempts: int = Field(default=0, description="Invalid tool calls sent back to the model.")
    retrieved_chunks: list[str] = Field(default_factory=list, description="Chunk ids seen.")
    pending: PendingCall | None = Field(default=None, description="The call it waits on.")
    events: int = Field(default=0, description="Events recorded so far.")
    tenant_tokens_today: int | None = Field(default=None, description="The tenant's tokens "
                                            "today as of this run's last model call.")
    history_length: int = Field(default=0, description="Messages of the conversation not yet "
                                "folded into its summary, when the run started.")
    done: list[str] = Field(default_factory=list, description="Tools called successfully, in order.")
    notes: list[str] = Field(default_factory=list, description="What was not done, for the final message.")


def new_run_id() -> str:
    return str(uuid.uuid4())


class LeaseLost(Exception):
    """This process no longer holds the run: another claimed it after its lease ran out."""


class RunStore:
    """Runs in the database; the runs this process holds are kept leased by `renew_leases`."""

    def __init__(self, store: Store, owner: str | None = None) -> None:
        self.store = store
        self.owner = owner or f"host-{uuid.uuid4().hex[:8]}"
        self.held: dict[str, str] = {}  # run id -> tenant, while this process drives the run
        # Events, audit entries and other writes of a step (the tenant's usage, the answer
        # in the conversation) wait here and go with the next save, in its transaction:
        # one transaction per step instead of one per write.
        self._unsaved: dict[str, list[tuple[str, Any]]] = {}

    async def create(self, state: RunState, *, model: str, prompt_hash: str,
                     config_version: str, toolset_version: str, lease_s: float) -> None:
        async with self.store.tenant(state.tenant) as conn:
            await conn.execute(
                "INSERT INTO host_runs (id, user_id, conversation_id, status, state, lease_owner, "
                "lease_until, model, prompt_hash, config_version, toolset_version) "
                "VALUES (%s, %s, %s, 'running', %s, %s, now() + make_interval(secs => %s), %s, %s, %s, %s)",
                (state.run_id, state.user, state.conversation_id, Jsonb(state.model_dump(mode="json")),
                 self.owner, lease_s, model, prompt_hash, config_version, toolset_version),
            )
        self.held[state.run_id] = state.tenant

    async def save(self, state: RunState, *, status: str, outcome: str | None = None,
                   lease_s: float | None = None) -> None:
        release = status != "running"
        if release:
            self.held.pop(state.run_id, None)
        unsaved = self._unsaved.pop(state.run_id, [])
        try:
            lost = await self._write(state, unsaved, status=status, outcome=outcome,
                                     release=release, lease_s=lease_s)
        except BaseException:  # the database failed: what was spent is charged by the next save
            spent = [item for item in unsaved if item[0] == "spent"]
            self._unsaved.setdefault(state.run_id, [])[:0] = spent
            raise
        if lost:
            self.held.pop(state.run_id, None)
            raise LeaseLost(f"run {state.run_id} is held by another host process now")

    async def _write(self, state: RunState, unsaved: list[tuple[str, Any]], *, status: str,
                     outcome: str | None, release: bool, lease_s: float | None) -> bool:
        """One save's transaction; True when this process no longer holds the run."""
        async with self.store.tenant(state.tenant) as conn:
            # Only the lease holder writes the run: a process whose lease expired (it
            # stalled, and another process claimed the run) learns it here. What it
            # spent is still counted; nothing else of its step is written.
            cursor = await conn.execute(
                "UPDATE host_runs SET state = %s, status = %s, outcome = coalesce(%s, outcome), "
                "usage = %s, pending_approval = %s, updated_at = now(), "
                "lease_owner = CASE WHEN %s THEN NULL ELSE lease_owner END, "
                "lease_until = CASE WHEN %s THEN NULL ELSE now() + make_interval(secs => %s) END "
                "WHERE id = %s AND lease_owner = %s",
                (Jsonb(state.model_dump(mode="json")), status, outcome,
                 Jsonb(state.usage.model_dump(mode="json")),
                 state.pending.approval_id if state.pending else None,
                 release, release, lease_s or 0, state.run_id, self.owner),
            )
            lost = cursor.rowcount == 0
            for kind, item in [] if lost else unsaved:
                if kind == "audit":
                    await append_audit(conn, item)
                elif kind == "write":
                    await item(conn)
                elif kind == "event":
                    seq, event_kind, payload = item
                    await conn.execute(
                        "INSERT INTO host_run_events (run_id, seq, kind, payload) "
                        "VALUES (%s, %s, %s, %s)", (state.run_id, seq, event_kind, Jsonb(payload)))
            for kind, item in unsaved:  # last: a charge updates the tenant's one usage row,
                if kind == "spent":     # whose lock is then held only until the commit
                    await item(conn)
        return lost

    async def claim(self, tenant: str, run_id: str, lease_s: float) -> RunState | None:
        """Take the lease of a paused run, or of a running one whose process stopped renewing it.

        None when another process holds it or it has ended: exactly one claimant wins.
        """
        async with self.store.tenant(tenant) as conn:
            cursor = await conn.execute(
                "UPDATE host_runs SET status = 'running', lease_owner = %s, "
                "lease_until = now() + make_interval(secs => %s), updated_at = now() "
                "WHERE id = %s AND status IN ('paused', 'running') "
                "AND (lease_until IS NULL OR lease_until < now()) RETURNING state",
                (self.owner, lease_s, run_id),
            )
            row = await cursor.fetchone()
        if row is None:
            return None
        self.held[run_id] = tenant
        return RunState.model_validate(row[0])

    async def renew_leases(self, lease_s: float) -> None:
        """Extend the lease of every run this process is driving (a heartbeat; see the host app)."""
        by_tenant: dict[str, list[str]] = {}
        for run_id, tenant in list(self.held.items()):
            by_tenant.setdefault(tenant, []).append(run_id)
        for tenant, run_ids in by_tenant.items():
            async with self.store.tenant(tenant) as conn:
                await conn.execute(
                    "UPDATE host_runs SET lease_until = now() + make_interval(secs => %s) "
                    "WHERE id = ANY(%s::uuid[]) AND lease_owner = %s AND status = 'running'",
                    (lease_s, run_ids, self.owner))

    async def get(self, tenant: str, run_id: str) -> dict[str, Any] | None:
        async with self.store.tenant(tenant) as conn:
            cursor = await conn.execute(
                "SELECT id::text, user_id, conversation_id, status, outcome, usage, model, "
                "prompt_hash, config_version, toolset_version, pending_approval::text, "
                "created_at, updated_at FROM host_runs WHERE id = %s", (run_id,))
            row = await cursor.fetchone()
            if row is None:
                return None
            names = [d.name for d in cursor.description]
            return dict(zip(names, row, strict=True))

    async def events(self, tenant: str, run_id: str) -> list[dict[str, Any]]:
        async with self.store.tenant(tenant) as conn:
            cursor = await conn.execute(
                "SELECT seq, kind, payload FROM host_run_events WHERE run_id = %s ORDER BY seq",
                (run_id,))
            return [{"seq": s, "kind": k, "payload": p} for s, k, p in await cursor.fetchall()]

    def record(self, state: RunState, kind: str, payload: dict[str, Any]) -> None:
        """Add one (already redacted) event to the run's record; written by the next `save`."""
        state.events += 1
        self._unsaved.setdefault(state.run_id, []).append(("event", (state.events, kind, payload)))

    def audit(self, state: RunState, event: AuditEvent) -> None:
        """Add an entry to the tenant's audit log; written by the next `save`, in its transaction."""
        self._unsaved.setdefault(state.run_id, []).append(("audit", event))

    def on_save(self, state: RunState, write: Callable[[AsyncConnection], Awaitable[None]], *,
                spent: bool = False) -> None:
        """Run `write` in the next `save`'s transaction, if this process still holds the run.

        `spent=True`: a charge for what the step used, run last in the transaction and
        committed even when the lease was lost (what was spent was spent).
        """
        self._unsaved.setdefault(state.run_id, []).append(("spent" if spent else "write", write))

    async def pending_work(self) -> list[tuple[str, str]]:
        """(tenant, run id) of runs to resume: approval decided or expired, or process gone."""
        async with self.store.unscoped() as conn:
            cursor = await conn.execute("SELECT tenant_id, run_id::text FROM host_pending_work()")
            return [(tenant, run_id) for tenant, run_id in await cursor.fetchall()]


class Stopwatch:
    """Active wall time of a run: it runs while the run runs, not while it waits."""

    def __init__(self, usage: Usage) -> None:
        self._usage = usage
        self._since = time.monotonic()

    def lap(self) -> float:
        now = time.monotonic()
        self._usage.active_s += now - self._since
        self._since = now
        return self._usage.active_s

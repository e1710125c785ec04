"""Durable human approval of risky calls: PROPOSED → APPROVED/REJECTED/EXPIRED → EXECUTED.

A call that policy answers `require_approval` becomes an approval record bound to a
hash of the exact tool and arguments. An approver (never the requester, and only
one holding a role the matched rules name) approves, rejects, or modifies the
arguments (the host re-checks a modification against policy before storing it).
Execution is claimed with one conditional UPDATE (APPROVED → EXECUTING), so a
write runs once; a crash mid-execution is retried with the same idempotency key,
which the server uses to return the first result instead of writing twice.
Every transition is appended to the tenant's hash-chained audit log in the same
transaction as the change it records.
"""

from __future__ import annotations

import enum
import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from mcp_servers.kit.errors import Conflict, Forbidden, NotFound
from mcp_servers.kit.store.audit import AuditEvent, append_audit
from mcp_servers.kit.store.pool import Store


class ApprovalStatus(enum.StrEnum):
    PROPOSED = "PROPOSED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    EXECUTING = "EXECUTING"
    EXECUTED = "EXECUTED"


class Approval(BaseModel):
    """An approval record, as the API shows it."""

    id: str = Field(description="Approval id.")
    run_id: str | None = Field(description="The paused run, or null for a direct MCP call.")
    requester: str = Field(description="The user whose call is held.")
    requester_roles: list[str] = Field(description="The requester's roles when they asked.")
    tool: str = Field(description="Namespaced tool name.")
    arguments: dict[str, Any] = Field(description="The exact arguments that will run.")
    args_hash: str = Field(description="sha256 of the tool and its canonical arguments.")
    reason: str = Field(description="Why the model (or client) wants this call.")
    rule: str = Field(description="The policy rule that asked for approval.")
    impact: str = Field(description="What the call will do, in a sentence.")
    approver_roles: list[str] = Field(description="Roles that may approve.")
    idempotency_key: str = Field(description="Key the write carries, so it never runs twice.")
    status: ApprovalStatus = Field(description="Where the approval is in its life.")
    decided_by: str | None = Field(description="Who approved, rejected or modified it.")
    decided_at: datetime | None = Field(description="When.")
    decision_note: str | None = Field(description="The approver's note.")
    expires_at: datetime = Field(description="When a pending approval expires.")
    result: dict[str, Any] | None = Field(description="The tool result, once executed.")
    created_at: datetime = Field(description="When it was proposed.")


_COLUMNS = ("id::text, run_id::text, requester, requester_roles, tool, arguments, args_hash, reason, rule, impact, "
            "approver_roles, idempotency_key, status, decided_by, decided_at, decision_note, "
            "expires_at, result, created_at")


def args_hash(tool: str, arguments: dict[str, Any]) -> str:
    canonical = json.dumps({"tool": tool, "arguments": arguments}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ApprovalStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def propose(self, tenant: str, *, requester: str, requester_roles: list[str], tool: str, arguments: dict[str, Any],
                      rule: str, approver_roles: list[str], expires_after_s: int,
                      run_id: str | None = None, tool_call_id: str | None = None,
                      reason: str = "", impact: str = "") -> Approval:
        approval_id = str(uuid.uuid4())
        async with self.store.tenant(tenant) as conn:
            cursor = await conn.execute(
                f"INSERT INTO host_approvals (id, run_id, requester, requester_roles, tool, arguments, "
                f"args_hash, tool_call_id, reason, rule, impact, approver_roles, idempotency_key, "
                f"expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                f"now() + make_interval(secs => %s)) RETURNING {_COLUMNS}",
                (approval_id, run_id, requester, list(requester_roles), tool, Jsonb(arguments), args_hash(tool, arguments),
                 tool_call_id, reason[:2000], rule, impact[:2000], approver_roles,
                 f"tessera-{approval_id}", expires_after_s),
            )
            approval = _row(cursor.description, await cursor.fetchone())
            await _audit(conn, requester, "approval.proposed", approval,
                         {"tool": tool, "rule": rule, "args_hash": approval.args_hash})
        return approval

    async def get(self, tenant: str, approval_id: str) -> Approval:
        async with self.store.tenant(tenant) as conn:
            return await _get(conn, approval_id)

    async def list(self, tenant: str, status: ApprovalStatus | None = None,
                   limit: int = 100) -> list[Approval]:
        await self.expire_due(tenant)
        async with self.store.tenant(tenant) as conn:
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM host_approvals WHERE (%s::text IS NULL OR status = %s) "
                f"ORDER BY created_at DESC LIMIT %s", (status, status, limit))
            return [_row(cursor.description, row) for row in await cursor.fetchall()]

    async def find_for_call(self, tenant: str, requester: str, tool: str,
                            arguments: dict[str, Any]) -> Approval | None:
        """The latest live approval (pending, approved or executed) of this user for exactly this call."""
        async with self.store.tenant(tenant) as conn:
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM host_approvals WHERE requester = %s AND args_hash = %s "
                f"AND status IN ('PROPOSED', 'APPROVED', 'EXECUTING', 'EXECUTED') "
                f"ORDER BY created_at DESC LIMIT 1",
                (requester, args_hash(tool, arguments)))
            row = await cursor.fetchone()
            return _row(cursor.description, row) if row else None

    async def decide(self, tenant: str, approval_id: str, *, approver: str, approve: bool,
                     note: str = "", arguments: dict[str, Any] | None = None) -> Approval:
        """Approve (optionally with modified arguments) or reject a pending approval."""
        async with self.store.tenant(tenant) as conn:
            current = await _get(conn, approval_id, lock=True)
            if current.requester == approver:
                raise Forbidden("Nobody approves their own request.",
                                model_fix_hint="Ask another approver.")
            await _expire_if_due(conn, current)
            current = await _get(conn, approval_id)
            if current.status is not ApprovalStatus.PROPOSED:
                raise Conflict(f"This approval is already {current.status.value}.",
                               model_fix_hint="Reload the approval; it was decided already.")
            status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
            new_arguments = arguments if arguments is not None else current.arguments
            cursor = await conn.execute(
                f"UPDATE host_approvals SET status = %s, decided_by = %s, decided_at = now(), "
                f"decision_note = %s, arguments = %s, args_hash = %s, updated_at = now() "
                f"WHERE id = %s RETURNING {_COLUMNS}",
                (status.value, approver, note[:2000], Jsonb(new_arguments),
                 args_hash(current.tool, new_arguments), approval_id))
            decided = _row(cursor.description, await cursor.fetchone())
            action = ("approval.modified" if approve and arguments is not None
                      else "approval.approved" if approve else "approval.rejected")
            await _audit(conn, approver, action, decided,
                         {"args_hash": decided.args_hash, "note": note[:200]})
        return decided

    async def begin_execution(self, tenant: str, approval_id: str, actor: str) -> Approval | None:
        """Claim an approved call for execution; None when it is not (or no longer) approved."""
        async with self.store.tenant(tenant) as conn:
            cursor = await conn.execute(
                f"UPDATE host_approvals SET status = 'EXECUTING', updated_at = now() "
                f"WHERE id = %s AND status IN ('APPROVED', 'EXECUTING') RETURNING {_COLUMNS}",
                (approval_id,))
            row = await cursor.fetchone()
            if row is None:
                return None
            approval = _row(cursor.description, row)
            await _audit(conn, actor, "approval.executing", approval, {})
        return approval

    async def finish_execution(self, tenant: str, approval_id: str, actor: str,
                               result: dict[str, Any]) -> None:
        async with self.store.tenant(tenant) as conn:
            cursor = await conn.execute(
                f"UPDATE host_approvals SET status = 'EXECUTED', result = %s, updated_at = now() "
                f"WHERE id = %s AND status = 'EXECUTING' RETURNING {_COLUMNS}",
                (Jsonb(result), approval_id))
            row = await cursor.fetchone()
            if row is not None:
                approval = _row(cursor.description, row)
                await _audit(conn, actor, "approval.executed", approval,
                             {"is_error": bool(result.get("is_error"))})

    async def expire_due(self, tenant: str) -> int:
        async with self.store.tenant(tenant) as conn:
            cursor = await conn.execute(
                f"UPDATE host_approvals SET status = 'EXPIRED', updated_at = now() "
                f"WHERE status = 'PROPOSED' AND expires_at < now() RETURNING {_COLUMNS}")
            expired = [_row(cursor.description, row) for row in await cursor.fetchall()]
            for approval in expired:
                await _audit(conn, "tessera-host", "approval.expired", approval, {})
        return len(expired)


async def _get(conn: AsyncConnection, approval_id: str, lock: bool = False) -> Approval:
    try:
        uuid.UUID(approval_id)
    except ValueError:
        raise NotFound("There is no approval with that id.") from None
    cursor = await conn.execute(
        f"SELECT {_COLUMNS} FROM host_approvals WHERE id = %s" + (" FOR UPDATE" if lock else ""),
        (approval_id,))
    row = await cursor.fetchone()
    if row is None:
        raise NotFound("There is no approval with that id.")
    return _row(cursor.description, row)


async def _expire_if_due(conn: AsyncConnection, approval: Approval) -> None:
    cursor = await conn.execute(
        "UPDATE host_approvals SET status = 'EXPIRED', updated_at = now() "
        "WHERE id = %s AND status = 'PROPOSED' AND expires_at < now() RETURNING id", (approval.id,))
    if await cursor.fetchone():
        await _audit(conn, "tessera-host", "approval.expired", approval, {})


async def _audit(conn: AsyncConnection, actor: str, action: str, approval: Approval,
                 details: dict[str, Any]) -> None:
    await append_audit(conn, AuditEvent(actor=actor, action=action, target=f"approval:{approval.id}",
                                        details={"tool": approval.tool, **details}))


def _row(description: Any, row: Any) -> Approval:
    return Approval.model_validate(dict(zip([d.name for d in description], row, strict=True)))

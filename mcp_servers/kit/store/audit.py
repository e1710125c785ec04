"""The append-only, hash-chained audit log (`audit_events`).

Rows are written inside a tenant transaction (`Store.tenant`); the database
assigns each row its place in the tenant's chain and its hash (see the core
migration), so no caller can forge a chain position. `verify_chain` recomputes
every hash and reports the first break.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class AuditEvent:
    actor: str
    action: str
    target: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class ChainReport:
    events: int
    intact: bool
    first_broken_seq: int | None


async def append_audit(conn: AsyncConnection, event: AuditEvent) -> int:
    """Append `event` to the current tenant's chain; return its sequence number."""
    cursor = await conn.execute(
        "INSERT INTO audit_events (actor, action, target, details) VALUES (%s, %s, %s, %s) "
        "RETURNING seq",
        (event.actor, event.action, event.target, Jsonb(event.details)),
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def verify_chain(conn: AsyncConnection) -> ChainReport:
    """Recompute the current tenant's chain from its first row."""
    cursor = await conn.execute(
        "SELECT seq, prev_hash, hash, audit_events_digest(a, prev_hash) = hash "
        "FROM audit_events a ORDER BY seq"
    )
    previous_hash = None
    count = 0
    for expected_seq, (seq, prev_hash, digest, digest_ok) in enumerate(await cursor.fetchall(), 1):
        count += 1
        if seq != expected_seq or prev_hash != previous_hash or not digest_ok:
            return ChainReport(events=count, intact=False, first_broken_seq=expected_seq)
        previous_hash = digest
    return ChainReport(events=count, intact=True, first_broken_seq=None)

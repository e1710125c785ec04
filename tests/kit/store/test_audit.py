"""The hash-chained, append-only audit log, on the real database.

Each test writes to tenants of its own, so chains never mix between tests.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator

import anyio
import psycopg
import pytest

from mcp_servers.kit.errors import Forbidden
from mcp_servers.kit.store import AuditEvent, Store, append_audit, verify_chain
from mcp_servers.kit.store.audit import ChainReport

pytestmark = pytest.mark.anyio

BOUND_S = 30  # every wait in this module is bounded by this


def fresh_tenant(label: str) -> str:
    return f"audit-{label}-{uuid.uuid4().hex[:8]}"


def event(n: int) -> AuditEvent:
    return AuditEvent(actor="alice", action="memory.remember", target=f"m-{n}",
                      details={"n": n, "note": "ünïcode ✓"})


@pytest.fixture
async def store(database, anyio_backend) -> AsyncIterator[Store]:
    async with Store(database.app_url, application_name="test-audit", min_size=1,
                     max_size=4, open_timeout_s=10) as opened:
        yield opened


async def append(store: Store, tenant: str, n: int) -> int:
    async with store.tenant(tenant) as conn:
        return await append_audit(conn, event(n))


async def report(store: Store, tenant: str):
    async with store.tenant(tenant) as conn:
        return await verify_chain(conn)


async def test_each_tenant_has_its_own_sequence(store):
    first, second = fresh_tenant("seq1"), fresh_tenant("seq2")
    seqs: dict[str, list[int]] = {first: [], second: []}
    for tenant, n in [(first, 1), (second, 1), (first, 2), (first, 3), (second, 2)]:
        seqs[tenant].append(await append(store, tenant, n))
    assert seqs == {first: [1, 2, 3], second: [1, 2]}


async def test_the_database_assigns_seq_and_hash_whatever_the_caller_sends(store):
    tenant = fresh_tenant("forge")
    await append(store, tenant, 1)
    async with store.tenant(tenant) as conn:
        cursor = await conn.execute(
            "INSERT INTO audit_events (actor, action, seq, prev_hash, hash) "
            "VALUES ('mallory', 'forge', 99, '\\x00', '\\x00') RETURNING seq, hash")
        forged = await cursor.fetchone()
    assert forged is not None and forged[0] == 2 and forged[1] != b"\x00"
    assert (await report(store, tenant)).intact


async def test_hashes_chain_and_can_be_recomputed_outside_the_database(store):
    tenant = fresh_tenant("chain")
    for n in (1, 2, 3):
        await append(store, tenant, n)
    async with store.tenant(tenant) as conn:
        cursor = await conn.execute(
            "SELECT seq, prev_hash, hash, tenant_id, "
            "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), "
            "actor, action, coalesce(target, ''), details::text FROM audit_events ORDER BY seq")
        rows = await cursor.fetchall()

    assert [row[0] for row in rows] == [1, 2, 3]
    previous = None
    for seq, prev_hash, digest, *fields in rows:
        assert prev_hash == previous, f"row {seq} does not point at row {seq - 1}"
        # An auditor can check the chain with nothing but sha256 (see the core migration).
        content = "\x1f".join([fields[0], str(seq), *fields[1:]]).encode()
        assert digest == hashlib.sha256((previous or b"") + content).digest()
        previous = digest


async def test_an_untouched_chain_verifies(store):
    tenant = fresh_tenant("intact")
    for n in (1, 2, 3):
        await append(store, tenant, n)
    assert await report(store, tenant) == ChainReport(events=3, intact=True, first_broken_seq=None)


# (how the superuser tampers, with the trigger off; the first seq verify_chain must flag)
TAMPERING = [
    ("UPDATE audit_events SET details = '{\"n\": 200}' WHERE tenant_id = %(t)s AND seq = 2", 2),
    ("UPDATE audit_events SET actor = 'mallory' WHERE tenant_id = %(t)s AND seq = 2", 2),
    ("UPDATE audit_events SET occurred_at = occurred_at - interval '1 day' "
     "WHERE tenant_id = %(t)s AND seq = 3", 3),
    ("DELETE FROM audit_events WHERE tenant_id = %(t)s AND seq = 2", 2),
    ("DELETE FROM audit_events WHERE tenant_id = %(t)s AND seq = 1", 1),
    # Forging row 2 consistently still breaks the link from row 3.
    ("UPDATE audit_events SET details = '{\"n\": 200}' WHERE tenant_id = %(t)s AND seq = 2; "
     "UPDATE audit_events a SET hash = audit_events_digest(a, a.prev_hash) "
     "WHERE tenant_id = %(t)s AND seq = 2", 3),
]


@pytest.mark.parametrize(("tamper", "broken_at"), TAMPERING, ids=[
    "edit-details", "edit-actor", "edit-time", "delete-middle", "delete-first", "rehash-row"])
async def test_tampering_is_detected(database, store, tamper, broken_at):
    tenant = fresh_tenant("tamper")
    for n in (1, 2, 3):
        await append(store, tenant, n)
    with database.admin() as admin, admin.transaction():
        # One transaction: no other session ever sees the trigger disabled.
        admin.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
        for statement in tamper.split("; "):
            assert admin.execute(statement, {"t": tenant}).rowcount == 1
        admin.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")

    result = await report(store, tenant)
    assert (result.intact, result.first_broken_seq) == (False, broken_at)


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET details = '{}'",
    "UPDATE audit_events SET actor = 'mallory' WHERE seq = 1",
    "DELETE FROM audit_events",
    "DELETE FROM audit_events WHERE seq = 1",
    "TRUNCATE audit_events",
])
async def test_the_app_role_cannot_change_or_remove_audit_rows(store, statement):
    tenant = fresh_tenant("app")
    await append(store, tenant, 1)
    with pytest.raises(Forbidden):
        async with store.tenant(tenant) as conn:
            await conn.execute(statement)
    assert await report(store, tenant) == ChainReport(events=1, intact=True, first_broken_seq=None)


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET details = '{}' WHERE tenant_id = %(t)s",
    "DELETE FROM audit_events WHERE tenant_id = %(t)s",
    "TRUNCATE audit_events",
])
async def test_even_the_superuser_is_refused_by_the_append_only_trigger(database, store,
                                                                        statement):
    tenant = fresh_tenant("admin")
    await append(store, tenant, 1)
    with database.admin() as admin:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            admin.execute(statement, {"t": tenant})
    assert (await report(store, tenant)).intact


async def test_concurrent_appends_keep_one_contiguous_chain(store):
    tenant = fresh_tenant("concurrent")
    seqs: list[int] = []

    async def writer(worker: int) -> None:
        for n in range(5):
            seqs.append(await append(store, tenant, worker * 100 + n))

    with anyio.fail_after(BOUND_S):
        async with anyio.create_task_group() as group:
            for worker in range(4):
                group.start_soon(writer, worker)
        result = await report(store, tenant)

    assert sorted(seqs) == list(range(1, 21))
    assert (result.events, result.intact, result.first_broken_seq) == (20, True, None)

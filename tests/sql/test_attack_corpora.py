"""The fuzzdb SQL-injection and NoSQL-injection lists, thrown at sql.query.

Every payload is sent as a whole statement and spliced, the way a careless
model would build SQL, into a string literal, a number and an identifier
position of a benign query. Whatever the guard accepts runs for real. The
evidence that nothing got through is taken on the database side:

- no table of plant_demo changed (row count and checksum, seen by the admin);
- the canary table (supplier_bank_accounts, not allow-listed) was never scanned
  (pg_stat_user_tables, read after the server's connections have closed);
- no result holds another tenant's marked rows, a secret column's value, or a
  value above the caller's clearance;
- no result exceeds max_rows, and no call crashed (no `internal` error).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import anyio
import pytest
from fastmcp import Client

from mcp_servers.kit.context import CONTEXT_META_KEY
from mcp_servers.sql import definition
from tests.sql.conftest import canaries, fingerprint

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TESSERA_SHARED_DATA", REPO.parent / "shared" / "data"))
FUZZDB = SHARED / "security" / "fuzzdb" / "attack"
POSITIONS = {
    "statement": "{p}",
    "literal": "SELECT material_id, description FROM plant_demo.materials WHERE material_id = '{p}'",
    "number": "SELECT po_number, net_value FROM plant_demo.purchase_orders WHERE net_value > {p}",
    "identifier": "SELECT material_id FROM plant_demo.materials ORDER BY {p}",
}
ALLOWED_CATEGORIES = {"validation", "forbidden", "upstream_timeout"}


def payloads() -> list[str]:
    if not FUZZDB.is_dir():
        pytest.skip(f"fuzzdb lists not found under {FUZZDB} (set TESSERA_SHARED_DATA)")
    files = sorted(FUZZDB.glob("sql-injection/**/*.txt")) + sorted(
        FUZZDB.glob("no-sql-injection/*.txt"))
    lines = (line.rstrip("\r\n") for f in files
             for line in f.read_text(encoding="utf-8", errors="replace").splitlines())
    return sorted({line for line in lines if line.strip()})


def canary_scans(database) -> int:
    with database.admin() as admin:
        row = admin.execute("SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) "
                            "FROM pg_stat_user_tables WHERE schemaname = 'plant_demo' "
                            "AND relname = 'supplier_bank_accounts'").fetchone()
    return int(row[0])


async def quiesce(database) -> None:
    """Wait until no sql server is connected to the test database any more.

    A backend flushes its table statistics when it exits, before it leaves
    pg_stat_activity; so once they are all gone, the scan counters are complete.
    Only the sql server reads plant_demo, so other tests' connections (which may
    outlive their tests in a full run) do not count.
    """
    with anyio.fail_after(15):
        while True:
            with database.admin() as admin:
                left = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
                    "AND application_name LIKE 'tessera-sql%'").fetchone()[0]
            if left == 0:
                return
            await anyio.sleep(0.05)


async def test_no_fuzzdb_payload_gets_through(settings, sql_settings, tokens, database,
                                              anyio_backend):
    corpus = payloads()
    assert len(corpus) > 600  # the lists are there and read
    forbidden_values = (canaries(database, "globex") + canaries(database, "conformance-a")
                        + [v for v in canaries(database, "acme")
                           if "taxid" in v or "iban" in v or "buyer" in v or "inspector" in v])
    before = fingerprint(database)
    await quiesce(database)
    scans_before = canary_scans(database)
    token = tokens(tenant="acme", audience="sql")  # clearance II: buyer/inspector are above it
    outcomes: Counter[str] = Counter()
    leaks: list[str] = []

    async with Client(definition.create(settings, sql_settings).mcp) as client:
        for payload in corpus:
            for position, template in POSITIONS.items():
                statement = template.replace("{p}", payload)
                result = await client.call_tool_mcp("sql.query", {"sql": statement},
                                                    meta={CONTEXT_META_KEY: token})
                content = result.structured_content or {}
                if result.is_error:
                    category = content.get("error_category")
                    rule = (content.get("details") or {}).get("rule", "?")
                    outcomes[f"{position}: refused {category}/{rule}"] += 1
                    if category not in ALLOWED_CATEGORIES:
                        leaks.append(f"{position} {payload!r}: {category}")
                    continue
                outcomes[f"{position}: ran"] += 1
                text = json.dumps(content["rows"])
                if content["row_count"] > sql_settings.max_rows:
                    leaks.append(f"{position} {payload!r}: {content['row_count']} rows")
                if any(value in text for value in forbidden_values):
                    leaks.append(f"{position} {payload!r}: returned a forbidden value")
                if not set(content["tables"]) <= {f"plant_demo.{t}" for t in (
                        "materials", "purchase_orders", "suppliers", "po_items", "machines",
                        "production_orders", "quality_inspections")}:
                    leaks.append(f"{position} {payload!r}: read {content['tables']}")

    await quiesce(database)
    scans_after = canary_scans(database)
    print(f"\nfuzzdb: {len(corpus)} payloads x {len(POSITIONS)} positions = "
          f"{len(corpus) * len(POSITIONS)} calls")
    for outcome, count in sorted(outcomes.items()):
        print(f"  {count:5d}  {outcome}")
    assert leaks == []
    assert scans_after == scans_before
    assert fingerprint(database) == before
    assert sum(outcomes.values()) == len(corpus) * len(POSITIONS)


async def test_the_canary_scan_counter_does_see_a_read(database, anyio_backend):
    """The evidence above is not vacuous: a real read of the canary table shows up."""
    await quiesce(database)
    before = canary_scans(database)
    with database.admin() as admin:
        admin.execute("SELECT count(*) FROM plant_demo.supplier_bank_accounts")
    await quiesce(database)
    assert canary_scans(database) == before + 1

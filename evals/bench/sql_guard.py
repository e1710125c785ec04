"""Benchmark: the SQL guard's parse-and-check time, and `sql.query` end to end.

Run:  .venv/bin/python -m evals.bench.sql_guard [--rounds 20] [--calls 300]

1. The guard alone (`Guard.check`: parse with sqlglot, check every rule,
   qualify, rewrite the limit, regenerate and re-check) over a mixed corpus:
   realistic plant queries (accepted) and the fuzzdb SQL/NoSQL injection lists
   (from TESSERA_SHARED_DATA, default ../shared/data), sent whole and spliced
   into a string literal (mostly refused). Median and p95 per statement.
2. Whole `sql.query` tool calls through a real MCP client (in-memory transport)
   on a scratch database `tessera_bench_sql` (migrated core + sql, dropped
   afterwards): token verification, guard, the read-only transaction as the
   reader role under row-level security, serialisation; the handler alone
   (`SqlService.query`, no MCP); and the same rewritten statements run directly
   over psycopg, so the differences show what each layer adds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import anyio
import psycopg
from fastmcp import Client

from evals.bench.scratch import scratch_database
from mcp_servers.kit.context import CONTEXT_META_KEY, CallContext, ContextSigner, load_signing_key
from mcp_servers.kit.errors import TesseraError
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.store import Store
from mcp_servers.sql import definition
from mcp_servers.sql.allowlist import DEFAULT_FILE, AllowList
from mcp_servers.sql.guard import Guard
from mcp_servers.sql.models import QueryInput
from mcp_servers.sql.service import SqlService
from mcp_servers.sql.settings import SqlSettings

BENCH_DB = "tessera_bench_sql"
REPO = Path(__file__).resolve().parents[2]
PLANT_QUERIES = [
    "SELECT po_number, supplier_id, status, net_value FROM purchase_orders WHERE status = 'OPEN' "
    "ORDER BY delivery_date LIMIT 20",
    "SELECT m.material_type, count(*) AS n, round(avg(m.standard_price), 2) FROM materials m "
    "GROUP BY m.material_type ORDER BY 2 DESC",
    "SELECT s.name, count(po.po_number) AS orders, sum(po.net_value) AS value FROM suppliers s "
    "LEFT JOIN purchase_orders po ON po.supplier_id = s.supplier_id GROUP BY s.name "
    "ORDER BY value DESC NULLS LAST LIMIT 10",
    "SELECT i.po_number, i.item_no, m.description, i.quantity * i.net_price AS value "
    "FROM po_items i JOIN materials m ON m.material_id = i.material_id "
    "WHERE i.delivery_date BETWEEN '2026-03-01' AND '2026-03-31' ORDER BY value DESC",
    "SELECT machine_id, name, status FROM machines WHERE status IN ('DOWN', 'MAINTENANCE')",
    "WITH scrap AS (SELECT machine_id, sum(scrap_qty) AS scrap, sum(produced_qty) AS good "
    "FROM production_orders GROUP BY machine_id) SELECT m.name, scrap.scrap, "
    "round(100 * scrap.scrap / nullif(scrap.good + scrap.scrap, 0), 2) AS scrap_pct "
    "FROM scrap JOIN machines m ON m.machine_id = scrap.machine_id ORDER BY scrap_pct DESC",
    "SELECT defect_code, count(*) AS lots, sum(defects) AS defects FROM quality_inspections "
    "WHERE result <> 'PASS' GROUP BY defect_code ORDER BY defects DESC",
    "SELECT date_trunc('month', order_date) AS month, count(*), sum(net_value) "
    "FROM purchase_orders GROUP BY 1 ORDER BY 1",
    "SELECT po_number, net_value, rank() OVER (PARTITION BY supplier_id ORDER BY net_value DESC) "
    "FROM purchase_orders",
    "SELECT q.inspection_id, p.order_id, p.material_id, q.result FROM quality_inspections q "
    "JOIN production_orders p ON p.order_id = q.order_id WHERE q.result = 'FAIL' LIMIT 50",
]


def fuzzdb_payloads() -> list[str]:
    shared = Path(os.environ.get("TESSERA_SHARED_DATA", REPO.parent / "shared" / "data"))
    root = shared / "security" / "fuzzdb" / "attack"
    files = sorted(root.glob("sql-injection/**/*.txt")) + sorted(root.glob("no-sql-injection/*.txt"))
    lines = {line for f in files for line in f.read_text(errors="replace").splitlines()
             if line.strip()}
    return sorted(lines)


def corpus() -> list[str]:
    payloads = fuzzdb_payloads()
    literal = "SELECT material_id, description FROM materials WHERE material_id = '{p}'"
    return PLANT_QUERIES * 10 + payloads + [literal.replace("{p}", p) for p in payloads]


def stats(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {statistics.median(ordered):7.3f} ms   p95 {p95:7.3f} ms   (n={len(ordered)})"


def bench_guard(rounds: int) -> None:
    import logging

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    allowlist = AllowList.load(DEFAULT_FILE).visible_to(CallContext(tenant="b", user="u"))
    guard = Guard(max_statement_chars=20_000, max_tables=8)
    statements = corpus()
    wall: dict[str, list[float]] = {"accepted": [], "refused": []}
    cpu: dict[str, list[float]] = {"accepted": [], "refused": []}
    for _ in range(rounds):
        for statement in statements:
            started, started_cpu = time.perf_counter(), time.thread_time()
            try:
                guard.check(statement, allowlist, 200)
                outcome = "accepted"
            except TesseraError:
                outcome = "refused"
            wall[outcome].append((time.perf_counter() - started) * 1000)
            cpu[outcome].append((time.thread_time() - started_cpu) * 1000)
    print(f"guard, {len(statements)} statements x {rounds} rounds (wall clock | CPU time)")
    for outcome in ("accepted", "refused"):
        print(f"  {outcome:9} {stats(wall[outcome])}  |  {stats(cpu[outcome])}")
    print(f"  all       {stats(wall['accepted'] + wall['refused'])}  |  "
          f"{stats(cpu['accepted'] + cpu['refused'])}")
    plant_wall, plant_cpu = [], []
    for _ in range(rounds * 10):
        for statement in PLANT_QUERIES:
            started, started_cpu = time.perf_counter(), time.thread_time()
            guard.check(statement, allowlist, 200)
            plant_wall.append((time.perf_counter() - started) * 1000)
            plant_cpu.append((time.thread_time() - started_cpu) * 1000)
    print(f"  plant     {stats(plant_wall)}  |  {stats(plant_cpu)}   (the 10 realistic queries)")


async def bench_end_to_end(calls: int) -> None:
    with scratch_database(BENCH_DB) as settings:
        app_url = settings.require_database_url()
        signer = ContextSigner(load_signing_key(settings.signing_key_path),
                               issuer=settings.context_issuer, ttl_s=600)
        token = signer.sign(CallContext(tenant="acme", user="bench"), audience="sql")
        tool_ms = await _time_tool_calls(settings, token, calls)
        handler_ms = await _time_handler(app_url, calls)
        direct_ms = _time_direct(app_url, calls)
    print(f"sql.query end to end, {calls} calls over {len(PLANT_QUERIES)} plant queries")
    print(f"  tool call {stats(tool_ms)}   (MCP client, in-memory; includes the client SDK's "
          "output-schema check)")
    print(f"  handler   {stats(handler_ms)}   (SqlService.query: guard, transaction, result)")
    print(f"  direct    {stats(direct_ms)}   (same rewritten SQL, psycopg, reader role)")


async def _time_tool_calls(settings: Settings, token: str, calls: int) -> list[float]:
    server = definition.create(settings, SqlSettings(_env_file=None))
    samples = []
    async with Client(server.mcp) as client:
        for n in range(calls + 10):
            started = time.perf_counter()
            result = await client.call_tool_mcp(
                "sql.query", {"sql": PLANT_QUERIES[n % len(PLANT_QUERIES)]},
                meta={CONTEXT_META_KEY: token})
            elapsed = (time.perf_counter() - started) * 1000
            assert not result.is_error, result.structured_content
            if n >= 10:
                samples.append(elapsed)
    return samples


async def _time_handler(app_url: str, calls: int) -> list[float]:
    own = SqlSettings(_env_file=None)
    ctx = CallContext(tenant="acme", user="bench")
    samples = []
    async with Store(app_url, application_name="tessera-sql", max_size=2) as store:
        service = SqlService(store, AllowList.load(DEFAULT_FILE), own)
        for n in range(calls + 10):
            started = time.perf_counter()
            await service.query(ctx, QueryInput(sql=PLANT_QUERIES[n % len(PLANT_QUERIES)]))
            if n >= 10:
                samples.append((time.perf_counter() - started) * 1000)
    return samples


def _time_direct(app_url: str, calls: int) -> list[float]:
    allowlist = AllowList.load(DEFAULT_FILE).visible_to(CallContext(tenant="b", user="u"))
    guard = Guard(max_statement_chars=20_000, max_tables=8)
    rewritten = [guard.check(q, allowlist, 200).sql for q in PLANT_QUERIES]
    samples = []
    with psycopg.connect(app_url, autocommit=True) as conn:
        for n in range(calls + 10):
            started = time.perf_counter()
            with conn.transaction():
                conn.execute("SELECT set_config('tessera.tenant', 'acme', true)")
                conn.execute("SET TRANSACTION READ ONLY")
                conn.execute("SET LOCAL ROLE tessera_sql_reader")
                psycopg.RawCursor(conn).execute(rewritten[n % len(rewritten)], binary=True).fetchall()
            if n >= 10:
                samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="passes over the guard corpus")
    parser.add_argument("--calls", type=int, default=300, help="sql.query calls to time")
    args = parser.parse_args()
    bench_guard(args.rounds)
    anyio.run(bench_end_to_end, args.calls)


if __name__ == "__main__":
    main()

"""Benchmark: `memory.recall` latency at 10k and 100k stored memories.

Run:  .venv/bin/python -m evals.bench.memory_recall [--sizes 10000 100000] [--queries 200]

It creates a scratch database `tessera_bench_memory` (on the embedded PostgreSQL,
or on TESSERA_DATABASE_ADMIN_URL's server), seeds it with synthetic plant-floor
memories embedded by the configured model, and times whole tool calls through a
real MCP client (in-memory transport): token verification, validation,
embedding the query, the pgvector query under row-level security, re-ranking
and serialisation. Two layouts per size:

- one user holding every memory (the worst case for one recall), and
- the memories spread over 100 users (the usual case).

It prints median and p95 in milliseconds and drops the database afterwards.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio
import numpy as np
import psycopg
from fastmcp import Client

from evals.bench.scratch import scratch_database
from mcp_servers.kit.context import CONTEXT_META_KEY, CallContext, ContextSigner
from mcp_servers.kit.embeddings.local import local_embedder
from mcp_servers.memory import definition
from mcp_servers.memory.settings import MemorySettings

BENCH_DB = "tessera_bench_memory"
TENANT = "bench"
MACHINES = [f"M-{n:03d}" for n in range(1, 200)]
PARTS = [f"part {n}" for n in range(4700, 4900)]
SUBJECTS = ["scrap rate", "spindle temperature", "bearing noise", "cycle time", "changeover",
            "coolant level", "tool wear", "purchase order", "delivery date", "quality hold",
            "downtime reason", "shift handover", "torque setting", "calibration", "safety check"]
TEMPLATES = [
    "On {machine} the {subject} for {part} was {value} last {day}.",
    "{user} prefers reports on {subject} grouped by machine, {machine} first.",
    "To fix {subject} issues on {machine}, reduce feed by {value} percent.",
    "The {subject} of {part} must be checked every {value} hours on {machine}.",
    "Supplier for {part} promised the {subject} update by {day}.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


@dataclass(frozen=True)
class Figures:
    label: str
    median_ms: float
    p95_ms: float
    queries: int


def synthetic_memory(rng: random.Random, user: str) -> str:
    return rng.choice(TEMPLATES).format(
        machine=rng.choice(MACHINES), subject=rng.choice(SUBJECTS), part=rng.choice(PARTS),
        value=rng.randint(2, 90), day=rng.choice(DAYS), user=user,
    )


def synthetic_query(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} on {rng.choice(MACHINES)}"


def seed(admin_url: str, size: int, users: int, model: str) -> None:
    """Bulk-load `size` memories over `users` users, then (re)build the HNSW index."""
    rng = random.Random(size * 7919 + users)
    embedder = local_embedder(model)
    owners = [f"user-{n:03d}" for n in range(users)]
    rows = [(owners[i % users], synthetic_memory(rng, owners[i % users])) for i in range(size)]
    vectors = embedder.embed_sync([text for _, text in rows])
    dim = embedder.info.dimensions
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("TRUNCATE memories")
        conn.execute(f"DROP INDEX IF EXISTS memories_embedding_{dim}")
        with conn.cursor().copy(
            "COPY memories (tenant_id, user_id, kind, content, importance, created_at, "
            "last_accessed_at, embedding, embedding_model, embedding_dim) FROM STDIN"
        ) as copy:
            now = datetime.now(UTC)
            for (user, text), vector in zip(rows, vectors, strict=True):
                moment = now - timedelta(days=rng.randint(0, 400))
                kind = rng.choice(["FACT", "PREFERENCE", "SKILL", "EPISODIC"])
                copy.write_row((TENANT, user, kind, text, round(rng.random(), 2), moment, moment,
                                _vector_text(vector), embedder.info.model, dim))
        conn.execute(
            f"CREATE INDEX memories_embedding_{dim} ON memories USING hnsw "
            f"((embedding::vector({dim})) vector_cosine_ops) WHERE embedding_dim = {dim}"
        )
        conn.execute("ANALYZE memories")


async def time_recalls(settings, user_pool: list[str], queries: int, label: str) -> Figures:
    signer = ContextSigner.from_settings(settings)
    server = definition.create(settings, MemorySettings(_env_file=None))
    rng = random.Random(42)
    timings = []
    async with Client(server.mcp) as client:
        for n in range(queries + 10):
            user = rng.choice(user_pool)
            token = signer.sign(CallContext(tenant=TENANT, user=user), audience="memory")
            started = time.perf_counter()
            result = await client.call_tool_mcp(
                "memory.recall", {"query": synthetic_query(rng), "k": 5, "min_similarity": -1},
                meta={CONTEXT_META_KEY: token})
            elapsed = (time.perf_counter() - started) * 1000
            if result.is_error:
                raise RuntimeError(f"recall failed: {result.structured_content}")
            if n >= 10:  # the first calls warm the pool and caches
                timings.append(elapsed)
    return Figures(label, statistics.median(timings), float(np.percentile(timings, 95)), queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    with scratch_database(BENCH_DB) as settings:
        admin_url = settings.database_admin_url.get_secret_value()
        results = []
        for size in args.sizes:
            for users, label in ((1, "one user"), (100, "100 users")):
                started = time.perf_counter()
                seed(admin_url, size, users, settings.embedding_model)
                seeded = time.perf_counter() - started
                pool = [f"user-{n:03d}" for n in range(users)]
                figures = anyio.run(time_recalls, settings, pool, args.queries,
                                    f"{size:>7,} memories, {label}")
                print(f"{figures.label}: median {figures.median_ms:6.1f} ms  "
                      f"p95 {figures.p95_ms:6.1f} ms  ({figures.queries} recalls; "
                      f"seeding took {seeded:.0f} s)", flush=True)
                results.append(figures)


def _vector_text(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.6f}" for x in vector) + "]"



if __name__ == "__main__":
    main()

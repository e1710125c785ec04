"""Benchmark: `kb.search` latency at 10k and 100k chunks, and ingestion throughput.

Run:  .venv/bin/python -m evals.bench.kb_search [--sizes 10000 100000] [--queries 200]

It creates a scratch database `tessera_bench_kb` (on the embedded PostgreSQL, or
on TESSERA_DATABASE_ADMIN_URL's server) and:

1. ingests synthetic plant documents through the kb service (parse, chunk,
   contextual headers, embed with the configured model, atomic writes with term
   statistics) and prints chunks per second;
2. for each size, bulk-loads that many synthetic chunks (same text generator,
   embedded by the configured model; statistics rebuilt, HNSW index built after
   the load), then times whole `kb.search` tool calls through a real MCP client
   (in-memory transport): token check, validation, query embedding, the one
   hybrid SQL statement under row-level security, snippets, serialisation. The
   retrieval cache is off, so every call does the work. Rerank is not configured.
   Queries name a subject, two technical words (uniform over the vocabulary) and
   a machine; chunks use the words Zipf-distributed, so document frequencies
   range from a handful to most chunks.

It prints median and p95 in milliseconds per mode, then the server's own share
of a hybrid search (the service called in-process: no token, no MCP framing, no
client-side output-schema validation), and drops the database afterwards.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid

import anyio
import numpy as np
import psycopg
from fastmcp import Client

from evals.bench.scratch import scratch_database
from mcp_servers.kb import definition
from mcp_servers.kb import models as m
from mcp_servers.kb.server import build_service
from mcp_servers.kb.settings import KbSettings
from mcp_servers.kit.context import CONTEXT_META_KEY, CallContext, ContextSigner
from mcp_servers.kit.embeddings.local import local_embedder
from mcp_servers.kit.spec import DataClass

BENCH_DB = "tessera_bench_kb"
TENANT = "bench"
SUBJECTS = ["scrap rate", "spindle temperature", "bearing noise", "cycle time", "changeover",
            "coolant concentration", "tool wear", "torque setting", "calibration interval",
            "lockout procedure", "hydraulic pressure", "weld seam", "paint thickness",
            "conveyor speed", "gearbox oil", "pallet labelling", "compressed air leak"]
MACHINES = [f"M-{n:03d}" for n in range(1, 400)]


def vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    syllables = ["ka", "ro", "ten", "vi", "mor", "sul", "dra", "pe", "lin", "gor", "fa", "ux",
                 "tri", "bel", "zon", "qua", "mi", "ster", "pal", "don"]
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


class Generator:
    """Plant-floor prose with a Zipf-distributed technical vocabulary (realistic term statistics)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary(self.rng)
        weights = 1 / np.arange(1, len(self.words) + 1) ** 1.1
        self.cumulative = np.cumsum(weights / weights.sum())

    def word(self) -> str:
        return self.words[int(np.searchsorted(self.cumulative, self.rng.random()))]

    def sentence(self) -> str:
        rng = self.rng
        filler = " ".join(self.word() for _ in range(rng.randint(4, 9)))
        return (f"On {rng.choice(MACHINES)} the {rng.choice(SUBJECTS)} is checked against the "
                f"{filler} limit of {rng.randint(2, 900)} units.")

    def chunk(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(3, 6)))

    def query(self) -> str:
        """A subject, two technical words and a machine; the words are drawn uniformly from
        the vocabulary, as a person names specific things, not the most frequent words."""
        words = " ".join(self.rng.choice(self.words) for _ in range(2))
        return f"{self.rng.choice(SUBJECTS)} {words} {self.rng.choice(MACHINES)}"

    def document(self) -> str:
        sections = [f"## {self.rng.choice(SUBJECTS).title()} {n}\n\n{self.chunk()}\n\n{self.chunk()}"
                    for n in range(self.rng.randint(2, 4))]
        return f"# Work instruction {self.rng.randint(1, 99999)}\n\n" + "\n\n".join(sections)


async def ingestion_throughput(settings, documents: int) -> tuple[int, float]:
    store, service, _ = build_service(settings, KbSettings(_env_file=None))
    gen = Generator(7)
    ctx = CallContext(tenant="bench-ingest", user="bench", roles=("admin",), clearance=DataClass.IV)
    chunks = 0
    async with store:
        started = time.perf_counter()
        for start in range(0, documents, 50):
            batch = [m.DocumentIn(source_uri=f"bench://doc/{n}.md", content=gen.document())
                     for n in range(start, min(start + 50, documents))]
            out = await service.ingest(ctx, m.IngestInput(documents=batch))
            chunks += sum(r.chunks for r in out.results)
        return chunks, time.perf_counter() - started


def seed(admin_url: str, size: int, model: str) -> None:
    """Bulk-load `size` chunks (20 per document), rebuild statistics, build the HNSW index."""
    gen = Generator(size)
    embedder = local_embedder(model)
    dim = embedder.info.dimensions
    texts = [gen.chunk() for _ in range(size)]
    headers = [f"Work instruction {i // 20} > {SUBJECTS[i % len(SUBJECTS)].title()}" for i in range(size)]
    vectors = embedder.embed_sync([f"{h}\n\n{t}" for h, t in zip(headers, texts, strict=True)])
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("DELETE FROM kb_documents WHERE tenant_id = %s", (TENANT,))
        conn.execute("DELETE FROM kb_terms WHERE tenant_id = %s", (TENANT,))
        conn.execute("DELETE FROM kb_state WHERE tenant_id = %s", (TENANT,))
        conn.execute(f"DROP INDEX IF EXISTS kb_chunks_embedding_{dim}")
        doc_ids = [uuid.uuid4() for _ in range(size // 20 + 1)]
        with conn.cursor().copy("COPY kb_documents (id, tenant_id, source_uri, title, media_type, "
                                "owner, version, content_hash) FROM STDIN") as copy:
            for n, doc_id in enumerate(doc_ids):
                copy.write_row((doc_id, TENANT, f"bench://doc/{n}.md", f"Work instruction {n}",
                                "text/markdown", "bench", "1", f"h{n}"))
        with conn.cursor().copy("COPY kb_chunks (tenant_id, document_id, ordinal, section_path, "
                                "header, text, data_class, embedding, embedding_model, "
                                "embedding_dim) FROM STDIN") as copy:
            for i, (text, header, vector) in enumerate(zip(texts, headers, vectors, strict=True)):
                copy.write_row((TENANT, doc_ids[i // 20], i % 20, [header.split(" > ")[1]],
                                header, text, 1 + i % 3,
                                "[" + ",".join(f"{x:.6f}" for x in vector) + "]",
                                embedder.info.model, dim))
        conn.execute("INSERT INTO kb_terms (tenant_id, lexeme, df) SELECT %s, u.lexeme, count(*) "
                     "FROM kb_chunks c, unnest(c.tsv) u WHERE c.tenant_id = %s GROUP BY u.lexeme",
                     (TENANT, TENANT))
        conn.execute("INSERT INTO kb_state (tenant_id, version, chunk_count, total_length) "
                     "SELECT %s, 1, count(*), sum(length(tsv)) FROM kb_chunks WHERE tenant_id = %s",
                     (TENANT, TENANT))
        conn.execute(f"CREATE INDEX kb_chunks_embedding_{dim} ON kb_chunks USING hnsw "
                     f"((embedding::vector({dim})) vector_cosine_ops) WHERE embedding_dim = {dim}")
        conn.execute("ANALYZE kb_chunks")
        conn.execute("ANALYZE kb_terms")


async def time_searches(settings, queries: int, mode: str) -> tuple[float, float, float]:
    signer = ContextSigner.from_settings(settings)
    server = definition.create(settings, KbSettings(_env_file=None, cache_entries=0))
    gen = Generator(42)
    timings, hits = [], []
    async with Client(server.mcp) as client:
        for n in range(queries + 10):
            token = signer.sign(CallContext(tenant=TENANT, user="bench", clearance=DataClass.III),
                                audience="kb")
            started = time.perf_counter()
            result = await client.call_tool_mcp("kb.search", {"query": gen.query(), "k": 8,
                                                              "mode": mode},
                                                meta={CONTEXT_META_KEY: token})
            elapsed = (time.perf_counter() - started) * 1000
            if result.is_error:
                raise RuntimeError(f"search failed: {result.structured_content}")
            if n >= 10:  # the first calls warm the pool and caches
                timings.append(elapsed)
                hits.append(len(result.structured_content["hits"]))
    return statistics.median(timings), float(np.percentile(timings, 95)), statistics.mean(hits)


async def time_service(settings, queries: int) -> tuple[float, float]:
    """The server's own share of a hybrid search: `KbService.search` without MCP around it."""
    store, service, _ = build_service(settings, KbSettings(_env_file=None, cache_entries=0))
    gen = Generator(43)
    ctx = CallContext(tenant=TENANT, user="bench", clearance=DataClass.III)
    timings = []
    async with store:
        for n in range(queries + 10):
            started = time.perf_counter()
            await service.search(ctx, m.SearchInput(query=gen.query(), k=8))
            if n >= 10:
                timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), float(np.percentile(timings, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ingest-documents", type=int, default=300)
    args = parser.parse_args()

    with scratch_database(BENCH_DB) as settings:
        admin_url = settings.database_admin_url.get_secret_value()
        chunks, seconds = anyio.run(ingestion_throughput, settings, args.ingest_documents)
        print(f"ingestion: {args.ingest_documents} documents, {chunks} chunks in {seconds:.1f} s = "
              f"{chunks / seconds:.0f} chunks/s ({settings.embedding_model})", flush=True)
        for size in args.sizes:
            started = time.perf_counter()
            seed(admin_url, size, settings.embedding_model)
            seeded = time.perf_counter() - started
            for mode in ("hybrid", "dense", "lexical"):
                median, p95, hits = anyio.run(time_searches, settings, args.queries, mode)
                print(f"{size:>7,} chunks, {mode:<7}: median {median:6.1f} ms  p95 {p95:6.1f} ms  "
                      f"({args.queries} searches, {hits:.1f} hits each; seeding took {seeded:.0f} s)",
                      flush=True)
            median, p95 = anyio.run(time_service, settings, args.queries)
            print(f"{size:>7,} chunks, hybrid, server only (no MCP): median {median:6.1f} ms  "
                  f"p95 {p95:6.1f} ms", flush=True)


if __name__ == "__main__":
    main()

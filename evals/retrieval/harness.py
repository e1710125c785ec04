"""The retrieval eval: ingest a collection into a scratch database through the kb
service, run every configuration over the queries, score the runs with ir-measures.

Configurations (each printed as one row):

- `rank-bm25 whitespace`: the plain baseline, rank-bm25 over lower-cased whitespace tokens;
- `rank-bm25 english stems`: rank-bm25 over the same stems PostgreSQL indexes;
- `lexical ts_rank_cd` / `lexical bm25-sql`: the kb's lexical retriever with each scorer
  (and bm25-sql once more without the match budget, to show what the budget costs);
- `dense`: the kb's pgvector retriever with the configured embedding model;
- `hybrid` (RRF of dense and lexical), and `hybrid + rerank` when `--rerank-model` (or
  TESSERA_KB_RERANK_MODEL) names a reranker, e.g. `local:<dir>` for a cross-encoder trained
  by `evals/retrieval/train_reranker.py`; the kb rows run with and without contextual headers.

`--only-hybrid` ingests with contextual headers only and runs just the hybrid rows (and
the rerank row): the quick way to measure a reranker.

Whole service calls are timed (embedding the query, SQL, snippets), one at a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import anyio
import ir_measures
import psycopg
from ir_measures import AP, RR, R, nDCG
from rank_bm25 import BM25Okapi

from evals.bench.scratch import scratch_database as bench_scratch
from evals.retrieval.datasets import Collection, load
from mcp_servers.kb import models as m
from mcp_servers.kb.service import KbService
from mcp_servers.kb.settings import KbSettings, LexicalScorer
from evals.retrieval.embedding_cache import CachedEmbedder
from mcp_servers.kit.context import CallContext
from mcp_servers.kit.embeddings import build_embedder
from mcp_servers.kit.store import Store
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.spec import DataClass

MEASURES = [nDCG @ 10, AP @ 100, R @ 100, RR @ 100]
DEPTH = 100
BATCH = 100

Ranker = Callable[[str], Awaitable[list[str]]]


@dataclass
class Row:
    system: str
    headers: str
    scores: dict[str, float]
    ms_per_query: float


def doc_of(source_uri: str) -> str:
    return source_uri.rsplit("/", 1)[-1].removesuffix(".txt")


def context(tenant: str) -> CallContext:
    return CallContext(tenant=tenant, user="eval", roles=("admin",), clearance=DataClass.IV)


async def ingest(service, tenant: str, collection: Collection) -> tuple[int, float]:
    chunks, started = 0, time.perf_counter()
    for start in range(0, len(collection.docs), BATCH):
        batch = [m.DocumentIn(source_uri=f"{collection.name}://doc/{d.doc_id}.txt",
                              content=d.text or d.title or "(empty)", title=d.title or None,
                              media_type="text/plain")
                 for d in collection.docs[start:start + BATCH]]
        out = await service.ingest(context(tenant), m.IngestInput(documents=batch))
        failed = [r for r in out.results if r.status == "failed"]
        if failed:
            raise RuntimeError(f"ingestion failed: {failed[0]}")
        chunks += sum(r.chunks for r in out.results)
    return chunks, time.perf_counter() - started


def kb_ranker(service, tenant: str, mode: str, rerank: bool = False) -> Ranker:
    async def rank(query: str) -> list[str]:
        out = await service.search(context(tenant), m.SearchInput(
            query=query, k=DEPTH, mode=mode, rerank=rerank))
        return list(dict.fromkeys(doc_of(hit.source_uri) for hit in out.hits))
    return rank


def bm25_ranker(collection: Collection, tokenize: Callable[[list[str]], list[list[str]]]) -> Ranker:
    ids = [d.doc_id for d in collection.docs]
    index = BM25Okapi(tokenize([d.text or d.title for d in collection.docs]))

    async def rank(query: str) -> list[str]:
        scores = index.get_scores(tokenize([query])[0])
        best = sorted(range(len(ids)), key=lambda i: scores[i], reverse=True)[:DEPTH]
        return [ids[i] for i in best if scores[i] > 0]
    return rank


def whitespace(texts: list[str]) -> list[list[str]]:
    return [text.lower().split() for text in texts]


def english_stems(admin_url: str) -> Callable[[list[str]], list[list[str]]]:
    """PostgreSQL's English stems, each repeated as often as it occurs."""
    def tokenize(texts: list[str]) -> list[list[str]]:
        with psycopg.connect(admin_url) as conn:
            rows = conn.execute(
                "SELECT i, array(SELECT u.lexeme FROM unnest(to_tsvector('english', t)) u, "
                "generate_series(1, coalesce(array_length(u.positions, 1), 1))) "
                "FROM unnest(%s::text[]) WITH ORDINALITY AS x(t, i) ORDER BY i", (texts,)
            ).fetchall()
        return [list(row[1]) for row in rows]
    return tokenize


async def evaluate(collection: Collection, system: str, headers: str, ranker: Ranker) -> Row:
    run, timings = [], []
    for qid, query in collection.queries.items():
        started = time.perf_counter()
        ranked = await ranker(query)
        timings.append((time.perf_counter() - started) * 1000)
        run.extend(ir_measures.ScoredDoc(qid, doc, float(DEPTH - n)) for n, doc in enumerate(ranked))
    qrels = [ir_measures.Qrel(q, d, g) for q, docs in collection.qrels.items() for d, g in docs.items()]
    scores = ir_measures.calc_aggregate(MEASURES, qrels, run)
    return Row(system, headers, {str(k): float(v) for k, v in scores.items()},
               statistics.mean(timings))


async def run_all(collection: Collection, settings: Settings, admin_url: str,
                  rerank_model: str | None = None, only_hybrid: bool = False) -> list[Row]:
    store = Store.from_settings(settings, application_name="tessera-eval")
    embedder = CachedEmbedder(build_embedder(settings),
                              settings.data_dir / "eval-cache" / collection.name)
    header_modes = (True,) if only_hybrid else (True, False)
    services = {}
    for headers in header_modes:
        for scorer in LexicalScorer:
            # Only the bm25 service reranks (the `hybrid + rerank` row): one model load per
            # mode. Without --rerank-model it takes TESSERA_KB_RERANK_MODEL from the environment.
            rerank: dict[str, str | None] = {"rerank_model": None}
            if scorer is LexicalScorer.BM25:
                rerank = {"rerank_model": rerank_model} if rerank_model else {}
            kb = KbSettings(_env_file=None, contextual_headers=headers, lexical_scorer=scorer,
                            cache_entries=0, **rerank)
            services[(headers, scorer)] = (store, KbService(store, embedder, kb))
        unpruned = KbSettings(_env_file=None, contextual_headers=headers, cache_entries=0,
                              lexical_match_budget=10**12, rerank_model=None)
        services[(headers, "unpruned")] = (store, KbService(store, embedder, unpruned))
    rows: list[Row] = []
    await store.open()
    try:
        for headers in header_modes:
            tenant = f"eval-{'headers' if headers else 'plain'}"
            chunks, seconds = await ingest(services[(headers, LexicalScorer.BM25)][1], tenant, collection)
            embedder.save()
            print(f"ingested {len(collection.docs)} documents as {chunks} chunks "
                  f"({'with' if headers else 'without'} headers) in {seconds:.0f} s: "
                  f"{chunks / seconds:.0f} chunks/s", flush=True)
        if not only_hybrid:
            rows.append(await evaluate(collection, "rank-bm25 whitespace (baseline)", "-",
                                       bm25_ranker(collection, whitespace)))
            print_row(rows[-1])
            rows.append(await evaluate(collection, "rank-bm25 english stems", "-",
                                       bm25_ranker(collection, english_stems(admin_url))))
            print_row(rows[-1])
        for headers in sorted(header_modes):
            tenant = f"eval-{'headers' if headers else 'plain'}"
            label = "yes" if headers else "no"
            bm25 = services[(headers, LexicalScorer.BM25)][1]
            cd = services[(headers, LexicalScorer.TS_RANK_CD)][1]
            whole = services[(headers, "unpruned")][1]
            systems = [("lexical ts_rank_cd", cd, "lexical"), ("lexical bm25-sql", bm25, "lexical"),
                       ("lexical bm25-sql, no match budget", whole, "lexical"),
                       ("dense", bm25, "dense"), ("hybrid bm25-sql + dense", bm25, "hybrid")]
            if only_hybrid:
                systems = systems[-1:]
            for name, service, mode in systems:
                rows.append(await evaluate(collection, name, label, kb_ranker(service, tenant, mode)))
                print_row(rows[-1])
            if bm25._reranker is not None:
                rows.append(await evaluate(collection, "hybrid + rerank", label,
                                           kb_ranker(bm25, tenant, "hybrid", rerank=True)))
                print_row(rows[-1])
    finally:
        embedder.save()
        await store.close()
    return rows


def print_row(row: Row) -> None:
    s = row.scores
    print(f"| {row.system:<32} | {row.headers:^7} | {s['nDCG@10']:.4f} | {s['AP@100']:.4f} | "
          f"{s['R@100']:.4f} | {s['RR@100']:.4f} | {row.ms_per_query:7.1f} |", flush=True)


@contextmanager
def scratch_database(embedding_model: str) -> Iterator[tuple[Settings, str]]:
    """Settings for a new, migrated database (and its admin URL), dropped afterwards."""
    with bench_scratch(f"tessera_eval_retrieval_{uuid.uuid4().hex[:8]}") as scratch:
        settings = scratch.model_copy(update={"embedding_model": embedding_model,
                                              "database_statement_timeout_ms": 60_000})
        yield settings, scratch.database_admin_url.get_secret_value()


def main() -> None:
    parser = argparse.ArgumentParser(description="kb retrieval quality on a public IR collection")
    parser.add_argument("--dataset", choices=["cranfield", "vaswani"], default="cranfield")
    parser.add_argument("--embedding-model", default="all-minilm-l6-v2",
                        help="local embedding model (default all-minilm-l6-v2)")
    parser.add_argument("--rerank-model",
                        help="reranker for the `hybrid + rerank` row, as TESSERA_KB_RERANK_MODEL "
                        "takes it, e.g. local:<model directory>")
    parser.add_argument("--only-hybrid", action="store_true",
                        help="headers on, hybrid (and hybrid + rerank) rows only")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()

    collection = load(args.dataset)
    with scratch_database(args.embedding_model) as (settings, admin_url):
        print(f"{collection.name}: {len(collection.docs)} documents, {len(collection.queries)} "
              f"queries; embedding model {args.embedding_model}")
        print("| system                           | headers | nDCG@10 | MAP@100 | R@100 | MRR | ms/query |")
        print("|---|---|---|---|---|---|---|")
        rows = anyio.run(run_all, collection, settings, admin_url, args.rerank_model,
                         args.only_hybrid)
        print("\nfinal table:")
        for row in rows:
            print_row(row)
        best = max(rows, key=lambda r: r.scores["nDCG@10"])
        print(f"\nbest: {best.system} (headers {best.headers}) nDCG@10 {best.scores['nDCG@10']:.4f}")
        if not args.only_hybrid:
            baseline = rows[0].scores["nDCG@10"]
            print(f"= {best.scores['nDCG@10'] / baseline:.2f}x the rank-bm25 baseline {baseline:.4f}")
        if args.json:
            with open(args.json, "w") as out:
                json.dump([row.__dict__ for row in rows], out, indent=1)


if __name__ == "__main__":
    main()

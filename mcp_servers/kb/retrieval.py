"""Hybrid retrieval in one SQL statement: dense (pgvector HNSW) + lexical, fused by RRF.

One statement means one snapshot: a search never sees half of a document that
is being re-ingested. Its parts, as CTEs:

    dense    the `candidates` chunks nearest the query vector (HNSW, cosine)
    lexical  the `candidates` best chunks among those the GIN full-text index
             matches, by Okapi BM25 (setting `lexical_scorer`, the default) or
             by PostgreSQL's `ts_rank_cd`
    fused    reciprocal rank fusion: score = sum over retrievers of 1 / (rrf_k + rank)

Tenant (row-level security), clearance (`data_class <= max_class`), document
and staleness filters sit inside both retrievers, so nothing the caller may not
see is ever ranked.

BM25 in SQL. The query becomes English stems (stop words dropped); each stem's
IDF comes from the tenant's document frequencies (`kb_terms`) and the chunk
count and mean length from `kb_state`. A chunk is a candidate when the GIN index
matches one of the query's *selective* stems: the rarest ones, taken until
their document frequencies add up to `lexical_match_budget`; the common stems
still add to the score of every candidate but do not make chunks candidates on
their own (a chunk that shares only "high" and "speed" with the query would not
reach the top anyway), which bounds the work at any collection size. A stem's
term frequency in a chunk comes from `ts_rank` of the one-stem query with unit
weights, which is H2(tf)/zeta(2) with H2(n) = sum of 1/i^2 for i <= n; since
H2(n) is close to zeta(2) - 1/(n + 0.5), tf = round(1 / (zeta(2) - H2) - 0.5),
exact for every tf a tsvector can hold, without unnesting the tsvector.
Each (candidate, stem) pair computes its tf once, in a subquery fenced with
`OFFSET 0`: without the fence PostgreSQL inlines the expression into the score
and calls `ts_rank` three times per pair (a third of the lexical time at 100k).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import numpy as np
from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from mcp_servers.kb.settings import LexicalScorer

BM25_K1, BM25_B = 1.2, 0.75
Mode = Literal["hybrid", "dense", "lexical"]


@dataclass(frozen=True)
class LexicalPlan:
    """The lexical retriever's share of a search, planned from the tenant's term statistics."""

    match: str  # tsquery: the selective stems, OR-ed; what the GIN index looks up
    term_queries: list[str]  # one tsquery per stem of the query that occurs in the KB
    term_weights: list[float]  # BM25 IDF of each
    avgdl: float  # mean chunk length in distinct stems


@dataclass(frozen=True)
class SearchRequest:
    lexical: LexicalPlan | None  # None: nothing in the query can match lexically
    vector: np.ndarray | None  # None for lexical-only search
    dimensions: int
    model: str
    max_class: int
    limit: int
    candidates: int
    rrf_k: int
    mode: Mode
    scorer: LexicalScorer
    document_ids: list[UUID] | None
    include_stale: bool
    ef_search: int


FILTERS = (
    "c.data_class <= %(max_class)s "
    "AND (%(document_ids)s::uuid[] IS NULL OR c.document_id = ANY(%(document_ids)s)) "
    "AND (%(include_stale)s OR c.stale_at IS NULL OR c.stale_at > now())"
)

DENSE = (
    "dense AS (SELECT id, row_number() OVER (ORDER BY dist, id) AS rank FROM ("
    " SELECT c.id, c.embedding::vector({dim}) <=> %(vector)s::vector({dim}) AS dist"
    " FROM kb_chunks c WHERE c.embedding_dim = {dim} AND c.embedding_model = %(model)s AND "
    + FILTERS + " ORDER BY dist LIMIT %(candidates)s) nearest)"
)

ZETA2 = 1.6449340668  # zeta(2) = pi^2 / 6

LEXICAL_BM25 = (
    "terms AS (SELECT t.q, t.w FROM unnest(%(term_queries)s::tsquery[], %(term_weights)s::float8[])"
    " AS t(q, w)), "
    "lexical AS (SELECT id, row_number() OVER (ORDER BY score DESC, id) AS rank FROM ("
    " SELECT id, sum(w * (tf * ({k1} + 1)) / (tf + {k1} * (1 - {b} + {b} * len / %(avgdl)s::float8)))"
    "   AS score FROM ("
    "  SELECT c.id, length(c.tsv) AS len, terms.w,"
    "   round(1 / greatest({zeta2} - ts_rank('{{1,1,1,1}}', c.tsv, terms.q) * {zeta2}, 1e-6) - 0.5) AS tf"
    "  FROM kb_chunks c CROSS JOIN terms"
    "  WHERE c.tsv @@ %(match)s::tsquery AND " + FILTERS + " OFFSET 0) per_term"
    " WHERE tf > 0 GROUP BY id ORDER BY score DESC, id LIMIT %(candidates)s) best)"
)

LEXICAL_TS_RANK_CD = (
    "lexical AS (SELECT id, row_number() OVER (ORDER BY score DESC, id) AS rank FROM ("
    " SELECT c.id, ts_rank_cd(c.tsv, %(match)s::tsquery, 1) AS score FROM kb_chunks c"
    " WHERE c.tsv @@ %(match)s::tsquery AND " + FILTERS + " ORDER BY score DESC, c.id"
    " LIMIT %(candidates)s) best)"
)

NOTHING = "{name} AS (SELECT NULL::uuid AS id, NULL::bigint AS rank WHERE false)"

# The fused list is small (at most two times `candidates`); each of its rows looks up
# its chunk and document by primary key (LATERAL), whatever the planner estimates.
FUSED = (
    "fused AS MATERIALIZED (SELECT id, dense.rank AS dense_rank, lexical.rank AS lexical_rank,"
    " coalesce(1.0 / (%(rrf_k)s + dense.rank), 0) + coalesce(1.0 / (%(rrf_k)s + lexical.rank), 0)"
    " AS score FROM dense FULL JOIN lexical USING (id) ORDER BY score DESC, id LIMIT %(limit)s) "
    "SELECT f.id, f.dense_rank, f.lexical_rank, f.score, x.* FROM fused f CROSS JOIN LATERAL ("
    " SELECT c.document_id, c.section_path, c.text, c.data_class,"
    " (c.stale_at IS NOT NULL AND c.stale_at <= now()) AS stale, d.title, d.source_uri, d.fresh_as_of"
    " FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id WHERE c.id = f.id) x "
    "ORDER BY f.score DESC, f.id"
)


async def term_statistics(conn: AsyncConnection, query: str
                          ) -> tuple[int, int, int, list[tuple[str, int]]]:
    """(KB version, chunk count, total length, [(stem, document frequency)]) for a query."""
    cursor = await conn.execute(
        "SELECT s.version, s.chunk_count, s.total_length, "
        "       ARRAY(SELECT ARRAY[l, coalesce(t.df, 0)::text] "
        "             FROM unnest(tsvector_to_array(to_tsvector('english', %s))) AS l "
        "             LEFT JOIN kb_terms t ON t.lexeme = l) "
        "FROM (SELECT 1) one LEFT JOIN kb_state s ON true",
        (query,),
    )
    row = await cursor.fetchone()
    assert row is not None
    version, chunks, length, pairs = row
    return (int(version or 0), int(chunks or 0), int(length or 0),
            [(lexeme, int(df)) for lexeme, df in pairs or []])


def plan_lexical(stats: list[tuple[str, int]], chunks: int, length: int, budget: int,
                 scorer: LexicalScorer) -> LexicalPlan | None:
    """Which stems make candidates (the rarest, within `budget` postings) and their IDF."""
    present = sorted((df, lexeme) for lexeme, df in stats if df > 0)
    if not present:
        return None
    selective, postings = [], 0
    for df, lexeme in present:
        if selective and postings + df > budget and scorer is LexicalScorer.BM25:
            break
        selective.append(lexeme)
        postings += df
    n = max(chunks, 1)
    return LexicalPlan(
        match=" | ".join(_tsquery_term(lexeme) for lexeme in selective),
        term_queries=[_tsquery_term(lexeme) for _, lexeme in present],
        term_weights=[math.log(1 + (n - df + 0.5) / (df + 0.5)) for df, _ in present],
        avgdl=max(length / n, 1.0),
    )


def _tsquery_term(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def statement(request: SearchRequest) -> sql.Composed:
    parts = []
    if request.mode == "lexical":
        parts.append(NOTHING.format(name="dense"))
    else:
        parts.append(DENSE.format(dim=int(request.dimensions)))
    if request.mode == "dense" or request.lexical is None:
        parts.append(NOTHING.format(name="lexical"))
    elif request.scorer is LexicalScorer.BM25:
        parts.append(LEXICAL_BM25.format(k1=BM25_K1, b=BM25_B, zeta2=ZETA2))
    else:
        parts.append(LEXICAL_TS_RANK_CD)
    return sql.SQL("WITH " + ", ".join([*parts, FUSED]))  # type: ignore[arg-type]


async def search(conn: AsyncConnection, request: SearchRequest) -> list[dict[str, Any]]:
    """The fused hits, best first, each with its dense and lexical rank."""
    # Filters (tenant, clearance) can empty an HNSW scan's first pages; iterative
    # scanning keeps reading the graph until `candidates` rows pass them. The match
    # budget keeps the lexical matches few, but the planner cannot know that from an
    # OR of rare stems and may pick a sequential scan of every chunk; forbid it.
    # Pipelined: the settings and the search go to the server in one round trip.
    lexical = request.lexical
    cursor = conn.cursor(row_factory=dict_row)
    async with conn.pipeline():
        await conn.execute(
            "SELECT set_config('hnsw.ef_search', %s, true), "
            "set_config('hnsw.iterative_scan', 'relaxed_order', true), "
            "set_config('enable_seqscan', 'off', true)",
            (str(request.ef_search),),
        )
        await cursor.execute(
            statement(request),
            {
                "vector": request.vector,
                "match": lexical.match if lexical else None,
                "term_queries": lexical.term_queries if lexical else None,
                "term_weights": lexical.term_weights if lexical else None,
                "avgdl": lexical.avgdl if lexical else None,
                "model": request.model,
                "max_class": request.max_class,
                "document_ids": request.document_ids,
                "include_stale": request.include_stale,
                "candidates": request.candidates,
                "rrf_k": request.rrf_k,
                "limit": request.limit,
            },
        )
    return await cursor.fetchall()

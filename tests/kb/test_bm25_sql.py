"""The SQL BM25's pieces: term frequency recovered from ts_rank, and the lexical plan."""

from __future__ import annotations

from mcp_servers.kb.retrieval import ZETA2, plan_lexical
from mcp_servers.kb.settings import LexicalScorer


def test_term_frequency_is_recovered_exactly_from_ts_rank(database):
    with database.admin() as conn:
        rows = conn.execute(
            "SELECT n, round(1 / greatest(%s - ts_rank('{1,1,1,1}', "
            "to_tsvector('simple', repeat('bolt nut ', n)), 'bolt'::tsquery) * %s, 1e-6) - 0.5) "
            "FROM generate_series(1, 60) n", (ZETA2, ZETA2)).fetchall()
    assert [int(tf) for _, tf in rows] == [n for n, _ in rows]


def test_only_the_rarest_stems_make_candidates_within_the_budget():
    stats = [("flow", 900), ("wing", 300), ("slipstream", 12), ("absent", 0)]
    plan = plan_lexical(stats, chunks=2000, length=100_000, budget=500, scorer=LexicalScorer.BM25)
    assert plan is not None
    assert plan.match == "'slipstream' | 'wing'"
    assert plan.term_queries == ["'slipstream'", "'wing'", "'flow'"]  # every stem still scores
    assert plan.term_weights[0] > plan.term_weights[1] > plan.term_weights[2] > 0
    assert plan.avgdl == 50.0
    rarest = plan_lexical([("flow", 900)], chunks=2000, length=1, budget=1, scorer=LexicalScorer.BM25)
    assert rarest is not None and rarest.match == "'flow'"  # at least one stem, always
    assert plan_lexical([("absent", 0)], 10, 10, 100, LexicalScorer.BM25) is None


def test_quotes_in_stems_cannot_break_the_tsquery(database):
    plan = plan_lexical([("o'neil", 1)], 10, 10, 100, LexicalScorer.BM25)
    with database.admin() as conn:
        assert conn.execute("SELECT %s::tsquery::text", (plan.match,)).fetchone()[0] == "'o''neil'"

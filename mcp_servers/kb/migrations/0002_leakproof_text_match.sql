-- Row-level security keeps any operator that is not LEAKPROOF out of index
-- conditions (it must not see rows the policy hides), so under RLS the GIN index on
-- kb_chunks.tsv was never used and every lexical search read all of the tenant's
-- chunks (about 150 ms at 100,000 chunks, against 16 ms with the index).
-- ts_match_vq, the function behind `tsvector @@ tsquery`, returns only a boolean
-- and raises no data-dependent errors, so it is marked LEAKPROOF. Only a
-- superuser may do that; without one, lexical search still works, only slower.
DO $$
BEGIN
    ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'kb: could not mark ts_match_vq LEAKPROOF (needs a superuser); '
        'lexical search will not use its GIN index under row-level security';
END
$$;

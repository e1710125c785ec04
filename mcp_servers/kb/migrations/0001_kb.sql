-- The knowledge base: documents, their chunks (text, contextual header, full-text
-- vector, embedding), per-tenant collection statistics for BM25, the KB version
-- the retrieval cache keys on, and cached chunk summaries. Every table is scoped
-- to the tenant by row-level security.

CREATE TABLE kb_documents (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     text        NOT NULL DEFAULT tessera_current_tenant(),
    source_uri    text        NOT NULL CHECK (length(source_uri) BETWEEN 1 AND 2048),
    title         text        NOT NULL,
    media_type    text        NOT NULL,
    data_class    smallint    NOT NULL DEFAULT 2 CHECK (data_class BETWEEN 1 AND 4),
    owner         text        NOT NULL,
    version       text        NOT NULL,
    content_hash  text        NOT NULL,
    fresh_as_of   timestamptz NOT NULL DEFAULT now(),
    max_age_s     bigint      CHECK (max_age_s > 0),
    chunk_count   integer     NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, source_uri)
);

CREATE TABLE kb_chunks (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       text        NOT NULL DEFAULT tessera_current_tenant(),
    document_id     uuid        NOT NULL REFERENCES kb_documents (id) ON DELETE CASCADE,
    ordinal         integer     NOT NULL,
    section_path    text[]      NOT NULL DEFAULT '{}',
    header          text        NOT NULL DEFAULT '',
    text            text        NOT NULL CHECK (length(text) >= 1),
    data_class      smallint    NOT NULL CHECK (data_class BETWEEN 1 AND 4),
    stale_at        timestamptz,  -- the document's fresh_as_of + max age (copied for filtering)
    -- What lexical search matches: the contextual header plus the text, stemmed
    -- with English stop words removed.
    tsv             tsvector    GENERATED ALWAYS AS (to_tsvector('english', header || E'\n' || text)) STORED,
    embedding       vector      NOT NULL,
    embedding_model text        NOT NULL,
    embedding_dim   integer     NOT NULL,
    CHECK (embedding_dim = vector_dims(embedding)),
    UNIQUE (document_id, ordinal)
);

CREATE INDEX kb_chunks_tenant_class ON kb_chunks (tenant_id, data_class);
CREATE INDEX kb_chunks_tsv ON kb_chunks USING gin (tsv);

-- HNSW needs a fixed vector size and the embedding model is a setting, so there is
-- one partial index per common size; a query names its size to use it.
CREATE INDEX kb_chunks_embedding_256 ON kb_chunks
    USING hnsw ((embedding::vector(256)) vector_cosine_ops) WHERE embedding_dim = 256;
CREATE INDEX kb_chunks_embedding_384 ON kb_chunks
    USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE embedding_dim = 384;
CREATE INDEX kb_chunks_embedding_768 ON kb_chunks
    USING hnsw ((embedding::vector(768)) vector_cosine_ops) WHERE embedding_dim = 768;
CREATE INDEX kb_chunks_embedding_1024 ON kb_chunks
    USING hnsw ((embedding::vector(1024)) vector_cosine_ops) WHERE embedding_dim = 1024;

-- One row per tenant: the KB version (bumped by every change, keys the retrieval
-- cache) and the collection statistics BM25 needs.
CREATE TABLE kb_state (
    tenant_id     text   PRIMARY KEY DEFAULT tessera_current_tenant(),
    version       bigint NOT NULL DEFAULT 0,
    chunk_count   bigint NOT NULL DEFAULT 0,
    total_length  bigint NOT NULL DEFAULT 0
);

-- Document frequency of each lexeme (how many chunks contain it), for BM25's IDF.
CREATE TABLE kb_terms (
    tenant_id text   NOT NULL DEFAULT tessera_current_tenant(),
    lexeme    text   NOT NULL,
    df        bigint NOT NULL,
    PRIMARY KEY (tenant_id, lexeme)
);

-- Chunk summaries made by the configured LLM, by content hash and model, so
-- re-ingesting unchanged content costs nothing.
CREATE TABLE kb_summaries (
    tenant_id    text        NOT NULL DEFAULT tessera_current_tenant(),
    content_hash text        NOT NULL,
    model        text        NOT NULL,
    summary      text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, content_hash, model)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['kb_documents', 'kb_chunks', 'kb_state', 'kb_terms', 'kb_summaries'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I '
                       'USING (tenant_id = tessera_current_tenant()) '
                       'WITH CHECK (tenant_id = tessera_current_tenant())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO tessera_app', t);
    END LOOP;
END
$$;

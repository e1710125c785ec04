-- Memories: one row per remembered statement, scoped to tenant (row-level
-- security) and user (every query filters by it).

CREATE TABLE memories (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        text        NOT NULL DEFAULT tessera_current_tenant(),
    user_id          text        NOT NULL,
    kind             text        NOT NULL
                     CHECK (kind IN ('FACT', 'PREFERENCE', 'SKILL', 'CONTEXT', 'EPISODIC')),
    content          text        NOT NULL CHECK (length(content) BETWEEN 1 AND 4000),
    tags             text[]      NOT NULL DEFAULT '{}',
    data_class       smallint    NOT NULL DEFAULT 2 CHECK (data_class BETWEEN 1 AND 4),
    importance       real        NOT NULL DEFAULT 0.5 CHECK (importance BETWEEN 0 AND 1),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    last_accessed_at timestamptz NOT NULL DEFAULT now(),
    access_count     integer     NOT NULL DEFAULT 0,
    merged_count     integer     NOT NULL DEFAULT 0,
    expires_at       timestamptz,
    embedding        vector      NOT NULL,
    embedding_model  text        NOT NULL,
    embedding_dim    integer     NOT NULL,
    CHECK (embedding_dim = vector_dims(embedding))
);

CREATE INDEX memories_owner ON memories (tenant_id, user_id, kind);

-- HNSW needs a fixed vector size, and the embedding model is a setting, so there
-- is one partial index per common size; a query names its size to use it.
CREATE INDEX memories_embedding_256 ON memories
    USING hnsw ((embedding::vector(256)) vector_cosine_ops) WHERE embedding_dim = 256;
CREATE INDEX memories_embedding_384 ON memories
    USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE embedding_dim = 384;
CREATE INDEX memories_embedding_768 ON memories
    USING hnsw ((embedding::vector(768)) vector_cosine_ops) WHERE embedding_dim = 768;
CREATE INDEX memories_embedding_1024 ON memories
    USING hnsw ((embedding::vector(1024)) vector_cosine_ops) WHERE embedding_dim = 1024;

ALTER TABLE memories ENABLE ROW LEVEL SECURITY;
ALTER TABLE memories FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON memories
    USING (tenant_id = tessera_current_tenant())
    WITH CHECK (tenant_id = tessera_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON memories TO tessera_app;

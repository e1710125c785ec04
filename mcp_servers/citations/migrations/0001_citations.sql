-- Citable sources registered with citations.add_source (e.g. a tool result the
-- answer relies on), beside the kb's chunks, which citations reads in place.

CREATE TABLE citation_sources (
    tenant_id   text        NOT NULL DEFAULT tessera_current_tenant(),
    source_id   text        NOT NULL CHECK (length(source_id) BETWEEN 1 AND 200),
    label       text        NOT NULL DEFAULT '',
    text        text        NOT NULL CHECK (length(text) BETWEEN 1 AND 100000),
    data_class  smallint    NOT NULL DEFAULT 2 CHECK (data_class BETWEEN 1 AND 4),
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, source_id)
);

ALTER TABLE citation_sources ENABLE ROW LEVEL SECURITY;
ALTER TABLE citation_sources FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON citation_sources
    USING (tenant_id = tessera_current_tenant())
    WITH CHECK (tenant_id = tessera_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON citation_sources TO tessera_app;

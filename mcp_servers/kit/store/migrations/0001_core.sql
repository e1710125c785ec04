-- Core schema shared by every component: pgvector, the application role, the
-- tenant setting that row-level security keys on, the audit log and the registry
-- of embedding spaces.

CREATE EXTENSION IF NOT EXISTS vector;

-- The role applications act as. It owns nothing and lacks BYPASSRLS, so
-- row-level security always applies to it. Login roles are granted membership
-- (the embedded database logs in as tessera_app directly).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tessera_app') THEN
        CREATE ROLE tessera_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
EXCEPTION WHEN duplicate_object THEN
    NULL;  -- created concurrently by another database's migration
END
$$;

GRANT USAGE ON SCHEMA public TO tessera_app;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- The tenant of the current transaction; NULL when none is set, which makes every
-- tenant-scoped policy false, so an unscoped connection sees nothing.
CREATE FUNCTION tessera_current_tenant() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(current_setting('tessera.tenant', true), '') $$;

-- Append-only, hash-chained audit log. Each tenant's rows form one chain: a
-- row's hash covers its content and the previous row's hash, so an edited or
-- deleted row breaks every hash after it.
CREATE TABLE audit_events (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   text        NOT NULL DEFAULT tessera_current_tenant(),
    seq         bigint      NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor       text        NOT NULL,
    action      text        NOT NULL,
    target      text,
    details     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    prev_hash   bytea,
    hash        bytea       NOT NULL,
    UNIQUE (tenant_id, seq)
);

CREATE FUNCTION audit_events_digest(e audit_events, prev bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE
AS $$
    SELECT sha256(coalesce(prev, ''::bytea) || convert_to(
        concat_ws(E'\x1f', e.tenant_id, e.seq::text, to_char(e.occurred_at AT TIME ZONE 'UTC',
                  'YYYY-MM-DD"T"HH24:MI:SS.US'), e.actor, e.action, coalesce(e.target, ''),
                  e.details::text),
        'UTF8'))
$$;

CREATE FUNCTION audit_events_chain() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    last audit_events;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('tessera.audit:' || NEW.tenant_id, 0));
    SELECT * INTO last FROM audit_events
        WHERE tenant_id = NEW.tenant_id ORDER BY seq DESC LIMIT 1;
    NEW.seq := coalesce(last.seq, 0) + 1;
    NEW.prev_hash := last.hash;
    NEW.hash := audit_events_digest(NEW, last.hash);
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_chain();

CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_events
    USING (tenant_id = tessera_current_tenant())
    WITH CHECK (tenant_id = tessera_current_tenant());
GRANT SELECT, INSERT ON audit_events TO tessera_app;

-- Which embedding model and vector size each collection of vectors was made
-- with; a server refuses to mix models within a collection.
CREATE TABLE embedding_spaces (
    collection    text        PRIMARY KEY,
    model         text        NOT NULL,
    dimensions    integer     NOT NULL CHECK (dimensions > 0),
    registered_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT ON embedding_spaces TO tessera_app;

-- The host's durable state: conversations, runs (with their paused state, so a
-- run resumes on any host process), approvals, and per-tenant daily usage.
-- Every table is tenant-scoped by row-level security like the servers' tables.

CREATE TABLE host_conversations (
    id         text        NOT NULL,
    tenant_id  text        NOT NULL DEFAULT tessera_current_tenant(),
    user_id    text        NOT NULL,
    summary    text        NOT NULL DEFAULT '',
    summarized_through integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE host_messages (
    tenant_id       text        NOT NULL DEFAULT tessera_current_tenant(),
    conversation_id text        NOT NULL,
    seq             integer     NOT NULL,
    role            text        NOT NULL CHECK (role IN ('user', 'assistant')),
    content         text        NOT NULL,
    run_id          uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, conversation_id, seq),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES host_conversations (tenant_id, id)
        ON DELETE CASCADE
);

CREATE TABLE host_runs (
    id              uuid        PRIMARY KEY,
    tenant_id       text        NOT NULL DEFAULT tessera_current_tenant(),
    user_id         text        NOT NULL,
    conversation_id text,
    status          text        NOT NULL
                    CHECK (status IN ('running', 'paused', 'finished', 'failed')),
    state           jsonb       NOT NULL,       -- messages, toolset, usage: enough to resume
    pending_approval uuid,
    lease_owner     text,
    lease_until     timestamptz,
    model           text,
    prompt_hash     text,
    config_version  text,
    toolset_version text,
    outcome         text,
    usage           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX host_runs_paused ON host_runs (pending_approval) WHERE status = 'paused';
CREATE INDEX host_runs_running ON host_runs (lease_until) WHERE status = 'running';

-- One row per tool call, model call or decision of a run, redacted before it is written.
CREATE TABLE host_run_events (
    tenant_id  text        NOT NULL DEFAULT tessera_current_tenant(),
    run_id     uuid        NOT NULL REFERENCES host_runs (id) ON DELETE CASCADE,
    seq        integer     NOT NULL,
    kind       text        NOT NULL,
    payload    jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE host_approvals (
    id              uuid        PRIMARY KEY,
    tenant_id       text        NOT NULL DEFAULT tessera_current_tenant(),
    run_id          uuid        REFERENCES host_runs (id) ON DELETE SET NULL,
    requester       text        NOT NULL,
    requester_roles text[]      NOT NULL DEFAULT '{}',
    tool            text        NOT NULL,
    arguments       jsonb       NOT NULL,
    args_hash       text        NOT NULL,
    tool_call_id    text,
    reason          text        NOT NULL DEFAULT '',
    rule            text        NOT NULL,
    impact          text        NOT NULL DEFAULT '',
    approver_roles  text[]      NOT NULL,
    idempotency_key text        NOT NULL,
    status          text        NOT NULL DEFAULT 'PROPOSED'
                    CHECK (status IN ('PROPOSED', 'APPROVED', 'REJECTED', 'EXPIRED', 'EXECUTING', 'EXECUTED')),
    decided_by      text,
    decided_at      timestamptz,
    decision_note   text,
    expires_at      timestamptz NOT NULL,
    result          jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (decided_by IS NULL OR decided_by <> requester)
);
CREATE INDEX host_approvals_status ON host_approvals (tenant_id, status, created_at);

CREATE TABLE host_tenant_usage (
    tenant_id  text    NOT NULL DEFAULT tessera_current_tenant(),
    day        date    NOT NULL,
    tokens     bigint  NOT NULL DEFAULT 0,
    cost       double precision NOT NULL DEFAULT 0,
    tool_calls bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['host_conversations', 'host_messages', 'host_runs',
                             'host_run_events', 'host_approvals', 'host_tenant_usage'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = tessera_current_tenant()) '
                       'WITH CHECK (tenant_id = tessera_current_tenant())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO tessera_app', t);
    END LOOP;
END
$$;

-- A host process looking for work after a restart must see which tenants have
-- runs to resume or approvals to expire, without seeing any of their content.
CREATE FUNCTION host_pending_work() RETURNS TABLE (tenant_id text, run_id uuid, approval_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
AS $$
    SELECT r.tenant_id, r.id, r.pending_approval
    FROM host_runs r JOIN host_approvals a ON a.id = r.pending_approval
    WHERE r.status = 'paused'
      AND (a.status IN ('APPROVED', 'REJECTED', 'EXPIRED') OR a.expires_at < now())
      AND (r.lease_until IS NULL OR r.lease_until < now())
    UNION ALL
    -- a run whose process died: it stopped renewing its lease
    SELECT r.tenant_id, r.id, NULL FROM host_runs r
    WHERE r.status = 'running' AND r.lease_until < now()
$$;
REVOKE ALL ON FUNCTION host_pending_work() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION host_pending_work() TO tessera_app;

-- Request rate limits, counted in the database so they hold across every host
-- process. One row per (tenant, scope): the scope is the whole tenant ('*') or
-- one user ('user:<id>'). A row keeps the scope's GCRA "theoretical arrival
-- time" (tat): each admitted request moves it forward by period/limit, and a
-- request is admitted while that leaves tat at most one period ahead of now. So
-- a scope may send `limit` requests at once, then one every period/limit; a
-- refusal changes nothing; and the wait until the next slot is exact.
-- Time is the database's clock, the one clock every host process shares.

CREATE TABLE host_rate_limits (
    tenant_id  text        NOT NULL DEFAULT tessera_current_tenant(),
    scope_key  text        NOT NULL,                 -- '*' (tenant) or 'user:<id>'
    tat        timestamptz NOT NULL,                 -- theoretical arrival time
    PRIMARY KEY (tenant_id, scope_key)
);
ALTER TABLE host_rate_limits ENABLE ROW LEVEL SECURITY;
ALTER TABLE host_rate_limits FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON host_rate_limits USING (tenant_id = tessera_current_tenant())
    WITH CHECK (tenant_id = tessera_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON host_rate_limits TO tessera_app;

-- The current tat of one of the tenant's scopes, its row locked for this
-- transaction (created when missing). A row deleted by the sweeper meanwhile is
-- simply created again.
CREATE FUNCTION host_rate_lock(p_scope text) RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SET search_path = public
AS $$
DECLARE
    found_tat timestamptz;
BEGIN
    LOOP
        SELECT tat INTO found_tat FROM host_rate_limits WHERE scope_key = p_scope FOR UPDATE;
        IF FOUND THEN
            RETURN found_tat;
        END IF;
        INSERT INTO host_rate_limits (scope_key, tat) VALUES (p_scope, '-infinity')
            ON CONFLICT (tenant_id, scope_key) DO NOTHING;
    END LOOP;
END
$$;

-- Admit one request of p_user in the current tenant, or say how long to wait.
-- Both scopes are charged, or neither: a refused request consumes nothing. The
-- tenant's row is always locked before the user's, so racing requests queue on
-- it and never deadlock; the last free slot goes to exactly one of them.
CREATE FUNCTION host_rate_admit(p_user text, p_tenant_limit integer, p_user_limit integer,
                                p_period_s double precision)
RETURNS TABLE (admitted boolean, retry_after_s double precision, refused_by text)
LANGUAGE plpgsql VOLATILE SET search_path = public
AS $$
DECLARE
    user_scope  text := 'user:' || p_user;
    tenant_tat  timestamptz;
    user_tat    timestamptz;
    now_at      timestamptz;
    tenant_next timestamptz;
    user_next   timestamptz;
    tenant_wait double precision;
    user_wait   double precision;
    tolerance   constant double precision := 0.001;  -- interval arithmetic rounds to 1 µs
BEGIN
    IF p_tenant_limit < 1 OR p_user_limit < 1 OR p_period_s <= 0 THEN
        RAISE EXCEPTION 'rate limits must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    tenant_tat := host_rate_lock('*');
    user_tat := host_rate_lock(user_scope);
    now_at := clock_timestamp();  -- read after the locks: a request that queued is judged now
    tenant_next := greatest(tenant_tat, now_at) + make_interval(secs => p_period_s / p_tenant_limit);
    user_next := greatest(user_tat, now_at) + make_interval(secs => p_period_s / p_user_limit);
    tenant_wait := extract(epoch FROM tenant_next - now_at)::double precision - p_period_s;
    user_wait := extract(epoch FROM user_next - now_at)::double precision - p_period_s;
    IF tenant_wait <= tolerance AND user_wait <= tolerance THEN
        UPDATE host_rate_limits SET tat = tenant_next WHERE scope_key = '*';
        UPDATE host_rate_limits SET tat = user_next WHERE scope_key = user_scope;
        RETURN QUERY SELECT true, NULL::double precision, NULL::text;
    ELSE
        RETURN QUERY SELECT false, greatest(tenant_wait, user_wait),
                            CASE WHEN tenant_wait > tolerance THEN 'tenant' ELSE 'user' END;
    END IF;
END
$$;
GRANT EXECUTE ON FUNCTION host_rate_lock(text) TO tessera_app;
GRANT EXECUTE ON FUNCTION host_rate_admit(text, integer, integer, double precision) TO tessera_app;

-- A row whose tat has passed means the same as no row; any host process may
-- delete such rows of every tenant, seeing nothing else of them.
CREATE FUNCTION host_rate_limits_sweep() RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
AS $$
    WITH gone AS (DELETE FROM host_rate_limits WHERE tat < now() RETURNING 1)
    SELECT count(*)::integer FROM gone
$$;
REVOKE ALL ON FUNCTION host_rate_limits_sweep() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION host_rate_limits_sweep() TO tessera_app;

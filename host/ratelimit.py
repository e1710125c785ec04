"""Requests per minute per tenant and per user, counted in PostgreSQL so every host process shares them.

The limits come from the policy (`rate_limit_for`: the tenant's, and the user's
from their most generous role, capped by `TESSERA_HOST_RATE_LIMIT_PER_MINUTE`).
Chat turns and tool calls on `/mcp` draw on the same allowance. Each admission
is one call of the database function `host_rate_admit` (migration
`0002_rate_limits.sql`), a GCRA on one row per scope: a scope may send its whole
minute's allowance at once, then one request every 60/limit seconds. It charges
the tenant and the user together or not at all, so a refusal consumes nothing,
and two processes racing for the last slot never both get it. A refusal raises
`RateLimited` with the whole seconds until a slot frees (at least 1), which the
HTTP layer sends as Retry-After and `/mcp` as `retry_after_s`. Rows whose time
has passed mean the same as no row; `sweep` deletes them.
"""

from __future__ import annotations

import math

from host.auth import Principal
from mcp_servers.kit.errors import RateLimited
from mcp_servers.kit.store.pool import Store
from policies.decision import Policy, RateLimits, UnknownTenant

PERIOD_S = 60.0


def limits_for(policy: Policy, who: Principal, cap_per_minute: int) -> RateLimits:
    """The caller's limits: the policy's, the user's capped by the host's setting.

    A tenant the policy does not know gets the host's setting for both (its
    requests are refused later, by the policy decision, with a clearer reason).
    """
    try:
        limits = policy.rate_limit_for(who.tenant, who.roles)
    except UnknownTenant:
        return RateLimits(cap_per_minute, cap_per_minute)
    return RateLimits(limits.tenant_requests_per_minute,
                      min(limits.user_requests_per_minute, cap_per_minute))


class RateLimiter:
    """Admits or refuses requests against per-minute limits kept in the database."""

    def __init__(self, store: Store, *, cap_per_minute: int) -> None:
        self.store = store
        self.cap_per_minute = cap_per_minute

    async def admit_caller(self, policy: Policy, who: Principal) -> None:
        """Admit one request of `who` under the policy's limits, or raise `RateLimited`."""
        limits = limits_for(policy, who, self.cap_per_minute)
        await self.admit(who.tenant, who.user, tenant_per_minute=limits.tenant_requests_per_minute,
                         user_per_minute=limits.user_requests_per_minute)

    async def admit(self, tenant: str, user: str, *, tenant_per_minute: int, user_per_minute: int) -> None:
        """Charge one request to the tenant and the user, or raise `RateLimited` and charge nothing."""
        async with self.store.tenant(tenant) as conn:
            # Asynchronous commit for this transaction only: it saves the WAL flush (most of
            # the cost of an admission). A database crash may forget the last moments' counts,
            # which only makes the limits briefly lenient; locking and atomicity are unchanged.
            cursor = await conn.execute(
                "SELECT r.admitted, r.retry_after_s, r.refused_by, "
                "set_config('synchronous_commit', 'off', true) "
                "FROM host_rate_admit(%s, %s, %s, %s) r",
                (user, tenant_per_minute, user_per_minute, PERIOD_S))
            admitted, retry_after_s, refused_by, _ = await cursor.fetchone()
        if admitted:
            return
        who, limit = (("the tenant", tenant_per_minute) if refused_by == "tenant"
                      else ("you", user_per_minute))
        wait = max(1, math.ceil(retry_after_s - 0.001))
        raise RateLimited(f"Too many requests from {who}; the limit is {limit} per minute.",
                          model_fix_hint=f"Wait {wait} s, then repeat the request unchanged.",
                          retry_after_s=float(wait),
                          details={"scope": refused_by, "limit_per_minute": limit})

    async def sweep(self) -> int:
        """Delete every tenant's rows whose time has passed; return how many went."""
        async with self.store.unscoped() as conn:
            cursor = await conn.execute("SELECT host_rate_limits_sweep()")
            row = await cursor.fetchone()
        return int(row[0])

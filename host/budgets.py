"""Budgets: what a run may still spend, and the tenant's tokens per day, kept in PostgreSQL.

A run's limits are fixed when it starts (settings, tightened by the policy's
budgets for the caller's roles). The tenant's daily token budget lives in the
database, so it holds across every host process: each model call is checked
against it first and charged after.
"""

from __future__ import annotations

from psycopg import AsyncConnection

from host.runs import Limits, RunState
from host.settings import HostSettings
from mcp_servers.kit.errors import BudgetExceeded
from mcp_servers.kit.store.pool import Store


def run_limits(settings: HostSettings, policy_budgets: object | None) -> Limits:
    """The settings' defaults, tightened by the policy's budgets when it has any."""
    limits = Limits(tool_calls=settings.max_tool_calls, wall_s=settings.max_wall_s,
                    tokens=settings.max_tokens, cost=settings.max_cost, retries=settings.max_retries)
    if policy_budgets is None:
        return limits
    b = policy_budgets
    return Limits(
        tool_calls=min(limits.tool_calls, b.tool_calls_per_run),
        wall_s=min(limits.wall_s, b.wall_time_s_per_run),
        tokens=min(limits.tokens, b.tokens_per_run),
        cost=min(limits.cost, b.cost_per_run) if b.cost_per_run else limits.cost,
        retries=min(limits.retries, b.retries_per_run),
    )


def spent(state: RunState) -> str | None:
    """Which of the run's budgets is used up, in words, or None."""
    usage, limits = state.usage, state.limits
    if usage.tool_calls >= limits.tool_calls:
        return f"its limit of {limits.tool_calls} tool calls"
    if usage.tokens >= limits.tokens:
        return f"its limit of {limits.tokens} model tokens"
    if limits.cost and usage.cost >= limits.cost:
        return f"its cost limit of {limits.cost:g}"
    if usage.active_s >= limits.wall_s:
        return f"its time limit of {limits.wall_s:g} s"
    return None


class TenantUsage:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def check_tokens(self, state: RunState, tokens_per_day: int) -> None:
        """Refuse a model call once the tenant's tokens for today are used up.

        The total comes from the run's last charge when it has one (saving a round
        trip per model call), else from the database.
        """
        used = state.tenant_tokens_today
        if used is None:
            async with self.store.tenant(state.tenant) as conn:
                cursor = await conn.execute(
                    "SELECT tokens FROM host_tenant_usage WHERE day = current_date")
                row = await cursor.fetchone()
            used = row[0] if row else 0
        if used >= tokens_per_day:
            raise BudgetExceeded(
                f"The tenant has used its {tokens_per_day} model tokens for today.",
                model_fix_hint="Stop; the daily budget resets at midnight (UTC).")

    @staticmethod
    async def charge(conn: AsyncConnection, *, tokens: int = 0, cost: float = 0.0,
                     tool_calls: int = 0) -> int:
        """Add to the tenant's usage today (`conn` is scoped to the tenant); return its tokens
        today, all processes counted. The host charges with the run's save (`RunStore.on_save`)."""
        cursor = await conn.execute(
            "INSERT INTO host_tenant_usage (day, tokens, cost, tool_calls) "
            "VALUES (current_date, %s, %s, %s) ON CONFLICT (tenant_id, day) DO UPDATE SET "
            "tokens = host_tenant_usage.tokens + excluded.tokens, "
            "cost = host_tenant_usage.cost + excluded.cost, "
            "tool_calls = host_tenant_usage.tool_calls + excluded.tool_calls RETURNING tokens",
            (tokens, cost, tool_calls))
        row = await cursor.fetchone()
        return int(row[0])

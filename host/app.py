"""The host's HTTP application: routes, and the services it starts and stops with itself.

    GET  /healthz, /readyz                      health (host.api.health)
    POST /v1/chat                               a chat turn, streamed as SSE (host.api.chat)
    POST /v1/chat/completions                   the same, OpenAI-compatible
    GET  /v1/approvals[/{id}], POST .../{id}/approve|reject|modify   (host.api.approvals)
    GET  /v1/runs/{id}                          a run's record and events
    /mcp                                        the federated MCP endpoint (host.mcp_endpoint)
    GET  /, /console/...                        the web console's static files (host.console)

On start it opens the database pool, connects every federated server, keeps the
tool catalog in step with them, and resumes paused runs whose approvals were
decided (after a restart too). On stop it cancels all of that.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from host.api import approvals as approvals_api
from host.api import chat as chat_api
from host.api import health
from host.api.common import api, principal
from host.approvals import ApprovalStore
from host.console import console_routes
from host.auth import UserAuthenticator
from host.budgets import TenantUsage
from host.conversations import ConversationStore
from host.discovery.catalog import ToolCatalog
from host.discovery.descriptor import ToolDescriptor
from host.discovery.settings import DiscoverySettings
from host.sandbox_audit import SandboxAuditLog
from host.events import discard
from host.federation import Federation, ServerEndpoint
from host.llm import ModelClient
from host.loop import resume_run
from host.mcp_endpoint import federated_mcp
from host.ratelimit import RateLimiter
from host.runs import RunStore
from host.services import HostServices
from host.settings import HostSettings
from mcp_servers.kit.context import ContextSigner
from mcp_servers.kit.embeddings import build_embedder
from mcp_servers.kit.errors import NotFound
from mcp_servers.kit.settings import Environment, Settings
from mcp_servers.kit.store.pool import Store
from policies.store import PolicyStore

logger = logging.getLogger("tessera.host")

RESUME_INTERVAL_S = 2.0
RATE_SWEEP_INTERVAL_S = 60.0


@dataclass(frozen=True)
class HostConfig:
    """What the process edge hands the host: settings, and how to reach each server."""

    settings: Settings
    host_settings: HostSettings
    endpoints: list[ServerEndpoint]
    policies: PolicyStore
    discovery: DiscoverySettings
    sandbox_audit: SandboxAuditLog | None = None


def build_app(config: HostConfig) -> Starlette:
    settings, host_settings = config.settings, config.host_settings
    model = ModelClient(host_settings, production=settings.env is Environment.PRODUCTION)
    auth = UserAuthenticator(host_settings, settings)
    store = Store.from_settings(settings, application_name="tessera-host")
    federation = Federation(config.endpoints, ContextSigner.from_settings(settings),
                            max_backoff_s=host_settings.server_restart_max_s)
    host = HostServices(
        settings=host_settings, federation=federation, model=model, policies=config.policies,
        catalog=ToolCatalog(build_embedder(settings), config.discovery), runs=RunStore(store),
        approvals=ApprovalStore(store), usage=TenantUsage(store),
        conversations=ConversationStore(store, model, host_settings.history_messages))
    limiter = RateLimiter(store, cap_per_minute=host_settings.rate_limit_per_minute)
    mcp_app = federated_mcp(host, auth, limiter).http_app(
        path="/mcp", host_origin_protection=True, allowed_hosts=list(settings.http_allowed_hosts),
        allowed_origins=list(settings.http_allowed_origins))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.host, app.state.auth, app.state.limiter = host, auth, limiter
        # LiteLLM takes seconds to import: do it now, not inside the first chat turn,
        # where it would hold up the event loop and with it every other run's lease.
        await anyio.to_thread.run_sync(model.prepare)
        async with store, anyio.create_task_group() as tasks:
            app.state.tasks = tasks
            app.state.wake = lambda tenant, run_id: tasks.start_soon(_resume, host, tenant, run_id)
            await federation.run(tasks)
            tasks.start_soon(_keep_catalog, host)
            tasks.start_soon(_resume_decided, host)
            tasks.start_soon(_renew_leases, host)
            tasks.start_soon(_sweep_rate_limits, limiter)
            if config.sandbox_audit is not None:
                tasks.start_soon(config.sandbox_audit.run, store)
            async with mcp_app.router.lifespan_context(app):
                settle_heap()
                try:
                    yield
                finally:
                    gc.unfreeze()
            tasks.cancel_scope.cancel()

    routes = [
        Route("/healthz", health.healthz), Route("/readyz", health.readyz),
        Route("/v1/chat", chat_api.chat, methods=["POST"]),
        Route("/v1/chat/completions", chat_api.completions, methods=["POST"]),
        Route("/v1/approvals", approvals_api.list_approvals),
        Route("/v1/approvals/{id}", approvals_api.get_approval),
        Route("/v1/approvals/{id}/approve", approvals_api.approve, methods=["POST"]),
        Route("/v1/approvals/{id}/reject", approvals_api.reject, methods=["POST"]),
        Route("/v1/approvals/{id}/modify", approvals_api.modify, methods=["POST"]),
        Route("/v1/runs/{id}", get_run),
        *console_routes(),
        Mount("/", app=mcp_app),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


@api
async def get_run(request: Request) -> Response:
    who, host = principal(request), request.app.state.host
    run = await host.runs.get(who.tenant, request.path_params["id"]) if _uuid(request) else None
    if run is None or (run["user_id"] != who.user and "admin" not in who.roles):
        raise NotFound("There is no run with that id.")
    events = await host.runs.events(who.tenant, run["id"])
    return JSONResponse({**{k: str(v) if k.endswith("_at") else v for k, v in run.items()},
                         "events": events})


def _uuid(request: Request) -> bool:
    try:
        uuid.UUID(request.path_params["id"])
        return True
    except ValueError:
        return False


async def _keep_catalog(host: HostServices) -> None:
    """Re-index the catalog whenever a server's tool list changes."""
    seen = -1
    while True:
        if host.federation.version != seen:
            seen = host.federation.version
            for name, connection in host.federation.connections.items():
                descriptors = [ToolDescriptor.from_mcp_tool(tool) for tool_name, tool in
                               connection.tools.items() if tool_name.startswith(f"{name}.")]
                await host.catalog.set_server_tools(name, descriptors)
        await anyio.sleep(0.5)


async def _resume_decided(host: HostServices) -> None:
    """Pick up paused runs whose approval was decided or expired, on any process, after restarts."""
    while True:
        try:
            for tenant, run_id in await host.runs.pending_work():
                await _resume(host, tenant, run_id)
        except Exception:  # one bad run must not stop the resumer
            logger.exception("resuming decided runs failed")
        await anyio.sleep(RESUME_INTERVAL_S)


async def _renew_leases(host: HostServices) -> None:
    """Keep the runs this process drives leased, however long one step takes."""
    lease = host.settings.run_lease_s
    while True:
        await anyio.sleep(lease / 3)
        try:
            await host.runs.renew_leases(lease)
        except Exception:
            logger.exception("renewing run leases failed")


async def _sweep_rate_limits(limiter: RateLimiter) -> None:
    """Delete rate-limit rows whose time has passed (they mean the same as no row)."""
    while True:
        await anyio.sleep(RATE_SWEEP_INTERVAL_S)
        try:
            await limiter.sweep()
        except Exception:
            logger.exception("sweeping rate limits failed")


async def _resume(host: HostServices, tenant: str, run_id: str) -> None:
    try:
        await resume_run(host, tenant, run_id, discard)
    except Exception:
        logger.exception("resuming run %s failed", run_id)


def settle_heap() -> None:
    """Move everything start-up made (LiteLLM's tables, the catalog, imports) out of the GC's reach.

    Start-up leaves some 400 000 tracked objects; every full collection walked them all,
    a pause of 250-500 ms for every run in the process (measured under the host
    benchmark). Frozen, they are never scanned again, and the collections that remain
    see only what came after. The host unfreezes them when it stops. (No collection
    first: it would cost every start, tests included, half a second to free little.)
    """
    gc.freeze()

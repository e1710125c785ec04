"""`tessera host` runs the agent host; `tessera audit verify` checks the audit log's hash chains.

The host federates every installed server (or TESSERA_HOST_SERVERS), each spawned
over stdio inside its sandbox as the policy's profile says, plus any
TESSERA_HOST_REMOTE_SERVERS over streamable HTTP. With --workers N (or
TESSERA_HOST_WORKERS) uvicorn runs N worker processes on one port, each a whole
host (its own servers); they share everything else through PostgreSQL.
"""

from __future__ import annotations

import argparse
import sys

import anyio

from tessera import runtime


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "host", help="run the agent host (chat, approvals, federated /mcp) with every server",
        description=__doc__)
    parser.add_argument("--port", type=int, default=None, help="port (TESSERA_HOST_PORT, default 8700)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (TESSERA_HOST_WORKERS, default 1)")
    parser.set_defaults(run=_host)


def register_audit(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("audit", help="check the audit log")
    actions = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = actions.add_parser("verify", help="recompute every tenant's hash chain; exit 1 on a break")
    verify.add_argument("--tenant", action="append", help="only this tenant (repeatable)")
    verify.set_defaults(run=_verify)


def host_config(settings):
    """Everything the host needs, from settings and the installed servers."""
    from host.app import HostConfig
    from host.discovery.settings import DiscoverySettings
    from host.sandbox_audit import SandboxAuditLog
    from host.federation.endpoints import remote, sandboxed
    from host.settings import HostSettings
    from mcp_servers.kit.definition import registered_servers
    from policies.sandbox_profile import SandboxProfile
    from policies.store import PolicySettings, PolicyStore
    from sandbox import launch_server

    host_settings = HostSettings()
    policies = PolicyStore.from_settings(PolicySettings())
    installed = registered_servers()
    names = host_settings.servers or sorted(installed)
    unknown = sorted(set(names) - set(installed) - set(host_settings.remote_servers))
    if unknown:
        raise runtime.SetupError(f"TESSERA_HOST_SERVERS names servers that are not installed: {unknown}")
    sandbox_audit = SandboxAuditLog()
    endpoints = [remote(name, url) for name, url in host_settings.remote_servers.items()]
    for name in names:
        if name in host_settings.remote_servers:
            continue
        definition = installed[name]
        server_policy = policies.current().server(name)
        profile = server_policy.sandbox if server_policy else SandboxProfile()

        def launch(name=name, profile=profile, definition=definition):
            process = launch_server(name, profile, settings,
                                    server_settings=definition.server_settings(),
                                    audit=sandbox_audit, stderr=sys.stderr)
            sandbox_audit.started(process.report)
            return process

        endpoints.append(sandboxed(name, launch))
    return HostConfig(settings=settings, host_settings=host_settings, endpoints=endpoints,
                      policies=policies, discovery=DiscoverySettings(), sandbox_audit=sandbox_audit)


async def serve_host(settings, port: int | None = None, ready=None) -> None:
    import uvicorn

    from host.app import build_app

    from host.tracing import configure_tracing

    config = host_config(settings)
    configure_tracing(config.host_settings.otlp_endpoint)
    app = build_app(config)
    server = uvicorn.Server(uvicorn.Config(
        app, host=settings.http_host, port=port or config.host_settings.port,
        log_level=settings.log_level.lower(), lifespan="on"))
    await server.serve()


def _host(args: argparse.Namespace) -> int:
    from host.settings import HostSettings

    settings = runtime.prepared_settings()
    host_settings = HostSettings()
    workers = args.workers or host_settings.workers
    if workers == 1:
        anyio.run(serve_host, settings, args.port)
        return 0
    import os

    import uvicorn

    # The workers are new processes: hand them the database this one resolved (and
    # perhaps started), so they neither start nor migrate anything themselves.
    assert settings.database_url is not None and settings.database_admin_url is not None
    os.environ["TESSERA_DATABASE_URL"] = settings.database_url.get_secret_value()
    os.environ["TESSERA_DATABASE_ADMIN_URL"] = settings.database_admin_url.get_secret_value()
    uvicorn.run("tessera.commands.host:worker_app", factory=True, workers=workers,
                host=settings.http_host, port=args.port or host_settings.port,
                log_level=settings.log_level.lower(), lifespan="on")
    return 0


def worker_app():
    """One worker's whole host (uvicorn calls this in each worker process)."""
    from host.app import build_app
    from host.tracing import configure_tracing

    config = host_config(runtime.with_database(runtime.load_settings()))
    configure_tracing(config.host_settings.otlp_endpoint)
    return build_app(config)


def _verify(args: argparse.Namespace) -> int:
    from mcp_servers.kit.store.audit import verify_chain
    from mcp_servers.kit.store.pool import Store

    settings = runtime.prepared_settings()
    admin = (settings.database_admin_url or settings.database_url).get_secret_value()

    async def check() -> int:
        import psycopg

        async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
            cursor = await conn.execute("SELECT DISTINCT tenant_id FROM audit_events ORDER BY 1")
            tenants = args.tenant or [row[0] for row in await cursor.fetchall()]
        if not tenants:
            print("no audit events yet")
            return 0
        broken = 0
        async with Store.from_settings(settings, application_name="tessera-audit") as store:
            for tenant in tenants:
                async with store.tenant(tenant) as conn:
                    report = await verify_chain(conn)
                state = "intact" if report.intact else f"BROKEN at event {report.first_broken_seq}"
                print(f"{tenant:<24} {report.events:>8} events  {state}")
                broken += not report.intact
        return 1 if broken else 0

    return anyio.run(check)

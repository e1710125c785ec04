"""`tessera serve NAME` runs one capability server standalone; `tessera servers` lists them."""

from __future__ import annotations

import argparse

import anyio

from tessera import runtime


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run one capability server over stdio or streamable HTTP",
        description="Run one capability server standalone: stdio for an IDE that spawns it, "
        "http (streamable HTTP at /mcp) for remote clients.",
    )
    parser.add_argument("name", help="server name, e.g. memory (see `tessera servers`)")
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio",
                        help="stdio (default) or http")
    parser.add_argument("--host", default=None, help="http: address to bind (TESSERA_HTTP_HOST)")
    parser.add_argument("--port", type=int, default=None,
                        help="http: port (default: the server's own, e.g. 8711 for memory)")
    parser.add_argument("--sandboxed", action="store_true",
                        help="stdio: run the server under the bubblewrap sandbox (docs/sandbox.md)")
    parser.add_argument("--inside-sandbox", action="store_true",
                        help="internal: the launcher starts servers with it; settings come from "
                        "the environment as given, no migrations or key generation")
    parser.set_defaults(run=_serve)


def register_list(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("servers", help="list the installed capability servers")
    parser.set_defaults(run=_list)


def _serve(args: argparse.Namespace) -> int:
    from mcp_servers.kit.server import Transport, serve

    definition = runtime.server_definition(args.name)
    if args.sandboxed:
        if args.transport != "stdio":
            raise runtime.SetupError("--sandboxed serves over stdio only: a sandbox has no network")
        return _serve_sandboxed(definition)
    settings = runtime.load_settings() if args.inside_sandbox else runtime.prepared_settings()
    server = definition.create(settings)
    transport = Transport(args.transport)
    host = args.host or settings.http_host
    port = args.port or definition.default_port
    anyio.run(lambda: serve(server.mcp, settings, transport, host=host, port=port))
    return 0


def _serve_sandboxed(definition) -> int:
    """Launch the server under the sandbox with this process's stdin/stdout, until it exits."""
    import signal

    from policies.sandbox_profile import SandboxProfile
    from policies.store import PolicySettings, load_policy
    from sandbox import launch_server

    settings = runtime.prepared_settings()
    # The security team's profile for this server (policies/servers.yaml); none: the strictest.
    entry = load_policy(PolicySettings().dir).server(definition.name)
    profile = entry.sandbox if entry is not None else SandboxProfile()
    server = launch_server(definition.name, profile, settings,
                           server_settings=definition.server_settings(), stdin=None, stdout=None)
    signal.signal(signal.SIGTERM, lambda *_: server.close(timeout=1.0))
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        server.close()


def _list(args: argparse.Namespace) -> int:
    from mcp_servers.kit.definition import registered_servers

    for name, definition in registered_servers().items():
        print(f"{name:<12} port {definition.default_port}  {definition.description}")
    return 0

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
    parser.set_defaults(run=_serve)


def register_list(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("servers", help="list the installed capability servers")
    parser.set_defaults(run=_list)


def _serve(args: argparse.Namespace) -> int:
    from mcp_servers.kit.server import Transport, serve

    definition = runtime.server_definition(args.name)
    settings = runtime.prepared_settings()
    server = definition.create(settings)
    transport = Transport(args.transport)
    host = args.host or settings.http_host
    port = args.port or definition.default_port
    anyio.run(lambda: serve(server.mcp, settings, transport, host=host, port=port))
    return 0


def _list(args: argparse.Namespace) -> int:
    from mcp_servers.kit.definition import registered_servers

    for name, definition in registered_servers().items():
        print(f"{name:<12} port {definition.default_port}  {definition.description}")
    return 0

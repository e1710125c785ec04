"""`tessera simulate sap|mes|all`: run the SAP and MES simulators for demos and manual tests.

Each simulator is a small Starlette app over a seeded demo plant (see
`mcp_servers/sap/simulator` and `mcp_servers/mes/simulator`). The sap and mes
servers' demo settings point at these ports, so `tessera simulate all` next to
`tessera serve sap` is a complete demo without a real SAP or MES.
"""

from __future__ import annotations

import argparse

import anyio

SYSTEMS = ("sap", "mes")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate", help="run the SAP (OData v2) and MES (REST) simulators",
        description="Run the demo SAP simulator (port 8791) and/or MES simulator (port 8792) "
        "over HTTP on loopback until Ctrl-C.",
    )
    parser.add_argument("system", choices=[*SYSTEMS, "all"], help="which simulator to run")
    parser.add_argument("--port", type=int, default=None,
                        help="port (one system only; default 8791 for sap, 8792 for mes)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--seed", type=int, default=1000, help="seed of the demo dataset")
    parser.set_defaults(run=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    from mcp_servers.mes import simulator as mes
    from mcp_servers.sap import simulator as sap
    from mcp_servers.kit.connectors.simulator import in_foreground

    if args.system == "all" and args.port is not None:
        raise ValueError("--port needs one system (sap or mes), not all")
    chosen = {"sap": sap, "mes": mes}
    systems = SYSTEMS if args.system == "all" else (args.system,)

    async def run() -> None:
        async with anyio.create_task_group() as group:
            for name in systems:
                module = chosen[name]
                port = args.port or module.DEFAULT_PORT
                print(f"{name} simulator: http://{args.host}:{port}  (seed {args.seed})",
                      flush=True)
                group.start_soon(lambda m=module, p=port: in_foreground(
                    m.build_app(args.seed), host=args.host, port=p, log_level="warning"))

    anyio.run(run)
    return 0

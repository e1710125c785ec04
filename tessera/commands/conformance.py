"""`tessera conformance`: run the protocol-level conformance checks against any MCP server."""

from __future__ import annotations

import argparse
import json
import os
import shlex
from dataclasses import asdict

import anyio

from tessera import runtime


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "conformance",
        help="check an MCP server (ours or a third party's) and print a pass/fail table",
        description="Connect to an MCP server as a client and run the protocol-level "
        "conformance checks (see docs/conformance.md). Exit 0 when nothing fails.",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="streamable-HTTP endpoint, e.g. http://127.0.0.1:8711/mcp")
    target.add_argument("--stdio", metavar="CMD", help='command that speaks MCP on stdio, e.g. '
                        '"tessera serve memory"')
    parser.add_argument("--token", help="call-context token to send (default: sign one with "
                        "the local development key, when there is one)")
    parser.add_argument("--tenant", default="conformance-a",
                        help="tenant for signed tokens (default conformance-a)")
    parser.add_argument("--allow-writes", action="store_true",
                        help="also call the examples of write tools (never against production)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    results = anyio.run(_check, args)
    if args.json:
        print(json.dumps([asdict(result) for result in results], indent=2))
    else:
        _print_table(results)
    from mcp_servers.kit.conformance import Outcome

    return 1 if any(result.outcome is Outcome.FAIL for result in results) else 0


async def _check(args: argparse.Namespace) -> list:
    from fastmcp import Client
    from fastmcp.client.transports import StdioTransport, StreamableHttpTransport

    from mcp_servers.kit.conformance import CheckOptions, protocol_checks

    if args.url:
        transport = StreamableHttpTransport(args.url)
    else:
        command = shlex.split(args.stdio)
        # Like a shell, the server inherits this environment (the MCP default passes
        # only a safe subset, which would drop the TESSERA_* settings).
        transport = StdioTransport(command[0], command[1:], env=dict(os.environ))
    async with Client(transport) as client:
        server_name = client.server_info.name if client.server_info else ""
        options = CheckOptions(
            tokens=_token_factory(args, server_name),
            tenant=args.tenant,
            allow_writes=args.allow_writes,
        )
        return await protocol_checks(client, options)


def _token_factory(args: argparse.Namespace, audience: str):
    if args.token:
        return lambda tenant: args.token
    settings = runtime.load_settings()
    if not settings.signing_key_path.exists():
        return None
    from mcp_servers.kit.context import CallContext, ContextSigner

    signer = ContextSigner.from_settings(settings)
    return lambda tenant: signer.sign(CallContext(tenant=tenant, user="conformance"),
                                      audience=audience)


def _print_table(results: list) -> None:
    width = max((len(result.subject) for result in results), default=10)
    for result in results:
        outcome = result.outcome.value.upper()
        print(f"{outcome:<5} {result.check:<11} {result.subject:<{width}}  {result.detail}")
    counts = {o: sum(1 for r in results if r.outcome.value == o) for o in ("pass", "fail", "skip")}
    print(f"\n{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")

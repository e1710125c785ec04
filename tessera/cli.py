"""The `tessera` command line: parse, build settings once, dispatch, map errors.

Exit codes: 0 success, 1 the command ran and failed (a check failed, a service
is down), 2 the command line was wrong. Every error is one readable line on
stderr; tracebacks appear only with TESSERA_LOG_LEVEL=DEBUG.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from tessera.commands import conformance, config, db, host, keys, serve, up
from tessera.commands import simulate
from tessera.commands import policy
from tessera.commands import eval, kb

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

COMMANDS: dict[str, Callable[[argparse._SubParsersAction], None]] = {
    "up": up.register,
    "serve": serve.register,
    "servers": serve.register_list,
    "db": db.register,
    "config": config.register,
    "keys": keys.register,
    "token": keys.register_token,
    "conformance": conformance.register,
    "kb": kb.register,
    "eval": eval.register,
    "simulate": simulate.register,
    "policy": policy.register,
    "host": host.register,
    "audit": host.register_audit,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tessera",
        description="Tessera: an on-premise MCP tool-server federation with a thin agent host.",
        epilog="Settings come from TESSERA_* environment variables; see docs/settings.md.",
    )
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in COMMANDS.values():
        register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("TESSERA_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for chatty in ("httpx", "httpx2", "mcp.server.streamable_http_manager"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        return int(args.run(args) or EXIT_OK)
    except KeyboardInterrupt:
        return EXIT_FAILED
    except Exception as exc:  # the CLI's one boundary: a line, not a traceback
        logging.getLogger("tessera.cli").debug("command failed", exc_info=True)
        print(f"tessera: error: {describe(exc)}", file=sys.stderr)
        return EXIT_FAILED


def describe(exc: BaseException) -> str:
    from mcp_servers.kit.errors import TesseraError

    if isinstance(exc, TesseraError):
        return exc.human_message
    text = " ".join(str(exc).split())
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"no such file: {exc.filename}"
    return text or type(exc).__name__

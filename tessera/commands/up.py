"""`tessera up`: run Tessera locally with its embedded defaults until Ctrl-C.

It starts the embedded PostgreSQL, applies migrations, makes development keys,
starts the SAP and MES simulators (unless --no-simulators), and runs the host,
which spawns every installed server over stdio inside its bubblewrap sandbox and
serves chat, approvals and the federated MCP endpoint on one port.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import anyio
import httpx

from tessera import runtime

READY_TIMEOUT_S = 120.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "up", help="start the database, simulators and the host with every server",
        description=__doc__,
    )
    parser.add_argument("--no-simulators", action="store_true",
                        help="do not start the SAP and MES simulators (point the connectors "
                        "at real systems instead)")
    parser.set_defaults(run=_up)


def _up(args: argparse.Namespace) -> int:
    from host.settings import HostSettings
    from tessera.commands.host import serve_host

    settings = runtime.prepared_settings()
    port = HostSettings().port
    simulators = None
    if not args.no_simulators:
        simulators = subprocess.Popen([sys.executable, "-m", "tessera", "simulate", "all"],
                                      env=dict(os.environ))

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(serve_host, settings, port)
            await _wait_ready(f"http://{settings.http_host}:{port}")
            _banner(settings, port)

    try:
        anyio.run(main)
    except KeyboardInterrupt:
        pass
    finally:
        if simulators is not None:
            simulators.terminate()
            try:
                simulators.wait(timeout=10)
            except subprocess.TimeoutExpired:
                simulators.kill()
    return 0


async def _wait_ready(base: str) -> None:
    """Wait until every server is up (or say which are not, and keep running)."""
    with anyio.move_on_after(READY_TIMEOUT_S):
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                try:
                    response = await client.get(f"{base}/readyz")
                    if response.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await anyio.sleep(0.5)
    print(f"tessera: not every server is ready yet; see {base}/readyz", file=sys.stderr)


def _banner(settings, port: int) -> None:
    base = f"http://{settings.http_host}:{port}"
    print(f"""
Tessera is up at {base}
  web console:       {base}/console/
  chat (SSE):        POST {base}/v1/chat
  OpenAI-compatible: POST {base}/v1/chat/completions
  approvals:         {base}/v1/approvals
  federated MCP:     {base}/mcp
  health:            {base}/readyz

Database:  {runtime.masked_url(settings.require_database_url())}
A user token (send as Authorization: Bearer):
  .venv/bin/tessera token --audience tessera --tenant acme --user you@acme.example --roles operator
Press Ctrl-C to stop.
""", flush=True)

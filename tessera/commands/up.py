"""`tessera up`: run Tessera locally with its embedded defaults until Ctrl-C.

It starts the embedded PostgreSQL, applies migrations, makes development keys,
then runs every installed capability server over streamable HTTP on its own
port, each in its own process, and stops them all when one dies or on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

import httpx

from tessera import runtime

READY_TIMEOUT_S = 60.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "up", help="start the database and every server with embedded defaults",
        description=__doc__,
    )
    parser.set_defaults(run=_up)


def _up(args: argparse.Namespace) -> int:
    from mcp_servers.kit.definition import registered_servers

    settings = runtime.prepared_settings()
    env = {
        **os.environ,
        "TESSERA_DATABASE_URL": settings.require_database_url(),
        "TESSERA_DATABASE_ADMIN_URL": (settings.database_admin_url or settings.database_url)
        .get_secret_value(),
    }
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for name, definition in registered_servers().items():
            children[name] = subprocess.Popen(
                [sys.executable, "-m", "tessera", "serve", name, "--transport", "http",
                 "--host", settings.http_host, "--port", str(definition.default_port)],
                env=env,
            )
        _wait_ready(settings.http_host, registered_servers(), children)
        _banner(settings, registered_servers())
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"tessera: server {name} exited with {child.returncode}", file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def _wait_ready(host: str, servers: dict, children: dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    for name, definition in servers.items():
        url = f"http://{host}:{definition.default_port}/healthz"
        while True:
            if children[name].poll() is not None:
                raise runtime.SetupError(f"server {name} exited during start-up")
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise runtime.SetupError(f"server {name} did not become ready at {url}")
            time.sleep(0.2)


def _banner(settings, servers: dict) -> None:
    print("\nTessera is up. Servers (streamable HTTP):")
    for name, definition in servers.items():
        print(f"  {name:<10} http://{settings.http_host}:{definition.default_port}/mcp")
    print(f"\nDatabase:  {runtime.masked_url(settings.require_database_url())}")
    print("Token for a direct MCP client (send as Authorization: Bearer):")
    print("  .venv/bin/tessera token --audience memory --tenant acme --user you@acme.example")
    print("Press Ctrl-C to stop.\n", flush=True)

"""Benchmark: what the sandbox costs — spawn, per MCP message, and the egress proxy.

Run:  .venv/bin/python -m evals.bench.sandbox [--spawns 20] [--messages 300] [--requests 300]

- spawn: `launch()` of `/usr/bin/true` until it exits, under bubblewrap (strict)
  and unconfined (mode off); and the same for `python -c pass`.
- per message: a tiny FastMCP server (one `echo` tool) launched both ways,
  `tools/call` round trips through the same pipe transport; median per call.
- proxy: GETs to a loopback uvicorn server directly and through an `EgressProxy`
  (the kit's `EgressTransport`, what `async_client` uses in a sandbox), with a
  new connection per request and with one kept-alive connection; the
  differences are the per-connection and per-request costs.

Each pair (plain/bwrap, direct/proxied) is measured in turn, sample by sample,
so load from other work on the machine falls on both alike.

Prints medians in milliseconds; everything runs on loopback in a temporary folder.
"""

from __future__ import annotations

import argparse
import logging
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import anyio
import httpx
import uvicorn
from fastmcp import Client
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from mcp_servers.kit.egress import EgressTransport
from policies.sandbox_profile import SandboxMode, SandboxProfile
from sandbox import EgressProxy, launch

ECHO_SERVER = textwrap.dedent("""
    from fastmcp import FastMCP
    mcp = FastMCP("echo")

    @mcp.tool
    def echo(text: str) -> str:
        return text

    mcp.run(show_banner=False, log_level="WARNING")
""")


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench_spawn(data_dir: Path, count: int) -> None:
    print(f"spawn (launch until exit), median of {count}, plain and bwrap interleaved")
    for label, command in (("/usr/bin/true", ["/usr/bin/true"]),
                           ("python -c pass", [sys.executable, "-c", "pass"])):
        samples: dict[SandboxMode, list[float]] = {SandboxMode.OFF: [], SandboxMode.STRICT: []}
        for _ in range(count):
            for mode in samples:
                start = time.perf_counter()
                with launch("bench", SandboxProfile(mode=mode), command, data_dir=data_dir,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL) as process:
                    process.wait(60)
                samples[mode].append(time.perf_counter() - start)
        plain, bwrap = (_median_ms(samples[m]) for m in (SandboxMode.OFF, SandboxMode.STRICT))
        print(f"  {label:<16} plain {plain:7.1f} ms   bwrap {bwrap:7.1f} ms   "
              f"overhead {bwrap - plain:6.1f} ms")


async def bench_messages(data_dir: Path, count: int) -> None:
    print(f"MCP tools/call over stdio, median of {count}, the two servers called in turn")
    code = data_dir / "code"
    code.mkdir()
    (code / "echo_server.py").write_text(ECHO_SERVER)
    plain = launch("bench", SandboxProfile(mode=SandboxMode.OFF),
                   [sys.executable, str(code / "echo_server.py")], data_dir=data_dir)
    boxed = launch("bench", SandboxProfile(), [sys.executable, "/code/echo_server.py"],
                   data_dir=data_dir, ro_binds=[(str(code), "/code")])
    samples: dict[str, list[float]] = {"plain": [], "bwrap": []}
    try:
        async with Client(plain.transport()) as plain_client, \
                Client(boxed.transport()) as boxed_client:
            clients = {"plain": plain_client, "bwrap": boxed_client}
            for index in range(20 + count):
                for name, client in clients.items():
                    start = time.perf_counter()
                    await client.call_tool("echo", {"text": f"message {index}"})
                    if index >= 20:  # after warm-up
                        samples[name].append(time.perf_counter() - start)
    finally:
        plain.close()
        boxed.close()
    a, b = _median_ms(samples["plain"]), _median_ms(samples["bwrap"])
    print(f"  plain {a:.3f} ms   bwrap {b:.3f} ms   overhead {(b - a) * 1000:.0f} µs")


async def bench_proxy(data_dir: Path, count: int) -> None:
    print(f"egress proxy, median of {count} GETs, direct and proxied in turn")
    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("ok"))])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    proxy = EgressProxy("bench", [f"127.0.0.1:{port}"], data_dir / "proxy.sock",
                        audit=lambda event: None)
    await proxy.start()
    url = f"http://127.0.0.1:{port}/"
    fresh: dict[bool, list[float]] = {False: [], True: []}
    kept: dict[bool, list[float]] = {False: [], True: []}

    def client(through_proxy: bool) -> httpx.AsyncClient:
        if through_proxy:
            return httpx.AsyncClient(transport=EgressTransport(str(proxy.socket_path)))
        return httpx.AsyncClient()

    async with anyio.create_task_group() as group:
        group.start_soon(server.serve)
        with anyio.fail_after(15):
            while not server.started:
                await anyio.sleep(0.01)
        for _ in range(count):  # a new connection each time
            for through_proxy in (False, True):
                async with client(through_proxy) as one:
                    start = time.perf_counter()
                    await one.get(url)
                    fresh[through_proxy].append(time.perf_counter() - start)
        async with client(False) as direct, client(True) as proxied:  # kept-alive
            pair = {False: direct, True: proxied}
            for index in range(count + 1):
                for through_proxy, one in pair.items():
                    start = time.perf_counter()
                    await one.get(url)
                    if index:
                        kept[through_proxy].append(time.perf_counter() - start)
        server.should_exit = True
    await proxy.aclose()
    (direct_new, proxy_new), (direct_kept, proxy_kept) = (
        (_median_ms(d[False]), _median_ms(d[True])) for d in (fresh, kept))
    print(f"  new connection: direct {direct_new:.3f} ms   proxy {proxy_new:.3f} ms   "
          f"overhead {proxy_new - direct_new:.3f} ms")
    print(f"  kept-alive:     direct {direct_kept:.3f} ms   proxy {proxy_kept:.3f} ms   "
          f"overhead {(proxy_kept - direct_kept) * 1000:.0f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spawns", type=int, default=20)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    logging.getLogger("tessera.sandbox").setLevel(logging.ERROR)  # one line per launch otherwise
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as folder:
        data_dir = Path(folder)
        bench_spawn(data_dir, args.spawns)
        anyio.run(bench_messages, data_dir, args.messages)
        anyio.run(bench_proxy, data_dir, args.requests)


if __name__ == "__main__":
    main()

"""Benchmark: what the host adds to a run, alone and under 200 concurrent chat sessions.

Run:  .venv/bin/python -m evals.bench.host_overhead [--runs 50] [--concurrent 200]
                                                    [--model-latency-ms 0] [--workers 1]

A real `tessera host` process (the memory server spawned in its bubblewrap
sandbox, the shipped policies, a scratch database `tessera_bench_host`) is driven
over HTTP + SSE by this process, against a zero-latency OpenAI-compatible model
served here on loopback. Each chat turn is one tool-calling turn (the model asks
for `memory.recall`) and one answer turn. Host overhead = the whole turn as the
client sees it, minus the time the tool itself took (reported by the host in its
tool_call_finished event), so it counts HTTP, auth, policy, budgets, the
database writes of the run record, LiteLLM and MCP framing (and, with
--model-latency-ms, minus the model's own latency). With a zero-latency model the
concurrent phase is a throughput test: every session wants the CPU at once. A
model that takes as long as a real one (e.g. --model-latency-ms 2000) shows what
the host adds while it holds that many sessions open. Figures are printed as
p50 / p95 in milliseconds. BENCH_HOST_PREFIX='py-spy record -f speedscope -o host.json --'
profiles the host process.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import anyio
import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from evals.bench.scratch import scratch_database
from mcp_servers.kit.context import CallContext, ContextSigner, load_signing_key
from mcp_servers.kit.settings import Settings

BENCH_DB = "tessera_bench_host"


def model_app(latency_s: float = 0.0) -> Starlette:
    """A model that takes `latency_s` per turn: a recall for a question, then an answer."""

    async def chat(request: Request) -> StreamingResponse:
        body = await request.json()
        if latency_s:
            await anyio.sleep(latency_s)
        last = body["messages"][-1]
        base = {"id": "b", "created": 0, "model": body["model"], "object": "chat.completion.chunk"}

        def chunk(delta: dict, finish: str | None = None) -> str:
            return "data: " + json.dumps({**base, "choices": [
                {"index": 0, "delta": delta, "finish_reason": finish}]}) + "\n\n"

        def events():
            if last["role"] == "user":
                call = {"index": 0, "id": f"c{uuid.uuid4().hex[:8]}", "type": "function",
                        "function": {"name": "memory__recall",
                                     "arguments": json.dumps({"query": last["content"][:100]})}}
                yield chunk({"role": "assistant", "tool_calls": [call]})
                yield chunk({}, "tool_calls")
            else:
                yield chunk({"role": "assistant", "content": "Here is what I found."})
                yield chunk({}, "stop")
            usage = {"prompt_tokens": 200, "completion_tokens": 10, "total_tokens": 210}
            yield "data: " + json.dumps({**base, "choices": [], "usage": usage}) + "\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by the host: the process and its worker processes.

    The sandboxed servers it spawns are not counted (their time is the tools' time).
    """
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for proc in [pid, *_descendants(pid)]:
        try:
            cmdline = Path(f"/proc/{proc}/cmdline").read_bytes()
            fields = Path(f"/proc/{proc}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        if proc == pid or b"spawn_main" in cmdline:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def one_turn(client: httpx.AsyncClient, base: str, token: str) -> tuple[float, float]:
    """(whole turn, tool time) in ms, as the client and the host's events tell."""
    started = time.perf_counter()
    tool_ms, status = 0.0, None
    async with client.stream("POST", f"{base}/v1/chat", json={"message": "scrap rate on M-001"},
                             headers={"Authorization": f"Bearer {token}"}) as response:
        if response.status_code != 200:
            raise RuntimeError(f"chat answered {response.status_code}: {await response.aread()}")
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data = json.loads(line[5:])
                if event == "tool_call_finished":
                    tool_ms += data["duration_ms"]
                elif event == "run_finished":
                    status = data["status"]
    if status != "finished":
        raise RuntimeError(f"run ended {status}")
    return (time.perf_counter() - started) * 1000, tool_ms


async def bench(settings: Settings, runs: int, concurrent: int, latency_ms: float,
                workers: int) -> None:
    signer = ContextSigner(load_signing_key(settings.signing_key_path), issuer="tessera-host",
                           ttl_s=3600)
    model_port, host_port = free_port(), free_port()
    model_server = uvicorn.Server(uvicorn.Config(model_app(latency_ms / 1000), host="127.0.0.1",
                                                 port=model_port, log_level="warning"))
    env = {**os.environ, "TESSERA_DATABASE_URL": settings.require_database_url(),
           "TESSERA_DATABASE_ADMIN_URL": settings.database_admin_url.get_secret_value(),
           "TESSERA_DATABASE_POOL_MAX": "20",
           "TESSERA_CONTEXT_SIGNING_KEY_FILE": str(settings.signing_key_path),
           "TESSERA_CONTEXT_VERIFICATION_KEYS_FILE": str(settings.verification_keys_path),
           "TESSERA_HOST_LLM_API_BASE": f"http://127.0.0.1:{model_port}/v1",
           "TESSERA_HOST_LLM_MODEL": "openai/bench", "TESSERA_HOST_SERVERS": '["memory"]',
           "TESSERA_LOG_LEVEL": "WARNING"}
    prefix = os.environ.get("BENCH_HOST_PREFIX", "").split()  # e.g. a profiler
    host = subprocess.Popen([*prefix, sys.executable, "-m", "tessera", "host", "--port", str(host_port),
                             "--workers", str(workers)],
                            env=env, start_new_session=True)
    base = f"http://127.0.0.1:{host_port}"

    def token(user: str) -> str:
        return signer.sign(CallContext(tenant="acme", user=user, roles=("viewer",)), audience="tessera")

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(model_server.serve)
            async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=1000)) as client:
                with anyio.fail_after(180):
                    while True:
                        try:
                            if (await client.get(f"{base}/readyz")).status_code == 200:
                                break
                        except httpx.HTTPError:
                            pass
                        await anyio.sleep(0.3)
                await one_turn(client, base, token("warmup@acme.example"))
                cpu = cpu_seconds(host.pid)
                sequential = [await one_turn(client, base, token(f"seq{i}@acme.example"))
                              for i in range(runs)]
                report("sequential runs", sequential, latency_ms)
                print(f"  host process CPU per turn {(cpu_seconds(host.pid) - cpu) * 1000 / (2 * runs):.1f} ms")

                results: list[tuple[float, float]] = []
                if not concurrent:
                    model_server.should_exit = True
                    return

                async def session(index: int) -> None:
                    results.append(await one_turn(client, base, token(f"c{index}@acme.example")))

                started, cpu = time.perf_counter(), cpu_seconds(host.pid)
                async with anyio.create_task_group() as sessions:
                    for index in range(concurrent):
                        sessions.start_soon(session, index)
                wall = time.perf_counter() - started
                report(f"{concurrent} concurrent SSE sessions", results, latency_ms)
                print(f"  all {concurrent} sessions done in {wall:.1f} s "
                      f"({concurrent / wall:.1f} runs/s, {2 * concurrent / wall:.1f} turns/s)")
                print(f"  host process CPU per turn {(cpu_seconds(host.pid) - cpu) * 1000 / (2 * concurrent):.1f} ms")
            model_server.should_exit = True
    finally:
        os.killpg(host.pid, signal.SIGTERM)
        try:
            host.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(host.pid, signal.SIGKILL)


def report(label: str, samples: list[tuple[float, float]], latency_ms: float) -> None:
    totals = [total for total, _ in samples]
    overhead = [total - tool - 2 * latency_ms for total, tool in samples]
    per_turn = [value / 2 for value in overhead]  # a tool-calling turn and an answer turn
    print(f"{label} (n={len(samples)}, model latency {latency_ms:g} ms per turn):")
    print(f"  whole run            p50 {statistics.median(totals):7.1f} ms   p95 {percentile(totals, .95):7.1f} ms")
    print(f"  host overhead / run  p50 {statistics.median(overhead):7.1f} ms   p95 {percentile(overhead, .95):7.1f} ms")
    print(f"  host overhead / turn p50 {statistics.median(per_turn):7.1f} ms   p95 {percentile(per_turn, .95):7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="sequential runs (default 50)")
    parser.add_argument("--concurrent", type=int, default=200, help="concurrent sessions (default 200)")
    parser.add_argument("--workers", type=int, default=1, help="host worker processes (default 1)")
    parser.add_argument("--model-latency-ms", type=float, default=0.0,
                        help="how long the model takes per turn (default 0)")
    args = parser.parse_args()
    with scratch_database(BENCH_DB) as settings:
        anyio.run(bench, settings, args.runs, args.concurrent, args.model_latency_ms,
                  args.workers)


if __name__ == "__main__":
    main()

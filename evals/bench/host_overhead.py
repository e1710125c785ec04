"""Benchmark: what the host adds to a run, alone and under 200 concurrent chat sessions.

Run:  .venv/bin/python -m evals.bench.host_overhead [--runs 50] [--concurrent 200]
          [--model-latency-ms 0] [--jitter 0] [--token-ms 0] [--answer-tokens 40]
          [--provider hosted_vllm] [--duration-s 0] [--workers 1]

A real `tessera host` (the memory server spawned in its bubblewrap sandbox, the
shipped policies, a scratch database `tessera_bench_host`; --workers N processes)
is driven over HTTP + SSE by this process, against an OpenAI-compatible model
served here on loopback. Each chat run is one tool-calling turn (the model asks
for `memory.recall`) and one answer turn. The model streams like vLLM: a chunk per
token, the tool call's arguments in pieces of a few characters, the answer in
--answer-tokens chunks, after --model-latency-ms to its first token and
--token-ms between tokens. Host overhead = the run as the client sees it, minus
the tool's own time (the host's tool_call_finished events) and minus the model's
own time (the model server records how long each of its replies took), so it
counts HTTP, auth, rate limits, policy, budgets, the database writes of the run
record, LiteLLM and MCP framing, and any wait for the CPU.

Phases: `--runs` runs one at a time; then `--concurrent` sessions at once, either
one run each started at the same instant (the default: with a zero-latency model a
throughput test), or with --duration-s turn after turn for that long, started
spread out (sustained load: `concurrent` runs in flight all the time). A model
that takes as long as a real one (--model-latency-ms 500 --jitter 0.5
--token-ms 40) shows what the host adds while it holds that many sessions. Also
printed: the host's CPU time per turn (all its worker processes, not the
sandboxed servers), which load from other programs disturbs far less than wall
time. Figures are p50 / p95 in milliseconds. `python -m evals.bench.model_client`
shows what the model client (LiteLLM) costs per call and per streamed token.
BENCH_HOST_PREFIX='py-spy record -f speedscope -o host.json --' profiles a
one-worker host.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import uvicorn

from evals.bench.scratch import scratch_database
from evals.bench.stub_model import ModelLog, ModelShape, free_port, model_app
from mcp_servers.kit.context import CallContext, ContextSigner, load_signing_key
from mcp_servers.kit.settings import Settings

BENCH_DB = "tessera_bench_host"


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


@dataclass(frozen=True)
class Sample:
    """One run, in ms: as the client saw it, the tool's and the model's time, the host's turn gap."""

    total: float
    elsewhere: float  # tool + model
    turn_gap: float  # the host's part of the tool-calling turn, the tool's time taken out


class RunFailed(Exception):
    """A run that did not finish with an answer (the host stopped it: its answer says why)."""


async def one_turn(client: httpx.AsyncClient, base: str, token: str, log: ModelLog) -> Sample:
    """One chat run, timed by the client, the host's events and the model (see `Sample`)."""
    tag = uuid.uuid4().hex[:12]
    started = time.perf_counter()
    tool_ms, status, answer = 0.0, None, ""
    async with client.stream("POST", f"{base}/v1/chat",
                             json={"message": f"scrap rate on M-001 [{tag}]"},
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
                elif event == "answer":
                    answer = data["text"]
                elif event == "run_finished":
                    status = data["status"]
    model_ms, gap_ms = log.take(tag)
    if status != "finished":
        raise RunFailed(f"run ended {status}: {answer}")
    if gap_ms is None:
        raise RuntimeError("the model saw no second turn")
    return Sample(total=(time.perf_counter() - started) * 1000, elsewhere=tool_ms + model_ms,
                  turn_gap=gap_ms - tool_ms)


@dataclass(frozen=True)
class Load:
    runs: int  # sequential runs
    concurrent: int  # sessions open at once
    model: ModelShape  # how the model answers
    provider: str  # LiteLLM's provider prefix for the endpoint
    duration_s: float  # > 0: each session runs turn after turn this long (sustained load)
    workers: int  # host worker processes


async def bench(settings: Settings, load: Load) -> None:
    signer = ContextSigner(load_signing_key(settings.signing_key_path), issuer="tessera-host",
                           ttl_s=3600)
    log = ModelLog()
    model_port, host_port = free_port(), free_port()
    model_server = uvicorn.Server(uvicorn.Config(
        model_app(load.model, log), host="127.0.0.1", port=model_port,
        log_level="warning"))
    env = {**os.environ, "TESSERA_DATABASE_URL": settings.require_database_url(),
           "TESSERA_DATABASE_ADMIN_URL": settings.database_admin_url.get_secret_value(),
           "TESSERA_DATABASE_POOL_MAX": "20",
           "TESSERA_CONTEXT_SIGNING_KEY_FILE": str(settings.signing_key_path),
           "TESSERA_CONTEXT_VERIFICATION_KEYS_FILE": str(settings.verification_keys_path),
           "TESSERA_HOST_LLM_API_BASE": f"http://127.0.0.1:{model_port}/v1",
           "TESSERA_HOST_LLM_MODEL": f"{load.provider}/bench", "TESSERA_HOST_SERVERS": '["memory"]',
           "TESSERA_HOST_RATE_LIMIT_PER_MINUTE": "100000", "TESSERA_LOG_LEVEL": "WARNING"}
    prefix = os.environ.get("BENCH_HOST_PREFIX", "").split()  # e.g. a profiler
    host = subprocess.Popen([*prefix, sys.executable, "-m", "tessera", "host", "--port", str(host_port),
                             "--workers", str(load.workers)],
                            env=env, start_new_session=True)
    base = f"http://127.0.0.1:{host_port}"

    def token(user: str) -> str:
        return signer.sign(CallContext(tenant="acme", user=user, roles=("viewer",)), audience="tessera")

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(model_server.serve)
            limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
            async with httpx.AsyncClient(timeout=300, limits=limits) as client:
                with anyio.fail_after(180):
                    while True:
                        try:
                            if (await client.get(f"{base}/readyz")).status_code == 200:
                                break
                        except httpx.HTTPError:
                            pass
                        await anyio.sleep(0.3)
                await one_turn(client, base, token("warmup@acme.example"), log)
                cpu = cpu_seconds(host.pid)
                sequential = [await one_turn(client, base, token(f"seq{i}@acme.example"), log)
                              for i in range(load.runs)]
                if sequential:
                    report("sequential runs", sequential, load)
                    per_turn = (cpu_seconds(host.pid) - cpu) * 1000 / (2 * load.runs)
                    print(f"  host CPU per turn    {per_turn:.1f} ms")
                if load.concurrent:
                    await concurrent_phase(client, base, token, log, load, host.pid)
            model_server.should_exit = True
    finally:
        os.killpg(host.pid, signal.SIGTERM)
        try:
            host.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(host.pid, signal.SIGKILL)


async def concurrent_phase(client: httpx.AsyncClient, base: str, token, log: ModelLog,
                           load: Load, host_pid: int) -> None:
    """`load.concurrent` sessions at once: one run each, or turn after turn for `duration_s`.

    Sustained sessions start spread over the first two model turns, so they do not
    all ask at the same instant; runs that start in the first fifth of the duration
    warm the host up and are not counted.
    """
    results: list[Sample] = []
    started, cpu = time.perf_counter(), cpu_seconds(host_pid)
    deadline = started + load.duration_s
    counted_from = started + load.duration_s / 5
    counted_cpu: list[float] = []
    failed: list[str] = []

    async def session(index: int) -> None:
        user = token(f"c{index}@acme.example")
        await anyio.sleep(random.uniform(0, 2 * load.model.latency_s) if load.duration_s else 0)
        while True:
            begun = time.perf_counter()
            try:
                sample = await one_turn(client, base, user, log)
            except RunFailed as failure:
                failed.append(str(failure))
            else:
                if begun >= counted_from or not load.duration_s:
                    results.append(sample)
            if time.perf_counter() >= deadline:
                return

    async def mark_cpu() -> None:
        await anyio.sleep(max(0.0, counted_from - time.perf_counter()))
        counted_cpu.append(cpu_seconds(host_pid))

    lags: list[float] = []

    async def watch_lag() -> None:  # how late this process's own event loop runs
        while not finished:
            asked = time.perf_counter()
            await anyio.sleep(0.01)
            lags.append((time.perf_counter() - asked - 0.01) * 1000)

    finished = False
    async with anyio.create_task_group() as watch:
        watch.start_soon(watch_lag)
        async with anyio.create_task_group() as sessions:
            if load.duration_s:
                sessions.start_soon(mark_cpu)
            for index in range(load.concurrent):
                sessions.start_soon(session, index)
        finished = True
    wall = time.perf_counter() - started
    if load.duration_s:
        label = f"{load.concurrent} SSE sessions sustained for {load.duration_s:g} s"
        span, cpu = wall - load.duration_s / 5, counted_cpu[0]
    else:
        label, span = f"{load.concurrent} concurrent SSE sessions, one run each", wall
    report(label, results, load)
    if failed:
        print(f"  {len(failed)} runs did not finish, e.g. {failed[0][:160]}")
    print(f"  the benchmark's own event loop ran late by p50 {statistics.median(lags):.1f} ms, "
          f"p95 {percentile(lags, .95):.1f} ms (its timestamps are that late)")
    print(f"  {len(results)} runs in {span:.1f} s: {len(results) / span:.1f} runs/s, "
          f"{2 * len(results) / span:.1f} turns/s")
    print(f"  host CPU per turn    {(cpu_seconds(host_pid) - cpu) * 1000 / (2 * len(results)):.1f} ms")


def report(label: str, samples: list[Sample], load: Load) -> None:
    totals = [sample.total for sample in samples]
    overhead = [sample.total - sample.elsewhere for sample in samples]
    gaps = [sample.turn_gap for sample in samples]
    per_turn = [value / 2 for value in overhead]  # a tool-calling turn and an answer turn
    m = load.model
    print(f"{label} (n={len(samples)}, {load.provider}/ model: first token {m.latency_s * 1000:g} ms "
          f"± {m.jitter:.0%}, then {m.token_s * 1000:g} ms per token, {m.answer_tokens}-token answers; "
          f"{load.workers} host worker{'s' if load.workers > 1 else ''}):")
    print(f"  whole run            p50 {statistics.median(totals):7.1f} ms   p95 {percentile(totals, .95):7.1f} ms")
    print(f"  host overhead / run  p50 {statistics.median(overhead):7.1f} ms   p95 {percentile(overhead, .95):7.1f} ms")
    print(f"  host overhead / turn p50 {statistics.median(per_turn):7.1f} ms   p95 {percentile(per_turn, .95):7.1f} ms")
    print(f"  tool-calling turn gap p50 {statistics.median(gaps):6.1f} ms   p95 {percentile(gaps, .95):7.1f} ms"
          "   (tool call's last chunk to the next model request, tool time out)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="sequential runs (default 50)")
    parser.add_argument("--concurrent", type=int, default=200, help="concurrent sessions (default 200)")
    parser.add_argument("--workers", type=int, default=1, help="host worker processes (default 1)")
    parser.add_argument("--model-latency-ms", type=float, default=0.0,
                        help="the model's time to its first token in each turn (default 0)")
    parser.add_argument("--jitter", type=float, default=0.0,
                        help="that time varies by ± this fraction (default 0)")
    parser.add_argument("--token-ms", type=float, default=0.0,
                        help="the model's time between tokens (default 0)")
    parser.add_argument("--answer-tokens", type=int, default=40,
                        help="tokens in the answer, a chunk each (default 40)")
    parser.add_argument("--provider", default="hosted_vllm",
                        help="LiteLLM provider prefix: hosted_vllm (vLLM, default) or openai")
    parser.add_argument("--duration-s", type=float, default=0.0,
                        help="sustained load: sessions run turn after turn this long (default: "
                        "one run each)")
    args = parser.parse_args()
    model = ModelShape(latency_s=args.model_latency_ms / 1000, jitter=args.jitter,
                       token_s=args.token_ms / 1000, answer_tokens=args.answer_tokens)
    load = Load(runs=args.runs, concurrent=args.concurrent, model=model, provider=args.provider,
                duration_s=args.duration_s, workers=args.workers)
    with scratch_database(BENCH_DB) as settings:
        anyio.run(bench, settings, load)


if __name__ == "__main__":
    main()

"""Benchmark: what the host's model client (LiteLLM's Router) costs in CPU, per call and per token.

Run:  .venv/bin/python -m evals.bench.model_client [--calls 200] [--long 150]

The host's `ModelClient.complete` streams each reply from an OpenAI-compatible
model served by another process on loopback (`evals.bench.stub_model`: a chunk
per token), so only the client's CPU is counted. Three replies: a tool call
(its arguments in pieces of a few characters, as vLLM's tool parsers stream them),
a one-token answer and a `--long`-token answer; per extra token is the difference
of the two answers. Baseline: the same streams read with plain httpx and
`json.loads` per chunk, the least any client must do. Figures are CPU milliseconds
per call, the best of three rounds of `--calls` calls.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from importlib.metadata import version
from typing import Any

import anyio
import httpx

from evals.bench.stub_model import free_port
from host.llm import ModelClient
from host.settings import HostSettings

QUESTION = [{"role": "system", "content": "You are Tessera."},
            {"role": "user", "content": "scrap rate on M-001 [bench]"}]
ANSWER = [*QUESTION,
          {"role": "assistant", "content": None, "tool_calls": [{
              "id": "c1", "type": "function",
              "function": {"name": "memory__recall", "arguments": "{\"query\": \"scrap\"}"}}]},
          {"role": "tool", "tool_call_id": "c1", "content": "{\"memories\": []}"}]
TOOLS = [{"type": "function", "function": {
    "name": f"tool_{i}", "description": "Reads one thing from a plant system. " * 4,
    "parameters": {"type": "object", "properties": {"id": {"type": "string"}, "k": {"type": "integer"}}}}}
    for i in range(6)]


@contextmanager
def stub_server(answer_tokens: int):
    """The stub model, answering with `answer_tokens` tokens, in its own process."""
    port = free_port()
    code = ("import uvicorn\nfrom evals.bench.stub_model import ModelShape, model_app\n"
            f"uvicorn.run(model_app(ModelShape(answer_tokens={answer_tokens})), host='127.0.0.1', "
            f"port={port}, log_level='warning')\n")
    server = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the stub model did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait(10)


async def cpu_per_call(call: Callable[[], Awaitable[Any]], calls: int) -> float:
    for _ in range(10):
        await call()
    rounds = []
    for _ in range(3):
        started = time.process_time()
        for _ in range(calls):
            await call()
        rounds.append((time.process_time() - started) * 1000 / calls)
    return min(rounds)


async def measure(base: str, calls: int, provider: str | None) -> dict[str, float]:
    """CPU per call for the tool-call turn and the answer turn, with LiteLLM or (None) plain httpx."""
    results: dict[str, float] = {}
    if provider is None:
        async with httpx.AsyncClient() as client:
            for name, messages in (("tool call", QUESTION), ("answer", ANSWER)):
                async def raw(messages: list[dict[str, Any]] = messages) -> None:
                    body = {"model": "bench", "messages": messages, "tools": TOOLS, "stream": True}
                    async with client.stream("POST", f"{base}/chat/completions", json=body) as response:
                        async for line in response.aiter_lines():
                            if line.startswith("data: {"):
                                json.loads(line[6:])

                results[name] = await cpu_per_call(raw, calls)
        return results
    settings = HostSettings(_env_file=None, llm_api_base=base, llm_model=f"{provider}/bench")
    model = ModelClient(settings, production=False)
    model.prepare()

    async def ignore(_: str) -> None:
        return None

    for name, messages in (("tool call", QUESTION), ("answer", ANSWER)):
        async def complete(messages: list[dict[str, Any]] = messages) -> None:
            await model.complete(messages, TOOLS, tier="standard", on_delta=ignore)

        results[name] = await cpu_per_call(complete, calls)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per round (default 200)")
    parser.add_argument("--long", type=int, default=150, help="tokens in the long answer (default 150)")
    args = parser.parse_args()
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    clients: list[tuple[str, str | None]] = [
        ("plain httpx", None), ("LiteLLM Router", "openai"), ("LiteLLM Router", "hosted_vllm")]
    figures: dict[tuple[str, str | None], dict[str, float]] = {}
    for tokens in (1, args.long):
        with stub_server(tokens) as base:
            for label, provider in clients:
                measured = anyio.run(measure, base, args.calls, provider)
                figures.setdefault((label, provider), {"tool call": measured["tool call"]})
                figures[(label, provider)][f"answer {tokens}"] = measured["answer"]
    print(f"Model client CPU per call, ms (litellm {version('litellm')}, best of 3 x {args.calls} calls):")
    print(f"  {'client':<16} {'provider':<12} {'tool call':>10} {'answer 1 tok':>13} "
          f"{f'answer {args.long} tok':>15} {'per extra token':>16}")
    for (label, provider), row in figures.items():
        per_token = (row[f"answer {args.long}"] - row["answer 1"]) / (args.long - 1)
        print(f"  {label:<16} {provider or '-':<12} {row['tool call']:>10.2f} {row['answer 1']:>13.2f} "
              f"{row[f'answer {args.long}']:>15.2f} {per_token:>16.3f}")


if __name__ == "__main__":
    main()

"""Benchmark: tool-search index build time and `search_tools` latency on MetaTool's 199 tools.

Run:  .venv/bin/python -m evals.bench.tool_search [--model NAME] [--queries 500] [--examples 10]

It builds the product's `ToolCatalog` over MetaTool's 199 tool descriptions
(each with `--examples` example queries), three ways:

- cold: every descriptor embedded (an empty embedding cache), BM25 built;
- warm refresh: the same tools again (every vector from the cache), as after a
  server's `list_changed` that changed nothing;
- one tool changed: one description edited, so one descriptor is re-embedded.

Then it times `CatalogView.search(query, k=5)` for `--queries` MetaTool test
queries (embedding the query included) and prints p50 and p95 in milliseconds.
Needs the shared MetaTool data (TESSERA_SHARED_DATA).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import anyio
import numpy as np

from evals.tools import metatool
from host.discovery import DiscoverySettings, ToolCatalog
from mcp_servers.kit.embeddings.local import local_embedder


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def bench(model: str, queries: int, examples: int) -> None:
    split = metatool.load_split(metatool.data_dir(), n_examples=examples, max_test=queries)
    descriptors = split.descriptors(with_examples=examples > 0)
    embedder = local_embedder(model)
    await embedder.embed_documents(["warm the model up"])
    settings = DiscoverySettings(_env_file=None)

    started = time.perf_counter()
    catalog = await ToolCatalog.build(embedder, settings, descriptors)
    cold = _ms(started)

    started = time.perf_counter()
    await catalog.set_server_tools(metatool.SERVER, descriptors)
    warm = _ms(started)

    edited = [replace(d, description=d.description + " Now with more.") if i == 0 else d
              for i, d in enumerate(descriptors)]
    misses = catalog.cache.stats.misses
    started = time.perf_counter()
    await catalog.set_server_tools(metatool.SERVER, edited)
    one_changed = _ms(started)
    assert catalog.cache.stats.misses == misses + 1

    view = catalog.view(lambda name: True)
    for item in split.test[:10]:  # warm-up
        await view.search(item.query, 5)
    timings = []
    for item in split.test:
        started = time.perf_counter()
        await view.search(item.query, 5)
        timings.append(_ms(started))

    print(f"model {model}; {len(descriptors)} tools, {examples} example queries each")
    print(f"index build, cold (embed all):      {cold:8.1f} ms")
    print(f"refresh, nothing changed (cached):  {warm:8.1f} ms")
    print(f"refresh, one tool changed:          {one_changed:8.1f} ms")
    print(f"search_tools k=5 ({len(timings)} queries):  p50 {statistics.median(timings):.2f} ms  "
          f"p95 {float(np.percentile(timings, 95)):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="wordllama-l2-supercat-256")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--examples", type=int, default=10)
    args = parser.parse_args()
    anyio.run(bench, args.model, args.queries, args.examples)


if __name__ == "__main__":
    main()

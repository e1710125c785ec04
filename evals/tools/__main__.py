"""Run the tool-discovery eval and print its tables.

    python -m evals.tools [--dataset all|metatool|tessera] [--model NAME] [--examples 10]
                          [--test-queries 2000] [--seed 20261122] [--k K]

What each row means is in docs/tool-discovery.md. With the default model the
whole run takes well under a minute on two cores; all-minilm-l6-v2 takes a few
minutes (it embeds every test query with a transformer).
"""

from __future__ import annotations

import argparse
import sys
import time

import anyio

from evals.tools import metatool
from evals.tools.measure import HEADER, Report, row
from evals.tools.suite import Eval
from evals.tools.tokens import TOKENIZER_NAME
from host.discovery.calibration import min_score_for
from mcp_servers.kit.settings import Settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m evals.tools", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["all", "metatool", "tessera"], default="all")
    parser.add_argument("--model", default=None,
                        help="local embedding model (default: TESSERA_EMBEDDING_MODEL)")
    parser.add_argument("--examples", type=int, default=10,
                        help="MetaTool example queries indexed per tool in the 'with examples' rows")
    parser.add_argument("--test-queries", type=int, default=2000,
                        help="MetaTool test queries scored (seeded subsample)")
    parser.add_argument("--seed", type=int, default=metatool.SEED)
    parser.add_argument("--k", type=int, default=None,
                        help="tools search_tools shows the model (default: TESSERA_DISCOVERY_DEFAULT_K)")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> list[Report]:
    model = args.model or Settings().embedding_model
    started = time.perf_counter()
    evaluation = Eval(model, args.k)
    reports: list[Report] = []
    if args.dataset in ("all", "metatool"):
        reports += await evaluation.metatool(args)
    if args.dataset in ("all", "tessera"):
        reports += await evaluation.tessera()
    print(f"\nmodel {model}; tools shown per search = {evaluation.k}; tokens: {TOKENIZER_NAME}; "
          f"threshold {min_score_for(model):.2f}; {time.perf_counter() - started:.0f} s\n")
    print(HEADER)
    for report in reports:
        print(row(report))
    return reports


def main(argv: list[str] | None = None) -> None:
    anyio.run(run, parse_args(argv))


if __name__ == "__main__":
    main(sys.argv[1:])

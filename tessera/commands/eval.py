"""`tessera eval SUITE [ARGS...]`: run an evaluation suite from `evals/`.

Generic on purpose: it runs `python -m evals.SUITE ARGS...` in a subprocess from
the repository root, so a new suite (a folder `evals/<suite>/` with a
`__main__.py`) needs no change here, and the CLI never imports `evals/`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval", help="run an evaluation suite (e.g. retrieval)", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: tessera eval retrieval --dataset cranfield",
    )
    parser.add_argument("suite", help=f"a suite under evals/: {', '.join(suites()) or 'none'}")
    parser.add_argument("suite_args", nargs=argparse.REMAINDER, metavar="ARGS",
                        help="passed to the suite unchanged (see `tessera eval SUITE --help`)")
    parser.set_defaults(run=_run)


def suites() -> list[str]:
    root = REPO / "evals"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "__main__.py").is_file())


def _run(args: argparse.Namespace) -> int:
    if args.suite not in suites():
        raise ValueError(f"no evaluation suite {args.suite!r}; available: {', '.join(suites()) or 'none'}")
    return subprocess.call([sys.executable, "-m", f"evals.{args.suite}", *args.suite_args], cwd=REPO)

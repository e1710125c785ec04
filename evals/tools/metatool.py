"""MetaTool (HowieHwong/MetaTool, MIT): 199 tool descriptions and 20 614 query -> tool pairs.

The split is fixed by a seed and documented in docs/tool-discovery.md:

- 40 of the 199 tools (20 %, chosen by the seed) are the *held-out* tools: for the
  abstention measurement they are left out of the catalog and their queries
  become unservable.
- Each tool's distinct queries are shuffled by the seed; the first
  `n_examples` (default 10) are its *example queries* (indexed only in the
  "with examples" runs), the next `n_calibration` (3) calibrate the "no suitable
  tool" threshold, and the rest are test queries. No test query is ever indexed
  or used to calibrate.
- Test queries are subsampled (seeded) to keep the eval to a few minutes.
"""

from __future__ import annotations

import csv
import json
import os
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from evals.tools.measure import Labeled
from host.discovery import ToolDescriptor

SEED = 20261122
HELD_OUT_FRACTION = 0.2
SERVER = "metatool"


def data_dir() -> Path:
    shared = os.environ.get("TESSERA_SHARED_DATA")
    root = Path(shared) if shared else Path(__file__).resolve().parents[3] / "shared" / "data"
    return root / "tools" / "metatool"


@dataclass(frozen=True)
class MetaToolSplit:
    descriptions: dict[str, str]
    examples: dict[str, tuple[str, ...]]
    calibration: tuple[Labeled, ...]
    test: tuple[Labeled, ...]  # queries of every tool (the recall set)
    held_out: frozenset[str]  # tool names (namespaced)

    def descriptors(self, *, with_examples: bool, exclude: frozenset[str] = frozenset()
                    ) -> list[ToolDescriptor]:
        return [
            ToolDescriptor(name=name, description=description,
                           example_queries=self.examples[name] if with_examples else ())
            for name, description in sorted(self.descriptions.items()) if name not in exclude
        ]


def load_split(path: Path, *, n_examples: int = 10, n_calibration: int = 3,
               max_test: int = 2000, seed: int = SEED) -> MetaToolSplit:
    raw = json.loads((path / "plugin_des.json").read_text())
    descriptions = {f"{SERVER}.{tool}": text for tool, text in raw.items()}
    queries: dict[str, list[str]] = defaultdict(list)
    with (path / "all_clean_data.csv").open(newline="") as handle:
        for record in csv.DictReader(handle):
            queries[f"{SERVER}.{record['Tool']}"].append(record["Query"])

    rng = random.Random(seed)
    names = sorted(descriptions)
    held_out = frozenset(rng.sample(names, round(len(names) * HELD_OUT_FRACTION)))
    examples: dict[str, tuple[str, ...]] = {}
    calibration: list[Labeled] = []
    test: list[Labeled] = []
    for name in names:
        distinct = sorted(set(queries[name]))
        rng.shuffle(distinct)
        examples[name] = tuple(distinct[:n_examples])
        cut = n_examples + n_calibration
        calibration += [Labeled(q, name) for q in distinct[n_examples:cut]]
        test += [Labeled(q, name) for q in distinct[cut:]]
    # A query some tool carries as an example is never scored, for any tool.
    indexed = {q for shown in examples.values() for q in shown}
    calibration = [item for item in calibration if item.query not in indexed]
    test = [item for item in test if item.query not in indexed]
    rng.shuffle(test)
    return MetaToolSplit(descriptions, examples, tuple(calibration), tuple(test[:max_test]), held_out)

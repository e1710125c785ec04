"""CI-sized tool-selection eval: Tessera's golden set (and a MetaTool sample) above floors.

The floors sit below the figures in docs/tool-discovery.md so that a new tool
in some server does not break CI, while a real regression in ranking or in the
calibrated threshold does.
"""

from __future__ import annotations

import pytest

from evals.tools import metatool
from evals.tools.suite import HYBRID, Eval
from evals.tools.measure import evaluate
from evals.tools.tessera_set import tessera_set

pytestmark = pytest.mark.anyio


async def test_tessera_golden_set_recall_abstention_and_tokens(settings, anyio_backend):
    found = tessera_set(settings)
    assert len(found.servable) >= 15 and not found.skipped_servers
    evaluation = Eval(settings.embedding_model)
    catalog = await evaluation.catalog(found.descriptors, HYBRID, core=("memory.recall",))

    report = await evaluate("tessera", catalog, found.servable, found.unservable)

    assert report.recall_at_5 >= 0.80, report
    assert report.recall_at_1 >= 0.55, report
    assert report.abstention is not None and report.abstention >= 0.80, report
    assert report.false_abstention is not None and report.false_abstention <= 0.15, report
    assert report.found_shown >= 0.75, report
    assert report.token_reduction >= 0.75, report


async def test_metatool_sample_with_examples(anyio_backend):
    path = metatool.data_dir()
    if not path.exists():
        pytest.skip(f"MetaTool data not found at {path} (set TESSERA_SHARED_DATA)")
    split = metatool.load_split(path, max_test=300)
    evaluation = Eval("wordllama-l2-supercat-256")
    catalog = await evaluation.catalog(split.descriptors(with_examples=True))

    report = await evaluate("metatool", catalog, split.test)

    assert report.recall_at_5 >= 0.82, report
    assert report.token_reduction >= 0.80, report

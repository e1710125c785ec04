"""`tessera kb ingest PATH...`: load files or folders into a tenant's knowledge base.

It runs the kb server's own ingestion in this process (same parsing, chunking,
contextual headers, embeddings and atomic writes as the `kb.ingest` tool), with
a progress bar. Each file's URI is its absolute `file://` path, so ingesting a
folder again replaces changed files and skips unchanged ones.
"""

from __future__ import annotations

import argparse
import base64
from collections.abc import Iterator
from pathlib import Path

import anyio

from tessera import runtime

BATCH = 16
SUFFIXES = {".md", ".markdown", ".txt", ".text", ".html", ".htm", ".pdf", ".docx"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("kb", help="work with the knowledge base", description=__doc__)
    commands = parser.add_subparsers(dest="kb_command", metavar="ACTION", required=True)
    ingest = commands.add_parser(
        "ingest", help="ingest files and folders (md, txt, html, pdf, docx) with a progress bar",
        description="Ingest files, and the supported files under folders, into one tenant's "
        "knowledge base. Exits 1 when any file failed; each failure is listed with its reason.",
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    ingest.add_argument("--tenant", required=True, help="the tenant whose knowledge base to fill")
    ingest.add_argument("--owner", default="cli", help="owner recorded on each document")
    ingest.add_argument("--data-class", default="II", choices=["I", "II", "III", "IV"],
                        help="classification of every document (default II)")
    ingest.add_argument("--max-age-days", type=float, default=None,
                        help="flag the documents stale this many days from now")
    ingest.set_defaults(run=_ingest)


def files_under(paths: list[str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        elif path.is_file():
            yield path
        else:
            raise FileNotFoundError(2, "no such file", raw)


def _ingest(args: argparse.Namespace) -> int:
    files = list(files_under(args.paths))
    if not files:
        print("no supported files found (md, txt, html, pdf, docx)")
        return 1
    settings = runtime.prepared_settings()
    return anyio.run(_run, settings, files, args)


async def _run(settings, files: list[Path], args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from mcp_servers.kb import models as m
    from mcp_servers.kb.server import COLLECTION, build_service
    from mcp_servers.kb.settings import KbSettings
    from mcp_servers.kit.context import CallContext
    from mcp_servers.kit.spec import DataClass
    from mcp_servers.kit.store.vectors import claim_embedding_space

    store, service, embedder = build_service(settings, KbSettings())
    ctx = CallContext(tenant=args.tenant, user=args.owner, roles=("admin",), clearance=DataClass.IV)
    counts = {"created": 0, "replaced": 0, "unchanged": 0, "failed": 0}
    chunks = 0
    failures: list[str] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[chunks]} chunks"), TimeRemainingColumn())
    async with store:
        await claim_embedding_space(store, COLLECTION, embedder.info)
        with Progress(*columns) as progress:
            task = progress.add_task("ingesting", total=len(files), chunks=0)
            for start in range(0, len(files), BATCH):
                batch = files[start:start + BATCH]
                documents = [m.DocumentIn(
                    source_uri=path.resolve().as_uri(),
                    content_base64=base64.b64encode(path.read_bytes()).decode(),
                    data_class=DataClass(args.data_class), max_age_days=args.max_age_days,
                ) for path in batch]
                out = await service.ingest(ctx, m.IngestInput(documents=documents))
                for path, result in zip(batch, out.results, strict=True):
                    counts[result.status] += 1
                    chunks += result.chunks
                    if result.error is not None:
                        failures.append(f"{path}: {result.error.human_message}")
                progress.update(task, advance=len(batch), chunks=chunks)
    print(", ".join(f"{n} {status}" for status, n in counts.items()) + f"; {chunks} chunks "
          f"in tenant {args.tenant}")
    for failure in failures:
        print(f"failed: {failure}")
    return 1 if failures else 0

"""Loading the shared IR collections: documents, queries and graded relevance judgments.

The data lives in `TESSERA_SHARED_DATA` (default `<repo>/../shared/data`), read
as it is. Cranfield's relevance codes run 1 (complete answer) to 4 (minimum
interest), 5 or -1 for none; they become gains 4..1 and 0. Its `cranqrel`
numbers queries 1..225 in file order, not by the `.I` ids of `cran.qry`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Doc:
    doc_id: str
    title: str
    text: str


@dataclass(frozen=True)
class Collection:
    name: str
    docs: list[Doc]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]  # query id -> doc id -> gain


def shared_data() -> Path:
    return Path(os.environ.get("TESSERA_SHARED_DATA", REPO.parent / "shared" / "data"))


def load(name: str) -> Collection:
    folder = shared_data() / "ir" / name
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is missing; set TESSERA_SHARED_DATA")
    return {"cranfield": _cranfield, "vaswani": _vaswani}[name](folder)


def _smart_records(text: str) -> list[dict[str, str]]:
    records = []
    for chunk in re.split(r"^\.I\s+", text, flags=re.M)[1:]:
        number, _, body = chunk.partition("\n")
        fields = {"I": number.strip()}
        for field, value in re.findall(r"^\.([A-Z])\n(.*?)(?=^\.[A-Z]\n|\Z)", body, flags=re.M | re.S):
            fields[field] = " ".join(value.split())
        records.append(fields)
    return records


def _cranfield(folder: Path) -> Collection:
    docs = [Doc(r["I"], r.get("T", ""), r.get("W", ""))
            for r in _smart_records((folder / "cran.all.1400").read_text(errors="replace"))]
    queries = {str(n): r.get("W", "") for n, r in
               enumerate(_smart_records((folder / "cran.qry").read_text()), start=1)}
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "cranqrel").read_text().split("\n"):
        parts = line.split()
        if len(parts) >= 3:
            code = int(parts[2])
            qrels.setdefault(parts[0], {})[parts[1]] = 5 - code if 1 <= code <= 4 else 0
    return Collection("cranfield", docs, queries, qrels)


def _vaswani(folder: Path) -> Collection:
    raw = (folder / "doc-text.trec").read_text(errors="replace")
    docs = [Doc(number, "", " ".join(body.split())) for number, body in
            re.findall(r"<DOCNO>\s*(\S+?)\s*</DOCNO>(.*?)</DOC>", raw, flags=re.S)]
    topics = (folder / "query-text.trec").read_text()
    queries = {n: " ".join(t.split()).lower() for n, t in
               re.findall(r"<num>\s*(\S+?)\s*</num>\s*<title>(.*?)</title>", topics, flags=re.S)}
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels").read_text().split("\n"):
        parts = line.split()
        if len(parts) >= 4:
            qrels.setdefault(parts[0], {})[parts[2]] = int(parts[3])
    return Collection("vaswani", docs, queries, qrels)

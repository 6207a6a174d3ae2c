"""The pipeline's readings of public questions, one row each, for fitting and choosing.

All 32 SQuAD 2.0 dev articles' paragraphs go into one store (each paragraph a document, as
`brief eval` does), so every question is asked in open retrieval among all of them; only the
questions of the parts asked for are read.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from eval import metrics as M
from eval.runner import throwaway_desk
from eval.sets_io import spread, squad_questions
from eval.squad import split_of
from rag.questions.answer import Answerer
from rag.questions.reading import EvidenceReader
from rag.questions.retrieve import Scope


@dataclass
class Row:
    id: str
    article: str
    part: str
    answerable: bool
    features: dict[str, float]
    short: str | None  # the reading's span (None: no window yields one)
    right: bool  # the span holds a gold answer
    sentence_right: bool  # the sentence it is quoted from holds one
    source_hit: bool  # the gold paragraph is among the retrieved sources
    ms: float


def open_store(desk, data: Path, work: Path, progress=None):
    """A desk over every article of ``data``: built once in ``work`` and reused (ingest skips
    unchanged files), sharing ``desk``'s loaded models."""
    documents = squad_questions(data, split_of(data), "all", None).documents
    root = work / "store"
    return throwaway_desk(desk, root, documents, progress)


def part_rows(data: Path, part: str) -> list[dict]:
    return squad_questions(data, split_of(data), part, None).rows


def read_row(answerer: Answerer, reader: EvidenceReader, row: dict, part: str) -> Row:
    began = time.perf_counter()
    retrieved, evidence = answerer.gather_evidence(row["question"], Scope())
    reading = reader.read(row["question"], evidence)
    found = reading.found
    gold = row["gold_short_answers"]
    sources = {r.chunk.source for r in retrieved}
    return Row(
        id=row["id"],
        article=row["article"],
        part=part,
        answerable=row["answerable"],
        features=reading.features,
        short=found.short if found else None,
        right=bool(found and gold and M.contains_gold(found.short, gold)),
        sentence_right=bool(found and gold and M.contains_gold(found.carrier.text, gold)),
        source_hit=bool(set(row["gold_sources"]) & sources),
        ms=round(1000 * (time.perf_counter() - began), 1),
    )


def build_table(desk, data: Path, parts: list[str], log=print, limit: int | None = None) -> list[Row]:
    """Each part's questions read (``limit``: only that many of each, spread over its articles)."""
    answerer, reader = Answerer(desk), EvidenceReader(desk)
    rows: list[Row] = []
    for part in parts:
        questions = spread(part_rows(data, part), limit)
        for i, row in enumerate(questions, 1):
            rows.append(read_row(answerer, reader, row, part))
            if i % 200 == 0:
                log(f"{part}: {i}/{len(questions)} read")
    return rows


def save_table(rows: list[Row], path: Path, about: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"about": about, "rows": [asdict(r) for r in rows]}), encoding="utf-8")


def load_table(path: Path) -> tuple[dict, list[Row]]:
    """A saved table; ValueError naming the problem when it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return data["about"], [Row(**r) for r in data["rows"]]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a table saved by fit.refusal ({type(exc).__name__})") from None

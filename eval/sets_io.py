"""Eval questions from either of the two formats `brief eval --set` reads, restricted to a split.

- Our JSONL rows (`id`, `question`, `gold_short_answers`, `gold_sources`, `answerable`): asked of the
  user's store, which must hold the articles the set was written from.
- The official SQuAD 2.0 JSON: every paragraph becomes a document of a throwaway store (built by the
  runner), and every question is asked of that whole store; the gold passage is the question's own
  paragraph.

Sets that anything was fitted or tuned on have a fitting and a reporting part, by article, recorded in
eval/sets/splits.json; such a set defaults to its reporting part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from eval import metrics as M
from eval import squad

SPLIT_PARTS = ("all", "fit", "choose", "report")
STORE_SCOPES = ("all", "part")  # SQuAD sets: store every article of the file, or only the asked ones
SETS_DIR = Path(__file__).parent / "sets"  # package data: a plain folder in a wheel too


def eval_set_path(settings) -> Path:
    """The eval set `brief eval` runs when none is given: the user's setting, else the shipped seeds set."""
    return settings.eval_set or SETS_DIR / "seeds.jsonl"


def support_set_path(settings) -> Path:
    """The labelled support pairs: the user's setting, else the shipped ones."""
    return settings.support_set or SETS_DIR / "support.jsonl"


@dataclass
class EvalSet:
    name: str
    rows: list[dict]  # eval rows; each also has 'gold_answers': flat list for official EM/F1
    split: str  # all | fit | report
    documents: dict[str, str] = field(default_factory=dict)  # SQuAD: source name -> text to ingest
    articles: list[str] = field(default_factory=list)

    @property
    def needs_own_store(self) -> bool:
        return bool(self.documents)


def load_eval_questions(
    path: Path,
    split: str | None = None,
    articles: str | None = None,
    limit: int | None = None,
    store: str = "all",
) -> EvalSet:
    """Read a set, keep one part of its split, then the chosen articles, then `limit` questions
    spread evenly over what is left. ValueError with the reason on anything wrong."""
    spec = squad.split_of(path)
    part = split or ("report" if spec else "all")
    if part not in SPLIT_PARTS:
        raise ValueError(f"unknown split '{part}' (use one of {', '.join(SPLIT_PARTS)})")
    if part != "all" and not spec:
        raise ValueError(
            f"no fitting/reporting split is recorded for {Path(path).name} in {squad.SPLITS_FILE.name}; use --split all"
        )
    if part != "all" and part not in spec:
        raise ValueError(f"{Path(path).name} has no '{part}' part in {squad.SPLITS_FILE.name}")
    if squad.is_squad_file(path):
        if store not in STORE_SCOPES:
            raise ValueError(f"unknown store scope '{store}' (use one of {', '.join(STORE_SCOPES)})")
        evalset = squad_questions(path, spec, part, articles, store)
    else:
        if articles:
            raise ValueError("--articles applies to SQuAD JSON sets only")
        rows = [with_flat_golds(r) for r in M.load_eval_set(path)]
        evalset = EvalSet(
            Path(path).name, [r for r in rows if part == "all" or row_part(r, spec) == part], part
        )
    evalset.rows = spread(evalset.rows, limit)
    if not evalset.rows:
        raise ValueError(f"no questions in the '{part}' part")
    return evalset


def with_flat_golds(row: dict) -> dict:
    return {**row, "gold_answers": [a for aliases in row["gold_short_answers"] for a in aliases]}


def row_part(row: dict, spec: dict) -> str:
    """'report' when every gold source is a reporting article (or, unanswerable, its id is listed)."""
    if not row["answerable"]:
        return "report" if row["id"] in spec.get("unanswerable_report", []) else "fit"
    return "report" if set(row["gold_sources"]) <= set(spec["report"]) else "fit"


def spread(rows: list[dict], limit: int | None) -> list[dict]:
    """`limit` rows evenly spaced over the set, so a quick run still sees every article."""
    if not limit or limit >= len(rows):
        return rows
    step = len(rows) / limit
    return [rows[int(i * step)] for i in range(limit)]


def squad_questions(
    path: Path, spec: dict | None, part: str, articles: str | None, store: str = "all"
) -> EvalSet:
    """The part's questions; the store holds every article of the file (``store`` 'all': open
    retrieval among all of them) or only the part's chosen articles ('part')."""
    everything = squad.load_squad(path)
    chosen = everything if part == "all" else squad.select_articles(everything, spec[part])
    chosen = pick_articles(chosen, articles)
    stored = everything if store == "all" else chosen
    documents = {
        paragraph_source(a.title, i): paragraph_document(a.title, text)
        for a in stored
        for i, text in enumerate(a.paragraphs)
    }
    rows = [squad_row(q, paragraph_source(a.title, q.paragraph)) for a in chosen for q in a.questions]
    return EvalSet(Path(path).name, rows, part, documents, [a.title for a in chosen])


def pick_articles(articles: list[squad.SquadArticle], wanted: str | None) -> list[squad.SquadArticle]:
    """`--articles 2` keeps the first two; `--articles "Title A,Title B"` keeps those."""
    if not wanted:
        return articles
    if wanted.strip().isdigit():
        return articles[: int(wanted)]
    return squad.select_articles(articles, [t.strip() for t in wanted.split(",") if t.strip()])


def paragraph_source(title: str, index: int) -> str:
    slug = re.sub(r"[^\w-]+", "_", title).strip("_")
    return f"{slug}-p{index:03d}.txt"


def paragraph_document(title: str, paragraph: str) -> str:
    """A title line, so the loader takes the headline from it rather than from the paragraph."""
    return f"{title.replace('_', ' ')}\n\n{paragraph}\n"


def squad_row(q: squad.SquadQuestion, source: str) -> dict:
    golds = list(dict.fromkeys(q.answers))
    return {
        "id": q.id,
        "question": q.question,
        "answerable": q.answerable,
        "gold_sources": [source] if q.answerable else [],
        "gold_short_answers": [golds] if golds else [],
        "gold_answers": golds,
        "article": q.article,
    }

"""`python -m fit.coverage`: choose descriptive_min_coverage (rag/questions/answer_describe.py) on public data.

A descriptive question is refused only when the articles do not cover its subject: when less than
descriptive_min_coverage of the subject's names and content terms are found in the best retrieved
sentences. Labelled data for that: SQuAD 2.0 train questions that the question-form classifier sends
to the descriptive path, asked of a store that holds some articles' paragraphs. A question about a
stored article is covered (the store speaks of its subject, answerable or not); one about an article
left out is not. The articles come from the question-form set's fitting part (eval/sets/splits.json),
shuffled with a fixed seed and dealt into four groups: stored and left out, each for choosing and for
reporting. The threshold is the one of best balanced accuracy (covered and uncovered questions weigh
the same) on the choosing questions; it is reported on the reporting questions, which nothing chose.
Writes eval/sets/coverage_report.json and prints the threshold for rag/config/settings_modes.py.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from eval import squad
from eval.runner import throwaway_desk
from eval.sets_io import paragraph_document, paragraph_source
from fit.question_form.data import SPLIT_KEY, SQUAD_TRAIN

REPORT = squad.SPLITS_FILE.parent / "coverage_report.json"
ARTICLES_PER_GROUP = 6  # stored/left out x choosing/reporting: 24 articles
GROUPS = ("stored_choose", "stored_report", "outside_choose", "outside_report")
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(21))
SEED = 0


def deal_articles(
    articles: list[squad.SquadArticle], seed: int = SEED
) -> dict[str, list[squad.SquadArticle]]:
    fitting = set(squad.load_splits()[SPLIT_KEY]["fit"])
    pool = sorted((a for a in articles if a.title in fitting), key=lambda a: a.title)
    random.Random(seed).shuffle(pool)
    return {g: pool[i * ARTICLES_PER_GROUP : (i + 1) * ARTICLES_PER_GROUP] for i, g in enumerate(GROUPS)}


def descriptive_questions(groups: dict[str, list[squad.SquadArticle]]) -> list[dict]:
    """The questions of every group that the classifier routes to the descriptive path."""
    from rag.questions.question_form import load_question_form_model

    model = load_question_form_model()
    rows = []
    for group, articles in groups.items():
        for q in (q for a in articles for q in a.questions):
            if model.classify(q.question) == "descriptive":
                rows.append({"question": q.question, "group": group, "covered": group.startswith("stored")})
    return rows


def measure(rows: list[dict], desk, log=print) -> None:
    """Each row's coverage, as the descriptive path computes it."""
    from rag.questions.question_parts import subject_of
    from rag.questions.retrieve import Scope
    from rag.questions.statements import coverage, gather

    s = desk.settings
    for i, row in enumerate(rows, 1):
        gathered = gather(desk, row["question"], Scope(), s.mode_retrieval_k)
        pool = gathered.sentences[: s.descriptive_coverage_pool]
        row["coverage"] = round(coverage(subject_of(row["question"]), pool, gathered.aliases), 4)
        if i % 25 == 0:
            log(f"{i}/{len(rows)}")


def balanced_accuracy(rows: list[dict], threshold: float) -> dict:
    covered = [r for r in rows if r["covered"]]
    outside = [r for r in rows if not r["covered"]]
    answered = sum(r["coverage"] >= threshold for r in covered) / max(1, len(covered))
    refused = sum(r["coverage"] < threshold for r in outside) / max(1, len(outside))
    return {
        "balanced_accuracy": round((answered + refused) / 2, 4),
        "covered_answered": round(answered, 4),
        "uncovered_refused": round(refused, 4),
        "n_covered": len(covered),
        "n_uncovered": len(outside),
    }


def choose(rows: list[dict]) -> tuple[float, dict]:
    """The threshold of best balanced accuracy on the choosing rows (ties: the lower, refusing less)."""
    choosing = [r for r in rows if r["group"].endswith("choose")]
    scored = {t: balanced_accuracy(choosing, t) for t in THRESHOLD_GRID}
    best = max(scored, key=lambda t: (scored[t]["balanced_accuracy"], -t))
    return best, scored[best]


def store_of(groups: dict[str, list[squad.SquadArticle]], work: Path):
    from rag.config.settings import load_settings
    from rag.store.desk import Desk

    stored = groups["stored_choose"] + groups["stored_report"]
    documents = {
        paragraph_source(a.title, i): paragraph_document(a.title, p)
        for a in stored
        for i, p in enumerate(a.paragraphs)
    }
    return throwaway_desk(Desk(load_settings(llm_backend="extractive")), work, documents, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fit.coverage", description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/fit_coverage"), help="the throwaway store")
    args = parser.parse_args(argv)
    groups = deal_articles(squad.load_squad(SQUAD_TRAIN))
    rows = descriptive_questions(groups)
    measure(rows, store_of(groups, args.work))
    threshold, chosen = choose(rows)
    reporting = [r for r in rows if r["group"].endswith("report")]
    report = {
        "articles": {g: [a.title for a in articles] for g, articles in groups.items()},
        "questions": len(rows),
        "descriptive_min_coverage": threshold,
        "choose": chosen,
        "report": balanced_accuracy(reporting, threshold),
        "rows": rows,
    }
    REPORT.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: report[k] for k in ("descriptive_min_coverage", "choose", "report")}, indent=1))
    print(f"wrote {REPORT}; set descriptive_min_coverage = {threshold} in rag/config/settings_modes.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

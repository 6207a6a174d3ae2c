"""Choose how the span scorer re-ranks the reader's candidate answers, on public data:
span_windows, span_candidates, span_scored_tokens and span_lm_weight (rag/config/settings.py,
rag/models/span_scorer.py), and whether it is worth running at all (weight 0 is the reader alone).

`python -m fit.span` asks the answerable questions of the 'choose' articles of the SQuAD 2.0 dev file
(eval/sets/splits.json: the reader never trained on them), in the store fit.refusal reads (all 32
articles' paragraphs). For every question and grid point it
takes the pipeline's own evidence, the reader's candidates and the scorer's likelihoods (one prompt
per question and window count, cached), and counts the questions whose chosen span holds a gold
answer and its official SQuAD F1. The point with the best F1 (OBJECTIVE) wins (ties: fewer windows,
fewer candidates, fewer scored tokens, then the smaller weight: less work and closer to the reader
alone). Weight 0 is the reader alone, so the report shows what the
scorer adds. The result goes to eval/sets/span_report.json and is copied into the settings defaults
by hand (a test keeps the two equal).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from eval import squad
from eval.sets_io import SETS_DIR
from fit.refusal.table import open_store, part_rows

REPORT = SETS_DIR / "span_report.json"
DEV_FILE = squad.PUBLIC_DIR / "squad2-dev-32-articles.json"
WINDOWS_GRID = (1, 2, 3)
CANDIDATES_GRID = (2, 3, 4, 6)
TOKENS_GRID = (1, 2, 3, 4, 6, 8, 30)  # 30: every token a reader's span can have
WEIGHT_GRID = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 20.0)
# what the sweep maximises: official SQuAD F1 of the picked span. Holding a gold answer (the
# acceptance rule) also rewards a long copy of the sentence that holds it ("32 migrants on a bus ...
# were intercepted by five" for "how many vehicles?"), which the scorer's mean per-token likelihood
# favours; F1 prefers the phrase asked for. Both are reported.
OBJECTIVE = "f1"


def candidate_table(desk, questions: list[dict], log=print) -> list[dict]:
    """Per question, per window count: the reader's candidates (text, margin, the scorer's
    log-probability of each token, holds gold, F1), best margin first, as the pipeline's
    EvidenceReader.candidate_opinions gives them."""
    from eval.metrics import contains_gold
    from rag.models.reader import answer_text
    from rag.questions.answer import Answerer
    from rag.questions.reading import EvidenceReader
    from rag.questions.retrieve import Scope

    answerer, reader = Answerer(desk), EvidenceReader(desk)
    table = []
    for i, q in enumerate(questions):
        evidence = answerer.gather_evidence(q["question"], Scope())[1]
        per_windows = {}
        for w in WINDOWS_GRID:
            spans, log_probs = reader.candidate_opinions(
                q["question"], evidence[:w], max(CANDIDATES_GRID), max(TOKENS_GRID)
            )
            answers = [answer_text(s.text) for s in spans]
            golds = q["gold_answers"]
            per_windows[w] = [
                (a, s.margin, lp, contains_gold(a, [golds]), squad.best_scores(golds, a)[1])
                for a, s, lp in zip(answers, spans, log_probs or [[0.0]] * len(spans))
            ]
        table.append(per_windows)
        if i % 25 == 0:
            log(f"{i}/{len(questions)}")
    return table


def chosen_row(rows: list, candidates: int, weight: float, tokens: int) -> tuple | None:
    """The pipeline's pick among the first ``candidates`` rows (None without a candidate)."""
    from rag.models.span_scorer import likelihood
    from rag.questions.reading import candidate_score

    if not rows:
        return None
    if len(rows[:candidates]) < 2:  # the pipeline keeps the reader's choice
        return rows[0]
    return max(rows[:candidates], key=lambda r: candidate_score(r[1], likelihood(r[2], tokens), weight))


def point_scores(table: list[dict], windows: int, candidates: int, weight: float, tokens: int) -> dict:
    """What one grid point's picks score: gold held (the acceptance rule), official SQuAD F1 (which
    a long copy holding the gold loses) and the picks' median length in words."""
    picks = [chosen_row(q[windows], candidates, weight, tokens) for q in table]
    return {
        "gold_in_answer": round(float(np.mean([bool(p and p[3]) for p in picks])), 4),
        "f1": round(float(np.mean([p[4] if p else 0.0 for p in picks])), 4),
        "median_words": float(np.median([len(p[0].split()) for p in picks if p] or [0])),
    }


def sweep(table: list[dict]) -> list[dict]:
    """Every grid point's scores, best first by OBJECTIVE (ties: the FIELDS order, smaller first)."""
    results = [
        {
            "span_windows": w,
            "span_candidates": n,
            "span_scored_tokens": tokens,
            "span_lm_weight": weight,
            **point_scores(table, w, n, weight, tokens),
        }
        for w in WINDOWS_GRID
        for n in CANDIDATES_GRID
        for tokens in TOKENS_GRID
        for weight in WEIGHT_GRID
    ]
    return sorted(results, key=lambda r: (-r[OBJECTIVE], *(r[k] for k in FIELDS)))


FIELDS = ("span_windows", "span_candidates", "span_scored_tokens", "span_lm_weight")  # tie order


def reader_alone(results: list[dict]) -> dict:
    """The best the reader's own ranking (weight 0) does, by the objective, with its other scores."""
    return next(r for r in results if r["span_lm_weight"] == 0.0)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m fit.span", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEV_FILE, help="the SQuAD 2.0 dev articles with a split")
    parser.add_argument("--work", type=Path, default=Path("/tmp/fit_refusal"), help="fit.refusal's store")
    parser.add_argument("--limit", type=int, default=None, help="at most this many questions (a quick look)")
    parser.add_argument("--out", type=Path, default=REPORT, help="where the report goes")
    parser.add_argument("--save-table", type=Path, help="also save the measured candidate table here")
    parser.add_argument("--from-table", type=Path, help="re-sweep a saved table instead of measuring")
    args = parser.parse_args(argv)
    if args.from_table is not None and not args.from_table.is_file():
        parser.error(f"--from-table {args.from_table} does not exist")
    if args.from_table is None and not args.data.exists():
        parser.error(f"--data {args.data} does not exist")
    return args


def measure(data: Path, work: Path, limit: int | None) -> dict:
    """The candidate table of the choosing part's answerable questions, with what it was measured on."""
    from rag.config.settings import load_settings
    from rag.store.desk import Desk

    questions = [q for q in part_rows(data, "choose") if q["answerable"]][:limit]
    desk = open_store(Desk(load_settings(llm_backend="extractive", span_scorer="gemma")), data, work)
    table = candidate_table(desk, questions, log=lambda m: print(m, file=sys.stderr, flush=True))
    fitted_on = {
        "data": data.name,
        "questions_from": sorted({q["article"] for q in questions}),
        "questions": len(questions),
        "note": "answerable questions of the 'choose' articles, which the reader never trained on; "
        "no eval set of ours, no seed article",
    }
    return {"fitted_on": fitted_on, "table": table}


def load_table(path: Path) -> dict:
    """A table saved by --save-table (JSON turns the window counts into strings; back to ints)."""
    saved = json.loads(path.read_text(encoding="utf-8"))
    saved["table"] = [{int(w): rows for w, rows in per.items()} for per in saved["table"]]
    return saved


def fit_report(measured: dict) -> dict:
    results = sweep(measured["table"])
    return {
        "fitted_on": measured["fitted_on"],
        "objective": f"{OBJECTIVE} of the chosen span over the answerable questions (f1: official SQuAD F1; "
        "gold_in_answer: the span holds a gold answer, which a long copy of the sentence also does). "
        "Refusal is not changed by the scorer: fit.refusal fits it on the scorer's choices",
        "reader_alone": reader_alone(results),
        "chosen": results[0],
        "top_5": results[:5],
        "best_per_scored_tokens": [
            next(r for r in results if r["span_scored_tokens"] == tokens) for tokens in TOKENS_GRID
        ],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    measured = load_table(args.from_table) if args.from_table else measure(args.data, args.work, args.limit)
    if args.save_table:
        args.save_table.write_text(json.dumps(measured, ensure_ascii=False), encoding="utf-8")
    report = fit_report(measured)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

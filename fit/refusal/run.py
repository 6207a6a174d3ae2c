"""`python -m fit.refusal`: fit when to refuse and when to show the short answer, on public data.

The pipeline reads every question of the 'fit_refusal' and 'choose' articles of the SQuAD 2.0 dev
file (eval/sets/splits.json), asked among all 32 articles' paragraphs; the reader never trained on
either part. The heads are fitted on 'fit_refusal', their regularisation and thresholds chosen on
'choose'. Writes rag/models/refusal_model.json and eval/sets/refusal_report.json; the chosen thresholds are
printed for the defaults in rag/config/settings.py (refusal_min_answerable, short_answer_min_confidence).
The 'report' articles are never read here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from eval.squad import PUBLIC_DIR, split_of
from fit.refusal.model import (
    ACCURACY_TOLERANCE,
    MAX_ANSWERABLE_REFUSED,
    choose_thresholds,
    coefficient_table,
    fit_model,
    outcome,
    rates,
    sweep_refusal,
)
from fit.refusal.table import build_table, load_table, open_store, save_table
from rag.models.refusal import MODEL_FILE
from rag.questions.reading import FEATURES

DEV_FILE = PUBLIC_DIR / "squad2-dev-32-articles.json"
REPORT = Path(__file__).resolve().parents[2] / "eval" / "sets" / "refusal_report.json"
PARTS = ("fit_refusal", "choose")


def measure(args, log) -> tuple[dict, list]:
    """The table of readings: loaded with --from-table, else read now (and saved in --work)."""
    if args.from_table:
        return load_table(args.from_table)
    from rag.config.settings import load_settings
    from rag.store.desk import Desk

    settings = load_settings(llm_backend="extractive", span_scorer=args.span_scorer)
    began = time.monotonic()
    desk = open_store(Desk(settings), args.data, args.work)
    rows = build_table(desk, args.data, list(PARTS), log, args.limit)
    about = {
        "data": args.data.name,
        "parts": list(PARTS),
        "span_scorer": args.span_scorer,
        "embedder": settings.embedder,
        "store": "every article's paragraphs of the file, one document each",
        "seconds": round(time.monotonic() - began),
        "limit": args.limit,
    }
    save_table(rows, args.work / f"table-{args.span_scorer}.json", about)
    return about, rows


def fit(about: dict, rows: list, log=print) -> dict:
    fit_rows = [r for r in rows if r.part == "fit_refusal"]
    choose_rows = [r for r in rows if r.part == "choose"]
    model, regularisation = fit_model(fit_rows, choose_rows, FEATURES)
    thresholds, chosen = choose_thresholds(model, choose_rows)
    margin_only, _ = fit_model(fit_rows, choose_rows, ("margin",))
    margin_thresholds, margin_rates = choose_thresholds(margin_only, choose_rows)
    t = (thresholds["refusal_min_answerable"], thresholds["short_answer_min_confidence"])
    report = {
        "about": about,
        "fitted_on": {"articles": split_of(Path(about["data"]))["fit_refusal"], "questions": len(fit_rows)},
        "chosen_on": {"articles": split_of(Path(about["data"]))["choose"], "questions": len(choose_rows)},
        "rule": f"on the choosing part, among thresholds refusing at most {MAX_ANSWERABLE_REFUSED:.0%} of answerable questions and within {ACCURACY_TOLERANCE:.0%} of the best accuracy, the most precise short answers",
        "thresholds": thresholds,
        "regularisation": regularisation,
        "coefficients": coefficient_table(model),
        "choose": chosen,
        "sweep_on_choose": sweep_refusal(model, choose_rows, t[1]),
        "fit_in_sample": rates(fit_rows, outcome(model, fit_rows, *t)),
        "baselines_on_choose": {
            "margin_only_model": {"thresholds": margin_thresholds, **margin_rates},
            "answer_everything_show_all": rates(choose_rows, outcome(model, choose_rows, 0.0, 0.0)),
            "span_right_when_answerable": sum(r.right for r in choose_rows if r.answerable)
            / max(1, sum(r.answerable for r in choose_rows)),
            "gold_source_retrieved": sum(r.source_hit for r in choose_rows if r.answerable)
            / max(1, sum(r.answerable for r in choose_rows)),
        },
    }
    log(json.dumps({"thresholds": thresholds, "choose": chosen}, indent=1))
    return {"model": model, "report": report}


def write(result: dict, model_path: Path, report_path: Path) -> None:
    model_path.write_text(json.dumps(result["model"].to_json(), indent=1) + "\n", encoding="utf-8")
    report_path.write_text(
        json.dumps(result["report"], indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(prog="python -m fit.refusal", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEV_FILE, help="the SQuAD 2.0 dev articles with a split")
    parser.add_argument("--work", type=Path, default=Path("/tmp/fit_refusal"), help="the store and tables")
    parser.add_argument("--span-scorer", choices=["gemma", "none"], default="none")
    parser.add_argument("--from-table", type=Path, help="re-fit from a saved table instead of reading")
    parser.add_argument("--limit", type=int, help="only N questions of each part (quick runs)")
    parser.add_argument("--model-out", type=Path, default=MODEL_FILE)
    parser.add_argument("--report-out", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    if args.from_table is None and not args.data.exists():
        parser.error(f"--data {args.data} does not exist")
    if args.from_table is not None and not args.from_table.exists():
        parser.error(f"--from-table {args.from_table} does not exist")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        about, rows = measure(args, print)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write(fit(about, rows), args.model_out, args.report_out)
    print(f"wrote {args.model_out} and {args.report_out}")
    return 0

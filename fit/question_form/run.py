"""`python -m fit.question_form [build] [fit]`: the labelled set, then the classifier and its report.

- ``build`` re-draws the guide-labelled SQuAD rows of eval/sets/question_forms.jsonl (the hand-labelled
  rows stay) and records the split by topic in eval/sets/splits.json;
- ``fit`` chooses C and the written rows' weight by grouped cross-validation on the fitting part,
  fits on the whole fitting part, writes rag/questions/question_form_model.json, and reports on the held-out
  part in eval/sets/question_form_report.json: accuracy overall, by source and by form, the confusion
  table, and the share of SQuAD questions routed to the factoid path (all questions of the held-out
  SQuAD train articles, and of the SQuAD 2.0 dev reporting articles of splits.json, which nothing
  here reads otherwise).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

from eval import squad
from fit.question_form.data import SET_FILE, SPLIT_KEY, SQUAD_TRAIN, load_rows, part_of, rebuild
from fit.question_form.guide import guide_label
from fit.question_form.model import choose_and_fit, source_accuracy
from rag.questions.question_form import FORMS, MODEL_FILE, QuestionFormModel

REPORT = SET_FILE.parent / "question_form_report.json"
SQUAD_DEV = squad.PUBLIC_DIR / "squad2-dev-32-articles.json"


def accuracy(rows: list[dict], predicted: list[str]) -> dict:
    right = sum(r["form"] == p for r, p in zip(rows, predicted))
    return {"n": len(rows), "right": right, "accuracy": round(right / len(rows), 4) if rows else None}


def held_out_report(model: QuestionFormModel, rows: list[dict]) -> dict:
    """Accuracy of the model on held-out rows: overall, per source, per gold form, and the confusion."""
    predicted = [model.classify(r["question"]) for r in rows]
    by = lambda key: {  # noqa: E731 - a one-line grouping, used twice below
        value: accuracy(
            [r for r in rows if r[key] == value], [p for r, p in zip(rows, predicted) if r[key] == value]
        )
        for value in sorted({r[key] for r in rows})
    }
    confusion = Counter(f"{r['form']} -> {p}" for r, p in zip(rows, predicted))
    return {
        "all": accuracy(rows, predicted),
        "by_source": by("source"),
        "by_form": by("form"),
        "confusion (gold -> predicted)": dict(sorted(confusion.items())),
        "mistakes": [
            {"question": r["question"], "gold": r["form"], "predicted": p}
            for r, p in zip(rows, predicted)
            if r["form"] != p
        ],
    }


def factoid_share(model: QuestionFormModel, questions: list[str]) -> dict:
    routed = Counter(model.classify(q) for q in questions)
    return {
        "n": len(questions),
        "factoid": round(routed["factoid"] / len(questions), 4),
        "routed": {form: routed[form] for form in FORMS},
    }


def squad_routing(model: QuestionFormModel, held_out_topics: set[str]) -> dict:
    """The share of SQuAD questions the model sends to the factoid path: every question of the held-out
    SQuAD train articles, and of the SQuAD 2.0 dev reporting articles."""
    train = [
        q.question for a in squad.load_squad(SQUAD_TRAIN) if a.title in held_out_topics for q in a.questions
    ]
    report_titles = set(squad.split_of(SQUAD_DEV)["report"])
    dev = [q.question for a in squad.load_squad(SQUAD_DEV) if a.title in report_titles for q in a.questions]
    return {
        "squad2_train_held_out_articles": factoid_share(model, train),
        "squad2_dev_report_articles": factoid_share(model, dev),
    }


def guide_agreement(rows: list[dict]) -> dict:
    """How often the SQuAD labelling rules agree with the hand labels of the held-out SQuAD sample
    (the noise of the fitting part's labels)."""
    sample = [r for r in rows if r["source"] == "squad2-train"]
    return accuracy(sample, [guide_label(r["question"]) for r in sample])


def fit_and_report(log=print) -> dict:
    rows = load_rows()
    parts = squad.load_splits()[SPLIT_KEY]
    fit_rows = [r for r in rows if part_of(r, parts) == "fit"]
    held = [r for r in rows if part_of(r, parts) == "held_out"]
    model, chosen = choose_and_fit(fit_rows, log)
    MODEL_FILE.write_text(json.dumps(model.to_json(), ensure_ascii=False) + "\n", encoding="utf-8")
    report = {
        "set": SET_FILE.name,
        "fitted_on": {"rows": len(fit_rows), "by_source": dict(Counter(r["source"] for r in fit_rows))},
        "chosen": chosen,
        "fit_in_sample": source_accuracy(fit_rows, [model.classify(r["question"]) for r in fit_rows]),
        "held_out": held_out_report(model, held),
        "squad_routed_to_factoid": squad_routing(model, set(parts["held_out"])),
        "guide_rules_vs_hand_labels_on_held_out_squad": guide_agreement(held),
        "features": len(model.vocabulary),
    }
    REPORT.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    log(json.dumps({k: report[k] for k in ("chosen", "squad_routed_to_factoid")}, indent=1)[:2000])
    log(json.dumps(report["held_out"]["all"]) + " " + json.dumps(report["held_out"]["by_source"]))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fit.question_form", description=__doc__.splitlines()[0])
    parser.add_argument("steps", nargs="*", choices=["build", "fit"], default=["build", "fit"])
    args = parser.parse_args(argv)
    if "build" in args.steps:
        parts = rebuild()
        print(f"wrote {SET_FILE} ({len(parts['held_out'])} held-out topics, {len(parts['fit'])} fitting)")
    if "fit" in args.steps:
        fit_and_report()
        print(f"wrote {MODEL_FILE} and {REPORT}")
    return 0

"""Choose the refusal gate's thresholds (gate_min_relevance, gate_min_coverage,
gate_min_salient_coverage) on public data.

`python -m eval.fit_gate` uses only the 'fit' articles of the shared SQuAD 2.0 training file (see
eval/sets/splits.json). Half of them are ingested into a throwaway store; the questions are:
- answerable questions about the stored articles (they should pass the gate),
- the real unanswerable questions of the stored articles (adversarial: they should be refused, and a
  gate on relevance and word coverage mostly cannot tell them apart),
- questions about the other fit articles, which are not stored (off-topic: they should be refused).
The grid point with the best balanced accuracy (mean of answerable passed and unanswerable refused)
wins; ties go to refusing fewer answerable questions. The result is written to
eval/sets/gate_report.json and copied into the settings defaults by hand.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

from eval import squad
from eval.sets_io import paragraph_document, paragraph_source

REPORT = Path(__file__).parent / "sets" / "gate_report.json"
RELEVANCE_GRID = [round(0.05 * i, 2) for i in range(0, 13)]
COVERAGE_GRID = [round(0.1 * i, 1) for i in range(0, 11)]
SALIENT_GRID = [0.0, 0.25, 0.5, 0.6, 0.75, 0.9, 1.0]


def fit_articles(path: Path) -> tuple[list[squad.SquadArticle], list[squad.SquadArticle]]:
    """(stored, off-topic): the fit articles with real unanswerable questions are stored."""
    spec = squad.split_of(path)
    fit = squad.select_articles(squad.load_squad(path), spec["fit"])
    with_negatives = [a for a in fit if any(not q.answerable for q in a.questions)]
    rest = [a for a in fit if a not in with_negatives]
    half = len(fit) // 2 - len(with_negatives)
    return with_negatives + rest[:half], rest[half:]


def labelled_questions(stored, off_topic, per_kind: int, rng: random.Random) -> list[tuple[str, bool, str]]:
    """(question, answerable, kind) rows, at most per_kind of each kind."""
    answerable = [q.question for a in stored for q in a.questions if q.answerable]
    adversarial = [q.question for a in stored for q in a.questions if not q.answerable]
    elsewhere = [q.question for a in off_topic for q in a.questions]
    rows = []
    for kind, questions, label in (("answerable", answerable, True), ("adversarial", adversarial, False), ("off_topic", elsewhere, False)):
        rows += [(q, label, kind) for q in rng.sample(questions, min(per_kind, len(questions)))]
    return rows


def gate_table(desk, rows) -> np.ndarray:
    """One (relevance, coverage, salient coverage) row per question, from the pipeline's own evidence."""
    from rag.answer import Answerer, gate_features
    from rag.retrieve import Scope

    answerer = Answerer(desk)
    return np.array([gate_features(q, answerer.gather_evidence(q, Scope())[1]) for q, _, _ in rows])


def passes(features: np.ndarray, point: dict) -> np.ndarray:
    return ((features[:, 0] >= point["gate_min_relevance"]) & (features[:, 1] >= point["gate_min_coverage"])
            & (features[:, 2] >= point["gate_min_salient_coverage"]))


def sweep(features: np.ndarray, labels: np.ndarray) -> list[dict]:
    results = []
    for rel in RELEVANCE_GRID:
        for cov in COVERAGE_GRID:
            for sal in SALIENT_GRID:
                point = {"gate_min_relevance": rel, "gate_min_coverage": cov, "gate_min_salient_coverage": sal}
                passed = passes(features, point)
                tpr, tnr = passed[labels].mean(), (~passed[~labels]).mean()
                results.append({**point, "balanced_accuracy": round(float(tpr + tnr) / 2, 4),
                                "answerable_refused": round(1 - float(tpr), 4), "unanswerable_refused": round(float(tnr), 4)})
    return sorted(results, key=lambda r: (-r["balanced_accuracy"], r["answerable_refused"]))


def refusal_by_kind(features: np.ndarray, rows, best: dict) -> dict[str, float]:
    passed = passes(features, best)
    kinds = sorted({k for _, _, k in rows})
    return {k: round(float(np.mean([not p for p, (_, _, kind) in zip(passed, rows) if kind == k])), 4) for k in kinds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", type=Path, default=squad.PUBLIC_TRAIN)
    parser.add_argument("--per-kind", type=int, default=200, help="questions sampled of each kind")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)

    from eval.runner import throwaway_desk
    from rag.desk import Desk
    from rag.settings import load_settings

    stored, off_topic = fit_articles(args.set)
    rows = labelled_questions(stored, off_topic, args.per_kind, random.Random(args.seed))
    documents = {paragraph_source(a.title, i): paragraph_document(a.title, p) for a in stored for i, p in enumerate(a.paragraphs)}
    with tempfile.TemporaryDirectory(prefix="brief-gate-") as tmp:
        desk = throwaway_desk(Desk(load_settings()), Path(tmp), documents, None)
        features = gate_table(desk, rows)
    labels = np.array([label for _, label, _ in rows])
    results = sweep(features, labels)
    best = results[0]
    report = {"fitted_on": {"stored": [a.title for a in stored], "off_topic": [a.title for a in off_topic], "questions": len(rows),
                            "note": "SQuAD 2.0 training articles of the 'fit' split only; no eval set of ours, no seed article"},
              "chosen": best, "refused_by_kind": refusal_by_kind(features, rows, best), "top_5": results[:5]}
    REPORT.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

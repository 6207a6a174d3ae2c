"""Fit the two logistic heads of rag/models/refusal.py on one part's rows, choose their thresholds on another's.

- ``answerable``: label = the question is answerable (real unanswerable questions are the negatives);
- ``short_right``: label = the reading's span holds a gold answer (false for every unanswerable one).

The heads are scikit-learn LogisticRegression on standardised features; their regularisation is
chosen by log-loss on the choosing part. The thresholds are chosen on the choosing part too: among
the pairs that refuse at most MAX_ANSWERABLE_REFUSED of the answerable questions, those within
ACCURACY_TOLERANCE of the most accurate (a question is right when the short answer shown holds a gold
answer, or when an unanswerable one is refused), and of those the one whose shown short answers are
most often right. A first rule put short-answer precision first (at least 85%); on the choosing part
it showed a short answer for 4% of answerable questions and scored 31% accuracy, below refusing
everything, so it was replaced there, before any reporting number was seen (README, Results).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fit.refusal.table import Row
from rag.models.refusal import HEADS, LogisticHead, RefusalModel

MAX_ANSWERABLE_REFUSED = 0.20  # at most this share of answerable questions refused
ACCURACY_TOLERANCE = 0.01  # accuracy given up, at most, for more precise short answers
REGULARISATION_GRID = (0.01, 0.1, 1.0, 10.0)  # scikit-learn's C: inverse strength
THRESHOLD_GRID = tuple(round(0.02 * i, 2) for i in range(51))


def matrix(rows: list[Row], features: tuple[str, ...]) -> np.ndarray:
    return np.array([[r.features[name] for name in features] for r in rows], dtype=float)


def labels(rows: list[Row], head: str) -> np.ndarray:
    if head == "answerable":
        return np.array([r.answerable for r in rows], dtype=int)
    return np.array([r.right for r in rows], dtype=int)


def fit_head(x: np.ndarray, y: np.ndarray, c: float) -> LogisticHead:
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0  # a constant feature: leave it be
    model = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, y)
    return LogisticHead(mean, scale, model.coef_[0].copy(), float(model.intercept_[0]))


def log_loss(head: LogisticHead, x: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(np.array([head.probability(row) for row in x]), 1e-9, 1 - 1e-9)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def fit_model(
    fit_rows: list[Row], choose_rows: list[Row], features: tuple[str, ...]
) -> tuple[RefusalModel, dict]:
    """Both heads, each with the regularisation of least log-loss on the choosing rows; only rows
    where the reader found a span (the model is never asked about the others: they are refused)."""
    fit_rows = [r for r in fit_rows if r.short is not None]
    choose_rows = [r for r in choose_rows if r.short is not None]
    x_fit, x_choose = matrix(fit_rows, features), matrix(choose_rows, features)
    heads, chosen_c = {}, {}
    for head in HEADS:
        y_fit, y_choose = labels(fit_rows, head), labels(choose_rows, head)
        candidates = {c: fit_head(x_fit, y_fit, c) for c in REGULARISATION_GRID}
        losses = {c: log_loss(h, x_choose, y_choose) for c, h in candidates.items()}
        best = min(losses, key=lambda c: (round(losses[c], 6), -c))
        heads[head], chosen_c[head] = candidates[best], {"C": best, "log_loss_by_C": losses}
    return RefusalModel(features, heads), chosen_c


@dataclass(frozen=True)
class Outcome:
    """What the pipeline does with one question at a pair of thresholds."""

    refused: np.ndarray
    shown: np.ndarray  # a short answer shown


def outcome(model: RefusalModel, rows: list[Row], min_answerable: float, min_short: float) -> Outcome:
    return outcome_at(probabilities(model, rows), spans_found(rows), min_answerable, min_short)


def outcome_at(
    p: dict[str, np.ndarray], has_span: np.ndarray, min_answerable: float, min_short: float
) -> Outcome:
    """As RefusalModel.judge decides, for every row at once from its probabilities."""
    answered = has_span & (p["answerable"] >= min_answerable)
    return Outcome(~answered, answered & (p["short_right"] >= min_short))


def spans_found(rows: list[Row]) -> np.ndarray:
    return np.array([r.short is not None for r in rows])


def probabilities(model: RefusalModel, rows: list[Row]) -> dict[str, np.ndarray]:
    cache = [model.probabilities(r.features) for r in rows]
    return {head: np.array([c[head] for c in cache]) for head in HEADS}


def rates(rows: list[Row], out: Outcome) -> dict:
    """The measures the thresholds are chosen by (shares in 0..1, with counts)."""
    answerable = np.array([r.answerable for r in rows])
    right = np.array([r.right for r in rows])
    sentence_right = np.array([r.sentence_right for r in rows])
    correct = np.where(answerable, out.shown & right, out.refused)
    holds = answerable & ~out.refused & np.where(out.shown, right, sentence_right)
    n_ans, n_un, n_shown = int(answerable.sum()), int((~answerable).sum()), int(out.shown.sum())
    return {
        "n": len(rows),
        "accuracy": share(correct.sum(), len(rows)),
        "answerable_refused": share((answerable & out.refused).sum(), n_ans),
        "unanswerable_refused": share((~answerable & out.refused).sum(), n_un),
        "short_answer_precision": share((out.shown & right).sum(), n_shown),
        "short_answer_shown": share((answerable & out.shown).sum(), n_ans),
        "answer_holds_gold": share(holds.sum(), n_ans),
    }


def share(k, n) -> float | None:
    return round(float(k) / n, 4) if n else None


def choose_thresholds(model: RefusalModel, rows: list[Row]) -> tuple[dict, dict]:
    """(thresholds, their rates on ``rows``): refusing at most MAX_ANSWERABLE_REFUSED of the
    answerable questions (else any pair), within ACCURACY_TOLERANCE of the best accuracy, the most
    precise short answers; ties: the lower thresholds (answer and show more)."""
    p, has_span = probabilities(model, rows), spans_found(rows)
    scored = []
    for t_answer in THRESHOLD_GRID:
        for t_short in THRESHOLD_GRID:
            r = rates(rows, outcome_at(p, has_span, t_answer, t_short))
            scored.append(({"refusal_min_answerable": t_answer, "short_answer_min_confidence": t_short}, r))
    pool = [s for s in scored if (s[1]["answerable_refused"] or 0) <= MAX_ANSWERABLE_REFUSED] or scored
    best = max(s[1]["accuracy"] for s in pool)
    near_best = [s for s in pool if s[1]["accuracy"] >= best - ACCURACY_TOLERANCE]
    return max(
        near_best,
        key=lambda s: (
            s[1]["short_answer_precision"] or 0,
            -s[0]["refusal_min_answerable"],
            -s[0]["short_answer_min_confidence"],
        ),
    )


SWEEP_POINTS = tuple(round(0.1 * i, 1) for i in range(1, 10))  # refusal thresholds shown in the README


def sweep_refusal(model: RefusalModel, rows: list[Row], min_short: float) -> list[dict]:
    """How accuracy and both refusal rates move along refusal_min_answerable, the short-answer
    threshold held at its chosen value: the operating points a user could pick instead."""
    p, has_span = probabilities(model, rows), spans_found(rows)
    return [
        {"refusal_min_answerable": t} | rates(rows, outcome_at(p, has_span, t, min_short))
        for t in SWEEP_POINTS
    ]


def coefficient_table(model: RefusalModel) -> dict[str, dict[str, float]]:
    """Each head's weight per standardised feature: what the model leans on."""
    return {
        head: {name: round(float(w), 3) for name, w in zip(model.features, h.coef)}
        | {"(intercept)": round(h.intercept, 3)}
        for head, h in model.heads.items()
    }

"""Fit the question-form classifier (rag/questions/question_form.py) on the fitting part of the labelled set.

A multinomial logistic regression (scikit-learn) over the question's word n-gram indicators
(rag.questions.question_form.question_features). Two choices are made on the fitting part only, by 5-fold
cross-validation grouped by topic (no topic is in both a fold's fitting and scoring rows): the
regularisation C, and how much a written question weighs against a SQuAD one (SQuAD's rows are
many, nearly all factoid; the written rows carry most of the other forms). The score is the mean of
the accuracy on written and on SQuAD questions, so neither source swamps the other.
"""

from __future__ import annotations

from collections import Counter
from itertools import product

import numpy as np

from rag.questions.question_form import FORMS, QuestionFormModel, question_features

REGULARISATION_GRID = (0.3, 1.0, 3.0, 10.0)  # scikit-learn's C: inverse strength
WRITTEN_WEIGHT_GRID = (1.0, 3.0, 10.0)
FOLDS = 5
MIN_COUNT = 2  # an n-gram seen once in the fitting rows says nothing general
KEEP_WEIGHT = 1e-3  # n-grams whose weights are all smaller are left out of the shipped file


def vocabulary_of(rows: list[dict]) -> dict[str, int]:
    counts = Counter(f for r in rows for f in question_features(r["question"]))
    kept = sorted(f for f, n in counts.items() if n >= MIN_COUNT)
    return {f: i for i, f in enumerate(kept)}


def design(rows: list[dict], vocabulary: dict[str, int]):
    from scipy.sparse import csr_matrix

    cols = [[vocabulary[f] for f in question_features(r["question"]) if f in vocabulary] for r in rows]
    indptr = np.cumsum([0] + [len(c) for c in cols])
    data = np.ones(int(indptr[-1]))
    return csr_matrix(
        (data, np.concatenate(cols or [[]]).astype(int), indptr), shape=(len(rows), len(vocabulary))
    )


def weights(rows: list[dict], written_weight: float) -> np.ndarray:
    return np.array([written_weight if is_written(r) else 1.0 for r in rows])


def fit_model(rows: list[dict], c: float, written_weight: float) -> QuestionFormModel:
    from sklearn.linear_model import LogisticRegression

    vocabulary = vocabulary_of(rows)
    y = np.array([FORMS.index(r["form"]) for r in rows])
    model = LogisticRegression(C=c, max_iter=3000).fit(
        design(rows, vocabulary), y, sample_weight=weights(rows, written_weight)
    )
    coef, intercept = full_coefficients(model, len(vocabulary))
    return prune(QuestionFormModel(FORMS, vocabulary, coef, intercept))


def full_coefficients(model, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """One row per form, zeros for a form the rows lack (scikit-learn keeps only the seen classes)."""
    coef, intercept = np.zeros((len(FORMS), n_features)), np.full(len(FORMS), -1e3)
    for row, label in enumerate(model.classes_):
        coef[label], intercept[label] = model.coef_[row], model.intercept_[row]
    return coef, intercept


def prune(model: QuestionFormModel) -> QuestionFormModel:
    """Only the n-grams that move some form's score: the file stays small, the predictions the same
    up to KEEP_WEIGHT per n-gram."""
    keep = [f for f, i in model.vocabulary.items() if np.abs(model.coef[:, i]).max() >= KEEP_WEIGHT]
    columns = [model.vocabulary[f] for f in keep]
    return QuestionFormModel(
        model.forms, {f: i for i, f in enumerate(keep)}, model.coef[:, columns], model.intercept
    )


def source_accuracy(rows: list[dict], predicted: list[str]) -> dict[str, float]:
    """Accuracy on written and on SQuAD rows, and their mean (the choosing score)."""
    out = {}
    for name, wanted in (("written", True), ("squad", False)):
        pairs = [(r["form"], p) for r, p in zip(rows, predicted) if is_written(r) == wanted]
        out[name] = sum(a == b for a, b in pairs) / len(pairs) if pairs else float("nan")
    out["mean"] = float(np.nanmean([out["written"], out["squad"]]))
    return out


def is_written(row: dict) -> bool:
    return row["source"].startswith("written")


def cross_validated(rows: list[dict], c: float, written_weight: float) -> dict[str, float]:
    from sklearn.model_selection import GroupKFold

    predicted = [""] * len(rows)
    groups = [r["topic"] for r in rows]
    for fit_idx, score_idx in GroupKFold(n_splits=FOLDS).split(rows, groups=groups):
        model = fit_model([rows[i] for i in fit_idx], c, written_weight)
        for i in score_idx:
            predicted[i] = model.classify(rows[i]["question"])
    return source_accuracy(rows, predicted)


def choose_and_fit(rows: list[dict], log=print) -> tuple[QuestionFormModel, dict]:
    """The model fitted on all ``rows`` with the grid point of best cross-validated score."""
    scores = {}
    for c, w in product(REGULARISATION_GRID, WRITTEN_WEIGHT_GRID):
        scores[(c, w)] = cross_validated(rows, c, w)
        log(f"C={c} written_weight={w}: {scores[(c, w)]}")
    best = max(scores, key=lambda k: (round(scores[k]["mean"], 4), -k[0], -k[1]))
    chosen = {
        "C": best[0],
        "written_weight": best[1],
        "cross_validation": {f"C={c},written_weight={w}": s for (c, w), s in scores.items()},
    }
    return fit_model(rows, *best), chosen

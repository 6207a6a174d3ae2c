"""When to answer, and when to show the short answer: two small logistic models over a Reading's
features (rag/questions/reading.py).

- ``answerable``: how likely the articles answer the question at all. Below
  ``refusal_min_answerable`` the question is refused.
- ``short_right``: how likely the chosen span holds the answer. Below
  ``short_answer_min_confidence`` the answer is the cited sentence, without a short answer: a wrong
  name in bold above a right quote is worse than the quote alone.

Both were fitted by ``python -m fit.refusal`` (scikit-learn's LogisticRegression on standardised
features) on public SQuAD 2.0 articles the reader never trained on, with real unanswerable questions,
and their thresholds chosen on other articles; the coefficients are stored in refusal_model.json so
that answering needs only numpy.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.errors import BackendUnavailable

MODEL_FILE = Path(__file__).parent / "refusal_model.json"
HEADS = ("answerable", "short_right")


@dataclass(frozen=True)
class LogisticHead:
    """p = sigmoid(coef . (x - mean) / scale + intercept)."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def probability(self, x: np.ndarray) -> float:
        z = float(self.coef @ ((x - self.mean) / self.scale) + self.intercept)
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def to_json(self) -> dict:
        return {
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }

    @classmethod
    def from_json(cls, data: dict) -> LogisticHead:
        arrays = [np.asarray(data[k], dtype=float) for k in ("mean", "scale", "coef")]
        return cls(*arrays, float(data["intercept"]))


@dataclass(frozen=True)
class Verdict:
    answer: bool  # False: refuse
    show_short: bool  # answer with the short answer first (else the cited sentence alone)
    answerable: float  # the model's probability that the articles answer the question
    short_right: float  # ... that the chosen span holds the answer


@dataclass(frozen=True)
class RefusalModel:
    features: tuple[str, ...]
    heads: dict[str, LogisticHead]

    def probabilities(self, features: dict[str, float]) -> dict[str, float]:
        x = np.array([features[name] for name in self.features], dtype=float)
        return {name: head.probability(x) for name, head in self.heads.items()}

    def judge(self, features: dict[str, float], min_answerable: float, min_short_right: float) -> Verdict:
        p = self.probabilities(features)
        answer = p["answerable"] >= min_answerable
        return Verdict(
            answer, answer and p["short_right"] >= min_short_right, p["answerable"], p["short_right"]
        )

    def to_json(self) -> dict:
        return {"features": list(self.features), "heads": {k: h.to_json() for k, h in self.heads.items()}}

    @classmethod
    def from_json(cls, data: dict) -> RefusalModel:
        return cls(tuple(data["features"]), {k: LogisticHead.from_json(data["heads"][k]) for k in HEADS})


def load_refusal_model(path: Path = MODEL_FILE, expected: tuple[str, ...] | None = None) -> RefusalModel:
    """The shipped model; BackendUnavailable naming the fix when it is missing, broken, or was fitted
    on other features than the pipeline computes."""
    fix = "reinstall, or refit it with `python -m fit.refusal`"
    try:
        model = RefusalModel.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackendUnavailable(
            f"cannot read the refusal model {path} ({type(exc).__name__})", fix=fix
        ) from None
    if expected is not None and model.features != tuple(expected):
        raise BackendUnavailable(f"the refusal model {path} was fitted on other features", fix=fix)
    return model

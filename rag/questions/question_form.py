"""How a question is taken: its form decides which answer path serves it.

- ``factoid``: one fact (a name, number, date or phrase): the reader's short answer (rag/questions/answer.py);
- ``descriptive``: reasons, manner, what was discussed or wanted: a few cited sentences;
- ``timeline``: how something changed or developed: dated, cited statements in date order;
- ``comparison``: two or more sides set against each other: cited points under each side.

The classifier is a multinomial logistic regression over the question's word n-grams, fitted by
``python -m fit.question_form`` (scikit-learn) on public questions (SQuAD 2.0 train, and questions
written on Timeline17 stories and SQuAD article titles), none about the seed articles; its weights are
stored in question_form_model.json, so routing needs only numpy. Capitalised words inside the
question become one ``<name>`` token and years ``<year>``: the form lies in the words around the
names ('compare <name> and <name>'), so it carries over to names the model never saw.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import BackendUnavailable, BriefError

if TYPE_CHECKING:  # numpy loads with the model, not with this module: the CLI reads MODES from here
    import numpy as np

FORMS = ("factoid", "descriptive", "timeline", "comparison")
AUTO = "auto"
MODES = (AUTO, *FORMS)  # what `brief ask --mode` and the UI offer
MODEL_FILE = Path(__file__).parent / "question_form_model.json"
NGRAMS = 3  # word n-grams up to trigrams: 'how has <name>', 'compare what <name>'
WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:[’'][^\W\d_]+)*")
YEAR = re.compile(r"(1[5-9]|20)\d\d")


def question_tokens(question: str) -> list[str]:
    """The question's words, lower-cased, with names (capitalised words after the first word) as one
    ``<name>`` per run, years as ``<year>`` and other numbers as ``<num>``, between ``<s>`` and ``</s>``."""
    out = ["<s>"]
    for i, word in enumerate(WORD.findall(question)):
        if YEAR.fullmatch(word):
            token = "<year>"
        elif word[0].isdigit():
            token = "<num>"
        elif i > 0 and word[0].isupper():
            token = "<name>"
        else:
            token = word.lower().replace("’", "'")
        if not (token == "<name>" and out[-1] == "<name>"):
            out.append(token)
    return out + ["</s>"]


def question_features(question: str) -> list[str]:
    """Every word n-gram (1..NGRAMS) of the question's tokens, each once."""
    tokens = question_tokens(question)
    grams = (" ".join(tokens[i : i + n]) for n in range(1, NGRAMS + 1) for i in range(len(tokens) - n + 1))
    return list(dict.fromkeys(grams))


@dataclass(frozen=True)
class QuestionFormModel:
    """p(form | question) = softmax(coef . x + intercept), x the question's n-gram indicators."""

    forms: tuple[str, ...]
    vocabulary: dict[str, int]
    coef: np.ndarray  # forms x vocabulary
    intercept: np.ndarray

    def probabilities(self, question: str) -> dict[str, float]:
        import numpy as np

        columns = [self.vocabulary[f] for f in question_features(question) if f in self.vocabulary]
        z = self.coef[:, columns].sum(axis=1) + self.intercept
        p = np.exp(z - z.max())
        p /= p.sum()
        return {form: float(v) for form, v in zip(self.forms, p)}

    def classify(self, question: str) -> str:
        p = self.probabilities(question)
        return max(p, key=p.get)

    def to_json(self) -> dict:
        import numpy as np

        return {
            "forms": list(self.forms),
            "vocabulary": sorted(self.vocabulary, key=self.vocabulary.get),
            "coef": np.round(self.coef, 4).tolist(),
            "intercept": np.round(self.intercept, 4).tolist(),
        }

    @classmethod
    def from_json(cls, data: dict) -> QuestionFormModel:
        import numpy as np

        vocabulary = {feature: i for i, feature in enumerate(data["vocabulary"])}
        coef = np.asarray(data["coef"], dtype=float)
        if tuple(data["forms"]) != FORMS or coef.shape != (len(FORMS), len(vocabulary)):
            raise ValueError("shape")
        return cls(tuple(data["forms"]), vocabulary, coef, np.asarray(data["intercept"], dtype=float))


@lru_cache(maxsize=2)
def load_question_form_model(path: Path = MODEL_FILE) -> QuestionFormModel:
    """The shipped model (read once); BackendUnavailable naming the fix when it is missing or broken."""
    try:
        return QuestionFormModel.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackendUnavailable(
            f"cannot read the question-form model {path} ({type(exc).__name__})",
            fix="reinstall, or refit it with `python -m fit.question_form`",
        ) from None


def check_mode(mode: str | None) -> str:
    """A requested mode, lower-cased; a BriefError naming the choices for anything else."""
    chosen = (mode or AUTO).strip().lower()
    if chosen not in MODES:
        raise BriefError(f"unknown mode '{mode}'", fix=f"use one of: {', '.join(MODES)}")
    return chosen


def question_form(question: str, mode: str | None = AUTO, model: QuestionFormModel | None = None) -> str:
    """The form the question is answered in: the requested one, or the classifier's under 'auto'."""
    chosen = check_mode(mode)
    if chosen != AUTO:
        return chosen
    return (model or load_question_form_model()).classify(question)

"""Paragraph-level scores of a reader: each question read against every window of its own paragraph,
as the pipeline would read them, with the official SQuAD 2.0 EM/F1.

Besides the scores at a threshold, two that no threshold decides: has-answer F1 when always answering
(how good the spans are) and the AUC of the margin between answerable and unanswerable questions (how
well it knows when to refuse). A learning curve compares those.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np

from eval.metrics import auc
from eval.squad import SquadArticle, SquadQuestion, best_scores
from fit.reader.windows import inference_windows
from rag.models.reader import INPUTS, Span, choose, decode, encode_pairs


@dataclass
class Prediction:
    qid: str
    answers: list[str]  # empty: a no-answer question
    text: str  # best span over the paragraph's windows
    margin: float  # its span score minus its window's no-answer score


class TorchReader:
    """A checkpoint being trained or scored, behind the same read() as rag.models.reader.Reader."""

    def __init__(self, model, tokenizer, max_answer_tokens: int):
        self.model, self.tokenizer, self.max_answer_tokens = model, tokenizer, max_answer_tokens

    def read(self, question: str, passages: list[str]) -> list[Span]:
        import torch

        batch = encode_pairs(self.tokenizer, question, passages)
        self.model.eval()
        with torch.inference_mode():
            out = self.model(**{k: torch.from_numpy(batch[k]) for k in INPUTS})
        return decode(
            passages, batch, out.start_logits.numpy(), out.end_logits.numpy(), self.max_answer_tokens
        )


def questions_of(articles: list[SquadArticle]) -> list[tuple[SquadQuestion, str]]:
    return [(q, a.paragraphs[q.paragraph]) for a in articles for q in a.questions]


def predict(read, questions: list[tuple[SquadQuestion, str]]) -> list[Prediction]:
    """Each question against every inference window of its paragraph, in one batch."""
    out = []
    for q, paragraph in questions:
        top = choose(read(q.question, list(inference_windows(paragraph))), float("-inf"))
        out.append(Prediction(q.id, q.answers, top.text if top else "", top.margin if top else float("-inf")))
    return out


def score_at(predictions: list[Prediction], threshold: float) -> dict:
    """Official EM/F1 (percent) for has-answer, no-answer and all questions, plus answerability."""
    rows = []
    for p in predictions:
        said = p.text if p.margin > threshold else ""
        em, f1 = best_scores(p.answers, said)
        rows.append((bool(p.answers), bool(said), em, f1, len(said.split())))
    return metrics(rows)


def metrics(rows: list[tuple[bool, bool, int, float, int]]) -> dict:
    def mean(values):
        return round(100 * statistics.fmean(values), 1) if values else None

    has = [r for r in rows if r[0]]
    no = [r for r in rows if not r[0]]
    answered_words = [r[4] for r in rows if r[1]]
    return {
        "n": len(rows),
        "n_has_answer": len(has),
        "n_no_answer": len(no),
        "exact": mean([r[2] for r in rows]),
        "f1": mean([r[3] for r in rows]),
        "has_answer_exact": mean([r[2] for r in has]),
        "has_answer_f1": mean([r[3] for r in has]),
        "no_answer_accuracy": mean([float(not r[1]) for r in no]),
        "answerable_refused": mean([float(not r[1]) for r in has]),
        "median_answer_words": statistics.median(answered_words) if answered_words else None,
    }


def threshold_free(predictions: list[Prediction]) -> dict:
    always = score_at(predictions, float("-inf"))
    return {
        "has_answer_exact_answer_always": always["has_answer_exact"],
        "has_answer_f1_answer_always": always["has_answer_f1"],
        "answerable_auc": margin_auc(predictions),
    }


def margin_auc(predictions: list[Prediction]) -> float | None:
    """P(an answerable question's margin > an unanswerable one's), ties counting half."""
    margins = np.array([p.margin for p in predictions], dtype=float)
    margins[~np.isfinite(margins)] = np.finfo(float).min  # no span at all: the lowest margin
    answerable = [bool(p.answers) for p in predictions]
    pos = [m for m, a in zip(margins.tolist(), answerable) if a]
    neg = [m for m, a in zip(margins.tolist(), answerable) if not a]
    value = auc(pos, neg)
    return None if value is None else round(value, 3)


def best_threshold(predictions: list[Prediction]) -> float:
    """The threshold with the best overall F1 (the official best_f1 search), midway between
    neighbouring margins so it does not sit on one question's score."""
    finite = [p for p in predictions if np.isfinite(p.margin)]
    if not finite:
        return 0.0
    # each question's F1 if answered and if refused; answering the k highest margins sums both sides
    order = sorted(finite, key=lambda p: -p.margin)
    answered = np.array([best_scores(p.answers, p.text)[1] for p in order])
    refused = np.array([best_scores(p.answers, "")[1] for p in order])
    totals = (
        np.concatenate([[0.0], np.cumsum(answered)])
        + refused.sum()
        - np.concatenate([[0.0], np.cumsum(refused)])
    )
    margins = [p.margin for p in order]
    cuts = [margins[0] + 1.0] + [(a + b) / 2 for a, b in zip(margins, margins[1:])] + [margins[-1] - 1.0]
    best = max(range(len(cuts)), key=lambda k: (round(totals[k], 9), -abs(cuts[k])))
    return cuts[best]


def checkpoint_scores(read, questions: list[tuple[SquadQuestion, str]]) -> dict:
    """Everything a checkpoint is compared by: threshold-free scores, and the scores at the best
    threshold found on these same questions (so only ever on a choosing part)."""
    predictions = predict(read, questions)
    threshold = best_threshold(predictions)
    return {
        "threshold_free": threshold_free(predictions),
        "threshold": round(threshold, 3),
        "at_threshold": score_at(predictions, threshold),
    }

"""Reading the evidence: which span answers the question, and what says how far to trust it.

The reader (rag/models/reader.py) reads the best evidence windows (a sentence with the one before it) and
proposes spans; the span scorer (rag/models/span_scorer.py), when on, re-ranks the few best. What comes out
is a Reading: the chosen verbatim span with the sentence it is quoted from, and the features the
refusal model (rag/models/refusal.py) turns into "answer or refuse" and "show the short answer or only the
sentence". fit.refusal fits that model on these very features, read through this very code, so what
is fitted and what is applied cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from rag.models.reader import Span, answer_text, choose
from rag.models.span_scorer import likelihood
from rag.questions.evidence import Evidence, holds_kind, question_kind
from rag.questions.verify import term_coverage
from rag.textfacts import content_terms, has_negation, names, numbers, time_words, word_set
from vectorstore.keyword import stem

NO_MARGIN = -20.0  # the margin feature when no window yields a span: below any the reader gives
MARGIN_CLIP = 20.0  # margins beyond this say nothing more and would dominate a linear model

# The refusal model's inputs, in its coefficients' order (rag/models/refusal_model.json names them).
FEATURES = (
    "margin",  # the chosen span's score over its window's "no answer"
    "span_probability",  # softmax(start) x softmax(end) of the chosen span in its window
    "positive_windows",  # share of the windows read whose best span beats "no answer"
    "runner_up_gap",  # margin of the chosen span over the best different answer of another window
    "relevance",  # best cosine similarity of any evidence window to the question
    "carrier_relevance",  # that of the window holding the chosen span
    "carrier_rank",  # the carrier's place among the windows read (0 first, 1 last)
    "carrier_coverage",  # share of the question's content words in the carrier window
    "best_coverage",  # the best such share over the windows read
    "salient_coverage",  # share of the question's names, numbers and dates found in the evidence
    "type_expected",  # the question asks for a number, a time or a name
    "type_match",  # ... and the chosen span is one
    "answer_words",  # log(1 + words in the span)
    "answer_in_question",  # share of the span's content words the question already has
    "carrier_no_answer",  # the reader's "no answer" score of the carrier window
    "negation_mismatch",  # the question negates ("not", "never", ...) and the carrier window does not
)


@dataclass
class Found:
    """The reader's answer: the short answer and the source sentence (or two) it is quoted from."""

    short: str
    carrier: Evidence


@dataclass
class Reading:
    """The chosen span (None when no window yields one) and the features that judge it."""

    found: Found | None
    features: dict[str, float]


class EvidenceReader:
    """Reads evidence windows with the desk's reader and span scorer, under the desk's settings."""

    def __init__(self, desk):
        self.desk = desk

    @property
    def settings(self):
        return self.desk.settings

    def read(self, question: str, evidence: list[Evidence]) -> Reading:
        windows = evidence[: self.settings.reader_passages]
        spans = self.desk.reader.read(question, [e.read_text for e in windows]) if windows else []
        best = choose(spans, float("-inf"))
        if best is None or not answer_text(best.text):
            return Reading(None, features_without_span(question, windows, evidence))
        chosen = self.second_opinion(question, evidence) or best
        found = found_in(windows[chosen.passage], chosen.start, chosen.end)
        return Reading(found, answer_features(question, windows, evidence, spans, chosen, found))

    def second_opinion(self, question: str, evidence: list[Evidence]) -> Span | None:
        """The reader's candidates from the leading windows re-ranked with the span scorer's
        likelihood of each; None without a scorer, or when it cannot score them."""
        s = self.settings
        if self.desk.span_scorer is None:
            return None
        windows = evidence[: s.span_windows]
        candidates, log_probs = self.candidate_opinions(
            question, windows, s.span_candidates, s.span_scored_tokens
        )
        if log_probs is None:
            return None
        ranked = [(c, likelihood(lp, s.span_scored_tokens)) for c, lp in zip(candidates, log_probs)]
        return max(ranked, key=lambda pair: candidate_score(pair[0].margin, pair[1], s.span_lm_weight))[0]

    def candidate_opinions(
        self, question: str, windows: list[Evidence], n: int, tokens: int
    ) -> tuple[list[Span], list[list[float]] | None]:
        """The reader's ``n`` best distinct spans of these windows, and the span scorer's
        log-probabilities of the first ``tokens`` tokens of each, read with the sentences that hold
        them; None for those when there is no candidate or the scorer cannot score them.
        fit.span measures through this too."""
        texts = [e.read_text for e in windows]
        candidates = self.desk.reader.candidates(question, texts, n)
        if not candidates:
            return candidates, None
        answers = [answer_text(c.text) for c in candidates]
        passage = scorer_passage(windows, candidates)
        return candidates, self.desk.span_scorer.token_log_probs(question, passage, answers, tokens)


def answer_features(
    question: str,
    windows: list[Evidence],
    evidence: list[Evidence],
    spans: list[Span],
    chosen: Span,
    found: Found,
) -> dict[str, float]:
    carrier = windows[chosen.passage]
    short = found.short
    kind = question_kind(question)
    others = [
        s.margin for s in spans if s.passage != chosen.passage and s.text and answer_text(s.text) != short
    ]
    short_terms = content_terms(short)
    coverages = window_coverages(question, windows)
    return {
        **gate_features(question, windows, evidence, coverages),
        "margin": clipped(chosen.margin),
        "span_probability": chosen.probability,
        "positive_windows": sum(s.margin > 0 for s in spans) / len(spans),
        "runner_up_gap": clipped(chosen.margin - max(others)) if others else MARGIN_CLIP,
        "carrier_relevance": carrier.relevance,
        "carrier_rank": chosen.passage / max(1, len(windows) - 1),
        "carrier_coverage": coverages[chosen.passage],
        "type_expected": float(kind is not None),
        "type_match": float(kind is not None and holds_kind(short, kind)),
        "answer_words": math.log1p(len(short.split())),
        "answer_in_question": len(short_terms & content_terms(question)) / len(short_terms)
        if short_terms
        else 1.0,
        "carrier_no_answer": clipped(chosen.no_answer_score),
        "negation_mismatch": negation_mismatch(question, carrier.read_text),
    }


def features_without_span(
    question: str, windows: list[Evidence], evidence: list[Evidence]
) -> dict[str, float]:
    """The features when no window yields a span: the evidence's, and the weakest span's."""
    return {
        **gate_features(question, windows, evidence, window_coverages(question, windows)),
        "margin": NO_MARGIN,
        "span_probability": 0.0,
        "positive_windows": 0.0,
        "runner_up_gap": 0.0,
        "carrier_relevance": 0.0,
        "carrier_rank": 1.0,
        "carrier_coverage": 0.0,
        "type_expected": float(question_kind(question) is not None),
        "type_match": 0.0,
        "answer_words": 0.0,
        "answer_in_question": 1.0,
        "carrier_no_answer": MARGIN_CLIP,
        "negation_mismatch": 0.0,
    }


def window_coverages(question: str, windows: list[Evidence]) -> list[float]:
    """Each window's share of the question's content words."""
    return [term_coverage(question, e.read_text) for e in windows]


def gate_features(
    question: str, windows: list[Evidence], evidence: list[Evidence], coverages: list[float]
) -> dict[str, float]:
    """How close the evidence comes to the question, whatever the reader found."""
    return {
        "relevance": max((e.relevance for e in windows), default=0.0),
        "best_coverage": max(coverages, default=0.0),
        "salient_coverage": salient_coverage(question, " ".join(e.text + " " + e.context for e in evidence)),
    }


def salient_coverage(question: str, text: str) -> float:
    """Names, numbers and date words are what a near-miss question changes ('aid for Haiti' asked of
    articles about aid for the region); 1.0 when the question has none."""
    terms = names(question) | numbers(question) | time_words(question)
    if not terms:
        return 1.0
    words = word_set(text) | numbers(text)
    return sum(t in words or stem(t) in words for t in terms) / len(terms)


def negation_mismatch(question: str, window: str) -> float:
    """SQuAD 2.0's annotators made many questions unanswerable by negating them; a negated question
    asked of a sentence that negates nothing is one."""
    return float(has_negation(question) and not has_negation(window))


def clipped(margin: float) -> float:
    return max(-MARGIN_CLIP, min(MARGIN_CLIP, margin))


def candidate_score(margin: float, likelihood: float, weight: float) -> float:
    """How a reader's candidate ranks once the span scorer has spoken: its margin over "no answer"
    plus ``weight`` times the scorer's likelihood (fit.span sweeps the weight through this)."""
    return margin + weight * likelihood


def scorer_passage(windows: list[Evidence], candidates: list[Span]) -> str:
    """What the span scorer reads: each sentence that holds a candidate once, in source order within
    each article. Its prompt costs ~2.5 ms a token on two cores, and the windows' other sentences
    (and the sentence two adjacent windows share) add tokens without adding a candidate."""
    pieces = {}
    for c in candidates:
        piece = found_in(windows[c.passage], c.start, c.end).carrier
        pieces.setdefault((piece.source, piece.start), piece.text)
    order = list(dict.fromkeys(source for source, _ in pieces))
    return " ".join(pieces[key] for key in sorted(pieces, key=lambda k: (order.index(k[0]), k[1])))


def found_in(e: Evidence, start: int, end: int) -> Found:
    """Locate a span of ``e.window`` (the sentence before ``e``, then ``e``) in the source: the cited
    quote is whichever of the two sentences holds the span, or both when it crosses them."""
    prefix = len(e.window) - len(e.text) if e.window.endswith(e.text) else 0
    short = answer_text(e.window[start:end])
    if start >= prefix:
        return Found(short, e)
    text = e.window[:prefix].rstrip() if end <= prefix else e.window
    return Found(short, replace(e, start=e.start - prefix, end=e.start - prefix + len(text), text=text))

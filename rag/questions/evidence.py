"""Pick the few sentences of the retrieved chunks that best answer the question.

A 270M model writes far better from three or four focused sentences than from whole chunks, and a
sentence is also the unit we cite: its offsets point into the source's cleaned text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.config.settings import Settings, default_settings
from rag.questions.retrieve import Retrieved
from rag.textfacts import MONTHS, NUMBER, WEEKDAYS, content_terms, names
from vectorstore.chunk import split_sentences
from vectorstore.embed import Embedder

# Question words that say what kind of fact the answer must contain.
WANTS_NUMBER = re.compile(
    r"\bhow (much|many|long|far|big|large)\b|\bwhat (amount|number|percentage|share)\b|\bhow many\b", re.I
)
WANTS_TIME = re.compile(r"\bwhen\b|\bwhat (day|date|month|year|time)\b|\bwhich (day|date|month|year)\b", re.I)
WANTS_NAME = re.compile(
    r"\bwho\b|\bwhom\b|\bwhose\b|\bwhich (official|minister|president|leader|country|countries|outlet|agency)\b",
    re.I,
)
DATE_LIKE = re.compile(
    r"\b(19|20)\d{2}\b|\b("
    + "|".join(MONTHS + WEEKDAYS + ("last month", "next month", "this month"))
    + r")\b",
    re.I,
)


@dataclass
class Evidence:
    source: str
    title: str
    date: str | None
    chunk_id: str
    start: int
    end: int
    text: str  # == source cleaned text[start:end]
    context: str  # the chunk the sentence came from
    relevance: float  # cosine similarity to the question
    score: float  # relevance + keyword and answer-type bonuses
    window: str = ""  # the sentence with the one before it, for scoring only

    @property
    def read_text(self) -> str:
        """What the reader reads: the window, or the sentence alone when it has none."""
        return self.window or self.text


def question_kind(question: str) -> str | None:
    if WANTS_NUMBER.search(question):
        return "number"
    if WANTS_TIME.search(question):
        return "time"
    if WANTS_NAME.search(question):
        return "name"
    return None


def holds_kind(sentence: str, kind: str | None) -> bool:
    if kind == "number":
        return bool(NUMBER.search(sentence))
    if kind == "time":
        return bool(DATE_LIKE.search(sentence))
    if kind == "name":
        return bool(names(sentence))
    return True


def candidate_sentences(
    retrieved: list[Retrieved], titles: dict[str, str], texts: dict[str, str], lookback: int
) -> list[Evidence]:
    """Every sentence of the retrieved chunks once (chunks overlap), with offsets into its source.
    ``window`` adds the sentence before it from the source text (searched ``lookback`` characters
    back): "That stopped ... in May" means little alone."""
    found: dict[tuple[str, int], Evidence] = {}
    for hit in retrieved:
        chunk = hit.chunk
        for span in split_sentences(chunk.text):
            start, end = chunk.start + span.start, chunk.start + span.end
            if (chunk.source, start) not in found:
                text = chunk.text[span.start : span.end]
                window = previous_sentence(texts.get(chunk.source, ""), start, lookback) + text
                found[(chunk.source, start)] = Evidence(
                    chunk.source,
                    titles.get(chunk.source, chunk.source),
                    chunk.date,
                    chunk.chunk_id,
                    start,
                    end,
                    text,
                    chunk.text,
                    0.0,
                    0.0,
                    window,
                )
    return list(found.values())


def previous_sentence(source_text: str, start: int, lookback: int) -> str:
    before = split_sentences(source_text, max(0, start - lookback), start) if source_text else []
    return source_text[before[-1].start : start] if before else ""


def score_sentences(
    question: str, candidates: list[Evidence], embedder: Embedder, settings: Settings
) -> list[Evidence]:
    """Score and sort candidates, best first: the better of the sentence's and its window's
    similarity, plus shares of question terms and the kind of fact asked for (weights from settings)."""
    if not candidates:
        return []
    n = len(candidates)
    vectors = embedder.embed([question] + [c.text for c in candidates] + [c.window for c in candidates])
    sims = vectors[1:] @ vectors[0]
    q_terms = content_terms(question)
    kind = question_kind(question)
    for cand, sim, window_sim in zip(candidates, sims[:n], sims[n:]):
        overlap = len(q_terms & content_terms(cand.window)) / max(len(q_terms), 1)
        cand.relevance = float(max(sim, window_sim))
        cand.score = (
            cand.relevance
            + settings.evidence_keyword_weight * overlap
            + (settings.evidence_type_bonus if kind and holds_kind(cand.text, kind) else 0.0)
        )
    return sorted(candidates, key=lambda c: -c.score)


def select_evidence(
    question: str,
    retrieved: list[Retrieved],
    titles: dict[str, str],
    texts: dict[str, str],
    embedder: Embedder,
    n: int,
    settings: Settings | None = None,
) -> list[Evidence]:
    """The n best sentences for the question, scored with the evidence_* settings (their defaults when
    no settings are given)."""
    settings = settings or default_settings()
    candidates = candidate_sentences(retrieved, titles, texts, settings.evidence_window_lookback)
    return score_sentences(question, candidates, embedder, settings)[:n]

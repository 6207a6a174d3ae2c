"""Briefings with citations: pick articles -> key sentences per article (map) -> a briefing (reduce).

The reduce step lays out a bottom line, developments grouped by theme, key figures, a timeline in
date order, who's who and open questions. Every entry rests on source sentences cited with the same
citation objects as answers; where the LLM rewrites a sentence (a standalone point, a question) the
verifier checks it against that sentence, and a failing line falls back to the trimmed sentence.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.briefings import briefing_layout as layout
from rag.briefings.briefing_model import NOT_STATED, Briefing
from rag.briefings.briefing_rewrite import Line, Rewriter
from rag.briefings.briefing_text import figures_in, is_pending, resolve_date  # noqa: F401  (resolve_date is part of this module's API)
from rag.errors import BriefError
from rag.questions.claims import Citation, to_citation
from rag.questions.evidence import Evidence
from rag.questions.retrieve import Retriever, Scope
from rag.questions.verify import MemoEmbedder, Verifier
from rag.textfacts import names, numbers
from vectorstore.chunk import split_sentences

Progress = Callable[[int, int, str], None]


@dataclass
class Note:
    """A sentence of an article, scored for how much of the briefing it carries."""

    record: Any  # SourceRecord
    start: int
    end: int
    position: int  # index of the sentence in its article
    vector: np.ndarray
    score: float
    key: bool = False  # among its article's top sentences

    @property
    def text(self) -> str:
        return self.record.text[self.start : self.end]

    @property
    def source(self) -> str:
        return self.record.source

    def evidence(self) -> Evidence:
        return Evidence(
            self.source,
            self.record.title,
            self.record.date,
            "",
            self.start,
            self.end,
            self.text,
            self.text,
            1.0,
            1.0,
            self.text,
        )


class Summarizer:
    def __init__(self, desk):
        self.desk = desk
        self.settings = desk.settings
        self.embedder = MemoEmbedder(desk.embedder)  # the verifier re-checks sentences the map step embedded
        self.verifier = Verifier(self.embedder, rules=desk.verifier.rules)
        self._numbers: dict[tuple[str, int], Citation] = {}
        self._spans: dict[str, list] = {}
        self.scope = Scope()
        self.notes: list[Note] = []

    def summarize(
        self, topic: str | None = None, scope: Scope = Scope(), progress: Progress | None = None
    ) -> Briefing:
        started = time.perf_counter()
        self.scope = scope  # the timeline keeps to its dates
        records = [r for r in self.desk.sources() if scope.allows(r.source, r.date)]  # metadata only
        if not records:
            raise BriefError(
                "no ingested article matches this scope",
                fix="widen --since/--until/--source or run `brief ingest`",
            )
        topic = (topic or "").strip() or None
        chosen, notes, tick = self.read_chosen(records, topic, scope, progress)
        mapped = time.perf_counter()
        self.notes = notes  # what was read, for comparisons (rag/briefings/briefing_changes.py)
        self._numbers = {}
        rewriter = Rewriter(self.desk, self.verifier)
        briefing = layout.build(self, notes, chosen, rewriter, tick)
        briefing.topic = topic
        briefing.scope = layout.scope_line(chosen, records, topic, rewriter.stats)
        briefing.citations = sorted(self._numbers.values(), key=lambda c: c.n)
        briefing.sources = layout.source_list(chosen, briefing.citations)
        briefing.read = [r.source for r in chosen]
        briefing.rewrites = rewriter.stats.to_json()
        briefing.timings_ms = {
            "map": round((mapped - started) * 1000),
            "write": round((time.perf_counter() - mapped) * 1000),
        }
        tick.finish()
        return briefing

    def read_chosen(
        self, records: list, topic: str | None, scope: Scope, progress: Progress | None
    ) -> tuple[list, list[Note], layout.Ticker]:
        """Pick the articles the briefing reads (near the topic, if any) and note what each says."""
        topic_vector = self.topic_vector(topic, scope) if topic else None
        picked = layout.pick_records(self.desk, records, topic_vector, scope.chunk_filter())
        texts = self.desk.source_records(r.source for r in picked)  # the chosen articles' text only
        chosen = [texts[r.source] for r in picked if r.source in texts]
        steps = (
            len(chosen)
            + self.settings.summary_bottom_line
            + self.settings.summary_points
            + self.settings.summary_max_questions
        )
        tick = layout.Ticker(progress, steps)
        notes = self.map_all(chosen, topic_vector, tick)
        if not notes:
            raise BriefError(
                f"the articles say nothing about '{topic}'", fix="try another topic or no --topic"
            )
        return chosen, notes, tick

    # --- map ------------------------------------------------------------------------------------
    def topic_vector(self, topic: str, scope: Scope) -> np.ndarray:
        hits = Retriever(self.desk).retrieve(topic, scope)
        if not hits or max(h.dense for h in hits) < self.settings.min_relevance:
            raise BriefError(
                f"the articles say nothing about '{topic}'", fix="try another topic or no --topic"
            )
        return self.desk.embedder.embed([topic])[0]

    def map_all(self, records, topic_vector: np.ndarray | None, tick) -> list[Note]:
        notes: list[Note] = []
        for record in records:
            notes += self.map_document(record, topic_vector)
            tick.step(record.source)
        return notes

    def map_document(self, record, topic_vector: np.ndarray | None) -> list[Note]:
        """Every usable sentence of an article, scored: central to the article (and to the topic),
        rich in names and numbers. The top few are its key sentences."""
        spans = [
            s
            for s in self.spans(record)
            if len(record.text[s.start : s.end].split()) >= self.settings.summary_min_words
            and record.text[s.start : s.end] != record.title
        ]  # a headline is not a finding
        if not spans:
            return []
        texts = [record.text[s.start : s.end] for s in spans]
        vectors = self.embedder.embed(texts)
        centroid = vectors.mean(axis=0)
        score = vectors @ (centroid / max(float(np.linalg.norm(centroid)), 1e-9))
        if topic_vector is not None:
            relevance = vectors @ topic_vector
            score = np.where(relevance >= self.settings.min_relevance, score + relevance, -np.inf)
        score = score + self.settings.summary_key_fact_bonus * np.array(
            [bool(numbers(t) or names(t)) for t in texts]
        )
        positions = {s.start: i for i, s in enumerate(self.spans(record))}
        notes = [
            Note(record, s.start, s.end, positions[s.start], vectors[i], float(score[i]))
            for i, s in enumerate(spans)
            if np.isfinite(score[i])
        ]
        for note in sorted(notes, key=lambda n: -n.score)[: self.settings.summary_notes_per_doc]:
            note.key = True
        return notes

    def spans(self, record) -> list:
        if record.source not in self._spans:
            self._spans[record.source] = split_sentences(record.text)
        return self._spans[record.source]

    def context(self, note: Note) -> str:
        """The sentences before ``note`` in its article (where 'he' or 'the meeting' is named)."""
        spans = self.spans(note.record)[
            max(0, note.position - self.settings.summary_context_sentences) : note.position
        ]
        return " ".join(note.record.text[s.start : s.end] for s in spans)

    # --- citations ----------------------------------------------------------------------------------
    def cite(self, note: Note) -> dict[str, Any]:
        """The citation of a sentence, numbered in order of first use."""
        key = (note.source, note.start)
        if key not in self._numbers:
            self._numbers[key] = to_citation(len(self._numbers) + 1, note.evidence())
        return self._numbers[key].to_json()

    def item(self, line: Line, note: Note) -> dict[str, Any]:
        citation = self.cite(note)
        return {
            "text": f"{line.text} [{citation['n']}]",
            "citations": [citation],
            "rewritten": line.rewritten,
        }

    def event_date(self, note: Note) -> str:
        found = resolve_date(note.text, note.record.date)
        return found[0] if found and not found[2] else (note.record.date or NOT_STATED)

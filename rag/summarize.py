"""Briefings with citations: map (key sentences per document) -> reduce (merge, dedupe, date order).

Every point, timeline entry, actor and open question is a sentence of a source (or is verified
against one), cited with the same citation objects as answers. Dates are resolved against the
article's own date when the text is relative ("on Friday"), or kept relative and marked so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable

import numpy as np

from rag.answer import Citation, to_citation
from rag.errors import BriefError
from rag.evidence import Evidence
from rag.retrieve import Retriever, Scope
from rag.textfacts import names, numbers
from rag.verify import Passage, Verifier
from vectorstore.chunk import split_sentences

Progress = Callable[[int, int, str], None]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"]
MONTH_ABBR = {m[:3]: i + 1 for i, m in enumerate(MONTHS)} | {"sept": 9}
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTH_RE = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
DATE_PATTERNS = [
    ("month_day", re.compile(rf"\b{MONTH_RE}\s+(\d{{1,2}})(?:\s*[-–]\s*\d{{1,2}})?(?:,?\s+(\d{{4}}))?\b", re.I)),
    ("month_year", re.compile(rf"\b{MONTH_RE}\s+(\d{{4}})\b", re.I)),
    ("weekday", re.compile(r"\b(?:on |this |last )?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I)),
    ("relative_month", re.compile(r"\b(last|this|next) month\b", re.I)),
    ("in_month", re.compile(rf"\b(?:in|since|until|by)\s+(?:early |late |mid-)?{MONTH_RE}\b", re.I)),
    ("year", re.compile(r"\b(?:in|since|until|by|of)\s+(1[89]\d{2}|20\d{2})\b", re.I)),
]
ROLE = r"(?:Vice |Prime |Foreign |Interior |Homeland Security |National Security |Trade )?(?:President|Minister|Secretary(?: of (?:State|Foreign Affairs|National Defense|Homeland Security))?|Governor|Ambassador|Senator|Advisor|spokesperson)"
ACTOR = re.compile(rf"((?:[A-Z][\w.]+ )?{ROLE})(?: of [A-Z][\w]+)?,? ((?:[A-Z][\w’'\-]+ ){{0,3}}[A-Z][\w’'\-]+)")
AGENCIES = re.compile(r"\b(United Nations|U\.S\. Congress|US Congress|Department of State|Customs and Borders? (?:Protection)?|Foreign Ministry|National Palace|NBC News|EFE)\b")
OPEN_MARKERS = re.compile(r"\b(not yet confirmed|expected to|likely to|would|proposal|proposed|plan to|will use|is seeking|wants|ask(?:ed)? .* to)\b", re.I)
KEY_FACT_BONUS = 0.15  # sentences with numbers, dates and names carry a briefing
MAX_OPEN_QUESTIONS = 5


@dataclass
class Note:
    evidence: Evidence
    vector: np.ndarray
    order: tuple  # (article date or '9999', source, position)


@dataclass
class Briefing:
    topic: str | None
    scope: Scope
    points: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    actors: list[dict[str, Any]] = field(default_factory=list)
    open_questions: list[dict[str, Any]] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "points": self.points, "timeline": self.timeline, "actors": self.actors,
                "open_questions": self.open_questions, "sources": self.sources}

    def to_markdown(self) -> str:
        title = f"Briefing: {self.topic}" if self.topic else "Briefing: all sources"
        lines = [f"# {title}", "", f"_{len(self.sources)} articles: {', '.join(self.sources)}_", "", "## Headlines", ""]
        lines += [f"- {p['text']} {marks(p)}" for p in self.points]
        lines += ["", "## Timeline", ""]
        for t in self.timeline:
            when = t["date"] + (f" (relative: '{t['expression']}', article undated)" if t["relative"] else "")
            lines.append(f"- **{when}**: {t['event']} {marks(t)}")
        lines += ["", "## Key actors", ""] + [f"- **{a['name']}**: {a['role']} {marks(a)}" for a in self.actors]
        lines += ["", "## Open questions", ""] + [f"- {q['text']} {marks(q)}" for q in self.open_questions]
        lines += ["", "## Sources", ""] + [f"{c.n}. {c.source} ({c.date or 'undated'}): \"{c.quote}\"" for c in self.citations]
        return "\n".join(lines) + "\n"


def marks(item: dict[str, Any]) -> str:
    return "".join(f"[{c['n']}]" for c in item["citations"])


class Summarizer:
    def __init__(self, desk):
        self.desk = desk
        self.settings = desk.settings
        self._numbers: dict[tuple[str, int], Citation] = {}
        self.verifier = Verifier(desk.embedder, self.settings.support_threshold)

    def summarize(self, topic: str | None = None, scope: Scope = Scope(), progress: Progress | None = None) -> Briefing:
        records = [r for r in self.desk.source_index().values() if scope.allows(r.source, r.date)]
        if not records:
            raise BriefError("no ingested article matches this scope", fix="widen --since/--until/--source or run `brief ingest`")
        topic = (topic or "").strip() or None
        topic_vector = self.topic_vector(topic, scope) if topic else None
        notes: list[Note] = []
        for done, record in enumerate(sorted(records, key=lambda r: r.source), 1):
            notes += self.map_document(record, topic_vector)
            if progress:
                progress(done, len(records), record.source)
        if not notes:
            raise BriefError(f"the articles say nothing about '{topic}'", fix="try another topic or no --topic")
        self._numbers = {}
        briefing = Briefing(topic=topic, scope=scope)
        points = self.reduce(notes)
        briefing.points = [self.item(n.evidence, text=n.evidence.text) for n in points]
        briefing.timeline = self.timeline(notes, records)
        briefing.actors = self.actors(notes)
        pending = [n for n in notes if OPEN_MARKERS.search(n.evidence.text)][:MAX_OPEN_QUESTIONS]
        briefing.open_questions = [self.item(n.evidence, text=n.evidence.text) for n in pending]
        briefing.citations = sorted(self._numbers.values(), key=lambda c: c.n)
        briefing.sources = sorted({c.source for c in briefing.citations})
        return briefing

    # --- map ------------------------------------------------------------------------------------
    def topic_vector(self, topic: str, scope: Scope) -> np.ndarray:
        hits = Retriever(self.desk).retrieve(topic, scope)
        if not hits or max(h.dense for h in hits) < self.settings.min_relevance:
            raise BriefError(f"the articles say nothing about '{topic}'", fix="try another topic or no --topic")
        return self.desk.embedder.embed([topic])[0]

    def map_document(self, record, topic_vector: np.ndarray | None) -> list[Note]:
        """A document's key sentences: central to it (and to the topic), rich in facts."""
        spans = [s for s in split_sentences(record.text)
                 if len(record.text[s.start:s.end].split()) >= 6 and record.text[s.start:s.end] != record.title]  # a headline is not a finding
        if not spans:
            return []
        texts = [record.text[s.start:s.end] for s in spans]
        vectors = self.desk.embedder.embed(texts)
        centroid = vectors.mean(axis=0)
        score = vectors @ (centroid / max(float(np.linalg.norm(centroid)), 1e-9))
        if topic_vector is not None:
            relevance = vectors @ topic_vector
            keep = relevance >= self.settings.min_relevance
            if not keep.any():
                return []
            score = np.where(keep, score + relevance, -np.inf)
        score = score + KEY_FACT_BONUS * np.array([bool(numbers(t) or names(t)) for t in texts])
        top = [int(i) for i in np.argsort(-score)[: self.settings.summary_notes_per_doc] if np.isfinite(score[i])]
        return [Note(self.evidence_of(record, spans[i], texts[i]), vectors[i], (record.date or "9999", record.source, spans[i].start)) for i in sorted(top)]

    def evidence_of(self, record, span, text: str) -> Evidence:
        return Evidence(record.source, record.title, record.date, "", span.start, span.end, text, text, 1.0, 1.0, text)

    # --- reduce -----------------------------------------------------------------------------------
    def reduce(self, notes: list[Note]) -> list[Note]:
        """Drop repeats, keep every document represented, order by article date then position."""
        unique: list[Note] = []
        for note in notes:
            if all(float(note.vector @ kept.vector) < self.settings.summary_duplicate_similarity for kept in unique):
                unique.append(note)
        by_source: dict[str, list[Note]] = {}
        for note in unique:
            by_source.setdefault(note.evidence.source, []).append(note)
        chosen: list[Note] = []
        while len(chosen) < self.settings.summary_points and any(by_source.values()):
            for source in sorted(by_source):  # round robin: each article gets its say
                if by_source[source] and len(chosen) < self.settings.summary_points:
                    chosen.append(by_source[source].pop(0))
        return sorted(chosen, key=lambda n: n.order)

    def item(self, evidence: Evidence, **fields: Any) -> dict[str, Any]:
        """A briefing entry with its (verified) citation, numbered in order of first use."""
        claim = fields.get("text") or fields.get("event") or fields.get("role", "")
        if not self.verifier.supports(claim, [Passage(evidence.text, evidence.context)]):
            raise AssertionError("briefing entries are quoted sentences, so they always verify")  # pragma: no cover
        key = (evidence.source, evidence.start)
        if key not in self._numbers:
            self._numbers[key] = to_citation(len(self._numbers) + 1, evidence)
        return {**fields, "citations": [self._numbers[key].to_json()]}

    # --- timeline, actors ------------------------------------------------------------------------------
    def timeline(self, notes: list[Note], records) -> list[dict[str, Any]]:
        entries = []
        for record in sorted(records, key=lambda r: r.source):
            for span in split_sentences(record.text):
                text = record.text[span.start:span.end]
                found = resolve_date(text, record.date)
                if found:
                    when, expression, relative = found
                    entries.append((relative, when, record.source, span.start, self.evidence_of(record, span, text), expression))
        entries.sort(key=lambda e: (e[0], e[1] if not e[0] else "", e[2], e[3]))
        out = []
        seen_events = set()
        for relative, when, _, _, evidence, expression in entries:
            if evidence.text in seen_events:
                continue
            seen_events.add(evidence.text)
            out.append(self.item(evidence, date=when, event=evidence.text, relative=relative, expression=expression))
            if len(out) >= self.settings.summary_max_timeline:
                break
        return out

    def actors(self, notes: list[Note]) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for record in self.desk.source_index().values():
            if not any(n.evidence.source == record.source for n in notes):
                continue
            for span in split_sentences(record.text):
                text = record.text[span.start:span.end]
                for match in ACTOR.finditer(text):
                    role, name = match.group(1).strip(), match.group(2).strip()
                    key = name.split()[-1].lower()
                    if key not in found and len(name.split()) >= 2:
                        found[key] = self.item(self.evidence_of(record, span, text), name=name, role=role)
        return list(found.values())


def resolve_date(sentence: str, article_date: str | None) -> tuple[str, str, bool] | None:
    """The first date expression of a sentence as (date, expression, relative). Explicit dates keep
    what they state; relative ones ('on Friday', 'last month') are resolved against the article's
    date, or kept relative when the article has none. Nothing is invented."""
    anchor = date.fromisoformat(article_date) if article_date else None
    for kind, pattern in DATE_PATTERNS:
        match = pattern.search(sentence)
        if not match:
            continue
        expression = match.group(0).strip()
        if kind == "month_day":
            month, day, year = MONTH_ABBR[match.group(1).lower()[:3] if match.group(1).lower()[:4] != "sept" else "sept"], int(match.group(2)), match.group(3)
            if year:
                return f"{int(year):04d}-{month:02d}-{day:02d}", expression, False
            if anchor:
                return f"{anchor.year:04d}-{month:02d}-{day:02d}", expression, False
            return expression, expression, True
        if kind == "month_year":
            return f"{int(match.group(2)):04d}-{MONTH_ABBR[match.group(1).lower()[:3]]:02d}", expression, False
        if kind == "year":
            return match.group(1), expression, False
        if not anchor:
            return expression, expression, True
        if kind == "weekday":
            target = WEEKDAYS.index(match.group(1).lower())
            back = (anchor.weekday() - target) % 7  # news reports the most recent such day
            return (anchor - timedelta(days=back)).isoformat(), expression, False
        if kind == "relative_month":
            shift = {"last": -1, "this": 0, "next": 1}[match.group(1).lower()]
            month_index = anchor.year * 12 + anchor.month - 1 + shift
            return f"{month_index // 12:04d}-{month_index % 12 + 1:02d}", expression, False
        if kind == "in_month":
            return f"{anchor.year:04d}-{MONTH_ABBR[match.group(1).lower()[:3]]:02d}", expression, False
    return None

"""`brief summarize --changes-since DATE | OLD_BRIEFING.json`: what changed for a reader who already
read an earlier briefing (or everything up to a date).

The briefing of now (with DATE: of the articles dated on or after it) is written as usual, and a
"What changed" section is set on top, comparing it with the earlier side (with DATE: the briefing of
the articles before it; with a file: the briefing saved then by `brief summarize --json`):
- new points: the briefing's points whose source sentence repeats none of the earlier points'
  (embedding cosine below summary_duplicate_similarity);
- changed figures: the same quantity (the counted thing's head word, the same kind of figure) with
  another value now; both values cited;
- people and organisations who appear (named now, never on the earlier side) or drop out (named
  then, nowhere in what is read now);
- open questions now answered: an earlier open question and the later sentence that states (not
  plans) what it asked, at least changes_answer_similarity close to it;
- the timeline of what happened since (with DATE: only days from DATE on).
Every entry is cited in the briefing's own numbering, earlier-side entries included (their
sentences are found again in the store by place; one whose article is gone keeps its quote only).
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from rag.briefings.briefing_actors import same_actor
from rag.briefings.briefing_layout import figure_weight, source_list
from rag.briefings.briefing_model import MARKER, Briefing
from rag.briefings.briefing_text import is_pending
from rag.briefings.summarize import Note, Summarizer
from rag.errors import BriefError
from rag.questions.retrieve import Scope, check_date
from vectorstore.keyword import fold, stem

ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Earlier:
    """The side compared against: a briefing's JSON, and (when written now) the sentences it read."""

    def __init__(self, label: str, briefing: dict[str, Any], notes: list[Note] | None = None):
        self.label, self.briefing, self.notes = label, briefing, notes

    def texts(self) -> list[str]:
        """What the earlier side read: its sentences, or for a saved briefing every quote it kept."""
        if self.notes is not None:
            return [n.text for n in self.notes]
        return [c.get("quote", "") for c in self.briefing.get("citations", [])]

    def vectors(self, embedder) -> np.ndarray:
        """Vectors of what it read: the map step's, or for a saved briefing its quotes embedded now."""
        if self.notes is not None:
            return np.stack([n.vector for n in self.notes])
        return embedder.embed(self.texts())


def all_points(briefing: dict[str, Any]) -> list[dict[str, Any]]:
    return briefing.get("bottom_line", []) + [
        p for t in briefing.get("themes", []) for p in t.get("points", [])
    ]


# --- the entry point --------------------------------------------------------------------------------
def summarize_changes(
    summarizer: Summarizer, since: str, topic: str | None = None, scope: Scope = Scope(), progress=None
) -> Briefing:
    """The briefing of now with its "What changed" section (``briefing.changes``)."""
    since, day = (since or "").strip(), None
    if ISO_DAY.match(since):
        day = check_date(since, "--changes-since")
        later = Scope(since=max(day, scope.since or day), until=scope.until, sources=scope.sources)
        if later.until and later.until < day:
            raise BriefError(f"--until {later.until} is before --changes-since {day}", fix="widen --until")
        earlier = earlier_by_date(summarizer.desk, day, topic, scope)
        briefing = summarizer.summarize(topic=topic, scope=later, progress=progress)
    else:
        earlier = earlier_from_file(Path(since))
        briefing = summarizer.summarize(
            topic=topic, scope=unread(summarizer.desk, scope, earlier), progress=progress
        )
    briefing.changes = compare(summarizer, briefing, earlier, day)
    refresh_citations(summarizer, briefing)
    return briefing


def write_briefing(
    summarizer: Summarizer, topic: str | None, scope: Scope, changes_since: str | None = None, progress=None
) -> Briefing:
    """A briefing; with ``changes_since`` (a date or a saved briefing's path) one that says what changed."""
    if changes_since:
        return summarize_changes(summarizer, changes_since, topic, scope, progress)
    return summarizer.summarize(topic=topic, scope=scope, progress=progress)


def changes_reference(typed: str | None, saved: str | None) -> str | None:
    """What a form asks to compare against: a date typed, or the path of a saved briefing; not both."""
    typed = (typed or "").strip()
    if typed and saved:
        raise BriefError(
            "give a date or a saved briefing to compare with, not both", fix="clear one of the two"
        )
    return typed or (str(saved) if saved else None)


def earlier_by_date(desk, day: str, topic: str | None, scope: Scope) -> Earlier:
    """The briefing of the articles in scope dated before ``day`` (empty when there are none)."""
    before = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    label = f"before {day}"
    if scope.since and scope.since > before:
        return Earlier(label, {}, [])
    old = Summarizer(desk)
    try:
        written = old.summarize(topic=topic, scope=Scope(scope.since, before, scope.sources))
    except BriefError:  # no earlier article (or none on the topic): everything is new
        return Earlier(label, {}, [])
    return Earlier(label, written.to_json(), old.notes)


def earlier_from_file(path: Path) -> Earlier:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BriefError(
            f"--changes-since {path} is neither a date nor a readable briefing ({type(exc).__name__})",
            fix="give YYYY-MM-DD, or a file written by `brief summarize --json` (or --out FILE.json)",
        ) from None
    if not isinstance(data, dict) or "bottom_line" not in data:
        raise BriefError(f"{path.name} is not a saved briefing", fix="save one with `brief summarize --json`")
    return Earlier(f"the briefing in {path.name}", data, None)


def unread(desk, scope: Scope, earlier: Earlier) -> Scope:
    """The articles in scope that the saved briefing did not read (a file from before it listed
    what it read: those it cited, and any not dated after the latest of them)."""
    read = set(earlier.briefing.get("read") or [])
    if not read:
        cited = earlier.briefing.get("sources", [])
        read = {s["source"] for s in cited}
        latest = max((s["date"] for s in cited if s.get("date")), default=None)
        read |= {r.source for r in desk.sources() if not (r.date and latest and r.date > latest)}
    fresh = tuple(r.source for r in desk.sources() if scope.allows(r.source, r.date) and r.source not in read)
    if not fresh:
        raise BriefError(
            f"no article in scope is new since {earlier.label}",
            fix="ingest newer articles, or widen the scope",
        )
    return Scope(scope.since, scope.until, fresh)


# --- the comparison ---------------------------------------------------------------------------------
def compare(summarizer: Summarizer, briefing: Briefing, earlier: Earlier, day: str | None) -> dict[str, Any]:
    now = briefing.to_json()
    return {
        "since": day,
        "against": None if day else earlier.label,
        "earlier": earlier.label,
        "new_points": new_points(summarizer, now, earlier),
        "changed_figures": changed_figures(summarizer, now, earlier),
        "actors_new": actors_new(summarizer, now, earlier),
        "actors_gone": actors_gone(summarizer, now, earlier),
        "questions_answered": questions_answered(summarizer, earlier),
        "timeline": new_events(now, earlier, day),
    }


def new_points(summarizer: Summarizer, now: dict[str, Any], earlier: Earlier) -> list[dict[str, Any]]:
    """Points of now whose source sentence repeats nothing the earlier side read (with a date: any
    sentence of the earlier articles; with a saved briefing: any sentence it quoted)."""
    mine = all_points(now)
    if not mine or not earlier.texts():
        return mine
    vectors = summarizer.embedder.embed([quote_of(p) for p in mine])
    closest = (vectors @ earlier.vectors(summarizer.embedder).T).max(axis=1)
    return [p for p, c in zip(mine, closest) if c < summarizer.settings.summary_duplicate_similarity]


def quote_of(item: dict[str, Any]) -> str:
    cited = item.get("citations") or []
    return cited[0].get("quote", "") if cited else MARKER.sub("", item.get("text", "")).strip()


def figure_key(row: dict[str, Any]) -> tuple[str, int]:
    """A figure's quantity: the counted thing's head word (stemmed) and the kind of figure."""
    words = fold(row.get("what", "")).split()
    return (stem(words[-1]) if words else "", figure_weight(row.get("figure", "")))


def changed_figures(summarizer: Summarizer, now: dict[str, Any], earlier: Earlier) -> list[dict[str, Any]]:
    before = {}
    for row in earlier.briefing.get("figures", []):
        before.setdefault(figure_key(row), row)
    out = []
    for row in now.get("figures", []):
        old = before.get(figure_key(row))
        if old and figure_key(row)[0] and fold(old["figure"]) != fold(row["figure"]):
            out.append(
                {
                    "what": row["what"],
                    "old": {**pick(old, "figure", "what", "date"), "citations": recite(summarizer, old)},
                    "new": {**pick(row, "figure", "what", "date"), "citations": row["citations"]},
                }
            )
    return out


def pick(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: row.get(k) for k in keys}


def named_in(actor: dict[str, Any], texts: list[str]) -> bool:
    names = [actor["name"], *actor.get("aliases", [])]
    folded = [fold(t) for t in texts]
    return any(re.search(rf"\b{re.escape(fold(n))}\b", t) for n in names for t in folded)


def same_entry(a: dict[str, Any], others: list[dict[str, Any]], similar: float) -> bool:
    return any(
        same_actor(x, y, a.get("kind", "person"), similar)
        for b in others
        for x in [a["name"], *a.get("aliases", [])]
        for y in [b["name"], *b.get("aliases", [])]
    )


def actors_new(summarizer: Summarizer, now: dict[str, Any], earlier: Earlier) -> list[dict[str, Any]]:
    """People and bodies of now that the earlier side never names."""
    old, read = earlier.briefing.get("actors", []), earlier.texts()
    similar = summarizer.settings.summary_similar_first_names
    return [
        entry(a, a["citations"])
        for a in now.get("actors", [])
        if not same_entry(a, old, similar) and not named_in(a, read)
    ]


def actors_gone(summarizer: Summarizer, now: dict[str, Any], earlier: Earlier) -> list[dict[str, Any]]:
    """People and bodies of the earlier side that nothing read now names."""
    read, similar = [n.text for n in summarizer.notes], summarizer.settings.summary_similar_first_names
    return [
        entry(a, recite(summarizer, a))
        for a in earlier.briefing.get("actors", [])
        if not same_entry(a, now.get("actors", []), similar) and not named_in(a, read)
    ]


def entry(actor: dict[str, Any], citations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": actor["name"], "role": actor.get("role"), "citations": citations}


def questions_answered(summarizer: Summarizer, earlier: Earlier) -> list[dict[str, Any]]:
    """Earlier open questions and the later sentence stating what each asked (not another plan)."""
    asked = earlier.briefing.get("open_questions", [])
    stated = [n for n in summarizer.notes if not is_pending(n.text)]
    if not asked or not stated:
        return []
    questions = summarizer.embedder.embed([q["question"] for q in asked])
    answers = np.stack([n.vector for n in stated])
    similarity = questions @ answers.T
    out = []
    for q, row in zip(asked, similarity):
        best = int(np.argmax(row))
        if row[best] >= summarizer.settings.changes_answer_similarity and later_than(stated[best], q):
            answer = quoted(summarizer, stated[best])
            out.append({"question": q["question"], "asked": recite(summarizer, q), "answer": answer})
    return out


def quoted(summarizer: Summarizer, note: Note) -> dict[str, Any]:
    citation = summarizer.cite(note)
    return {"text": f"{note.text} [{citation['n']}]", "citations": [citation], "rewritten": False}


def later_than(note: Note, question: dict[str, Any]) -> bool:
    """An answer cannot be older than the question (undated either side: allowed)."""
    asked = [c.get("date") for c in question.get("citations", []) if c.get("date")]
    return not (asked and note.record.date and note.record.date < max(asked))


def new_events(now: dict[str, Any], earlier: Earlier, day: str | None) -> list[dict[str, Any]]:
    """The timeline of now: from ``day`` on, or the entries the earlier briefing did not have."""
    seen = {quote_of(t) for t in earlier.briefing.get("timeline", [])}
    return [t for t in now.get("timeline", []) if (t["date"] >= day if day else quote_of(t) not in seen)]


# --- citations ----------------------------------------------------------------------------------------
def recite(summarizer: Summarizer, item: dict[str, Any]) -> list[dict[str, Any]]:
    """An earlier entry's citations in this briefing's numbering: each quote found again in the
    store at its place; a quote whose article is gone or changed is dropped."""
    out = []
    for c in item.get("citations", []):
        record = summarizer.desk.source_records([c.get("source", "")]).get(c.get("source", ""))
        start, end = c.get("start"), c.get("end")
        if (
            record
            and isinstance(start, int)
            and isinstance(end, int)
            and record.text[start:end] == c.get("quote")
        ):
            out.append(summarizer.cite(Note(record, start, end, 0, np.zeros(1), 0.0)))
    return out


def refresh_citations(summarizer: Summarizer, briefing: Briefing) -> None:
    """The citations and sources lists again, now that the changes cite earlier articles too."""
    briefing.citations = sorted(summarizer._numbers.values(), key=lambda c: c.n)
    cited = {c.source for c in briefing.citations}
    records = summarizer.desk.source_records(sorted(cited))
    briefing.sources = source_list([records[s] for s in sorted(records)], briefing.citations)

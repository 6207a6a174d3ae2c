"""Timeline answers: dated, cited statements about the question's subject, in date order.

A statement's date is the day its sentence says the event happened ('on Friday', 'May 7, 2021',
resolved against the article's date by rag/briefings/timeline_dates.py) when that day is not after the article's
own date; otherwise (no day stated, or a plan for later) the day the article was published: when it
was reported. In an undated article a month or year the sentence states outright ('in November 2021')
dates it; a month alone in a dated article ('talks in January') often belongs to a side clause, so
there the publication date stands. The dates whose statements weigh most (their summed relevance) are chosen
first, then shown in date order, each with its best statement; statements from undated articles come
last and say so. A period the question names ('since 2021') keeps the statements dated in it (and
the undated ones, marked). The first line says how many articles in scope mention the subject.
"""

from __future__ import annotations

from collections import defaultdict

from rag.briefings.briefing_text import resolve_date
from rag.briefings.timeline_dates import day_mentions
from rag.questions.evidence import Evidence
from rag.questions.question_parts import period_of, subject_of
from rag.questions.retrieve import Scope
from rag.questions.statements import Numbering, about, articles_in_scope, gather, refuse, usable

UNDATED = "Undated article"


def statement_date(e: Evidence) -> str | None:
    """When the sentence's event happened: the day it states, if no later than its article's date;
    else its article's date (when it was reported); in an undated article, a month or year the
    sentence states outright ('in November 2021': ISO 'YYYY-MM' or 'YYYY'); else None."""
    days = [m.day for m in day_mentions(e.text, e.date)]
    past = [d for d in days if e.date is None or d <= e.date]
    if past or e.date:
        return past[0] if past else e.date
    stated = resolve_date(e.text, None)  # without an article date only explicit years resolve
    return stated[0] if stated and not stated[2] else None


def in_period(day: str | None, period: Scope) -> bool:
    """Whether a (day, month or year) date falls in the period, compared at the date's own precision."""
    if day is None:
        return True  # undated: kept, and shown apart as undated
    since, until = period.since, period.until
    return (not since or day >= since[: len(day)]) and (not until or day <= until[: len(day)])


def choose_dates(
    dated: list[tuple[str, Evidence]], most: int, per_date: int
) -> list[tuple[str, list[Evidence]]]:
    """The ``most`` dates whose statements weigh most, in date order, each with its best statements
    (``dated`` is best first, so each date's list is too)."""
    by_date: dict[str, list[Evidence]] = defaultdict(list)
    for day, e in dated:
        by_date[day].append(e)
    weight = {day: sum(e.score for e in es) for day, es in by_date.items()}
    chosen = sorted(weight, key=lambda day: (-weight[day], day))[:most]
    return [(day, by_date[day][:per_date]) for day in sorted(chosen)]


def timeline_answer(desk, question: str, scope: Scope, answer) -> None:
    """Fill ``answer`` with the timeline (or refuse it when no sentence mentions the subject)."""
    s = desk.settings
    subject, period = subject_of(question), period_of(question)
    gathered = gather(desk, question, scope, s.mode_retrieval_k)
    answer.retrieved_sources, answer.evidence = gathered.sources, gathered.sentences
    statements = [(statement_date(e), e) for e in usable(desk, about(gathered, subject))]
    statements = [(day, e) for day, e in statements if in_period(day, period)]
    if not statements:
        refuse(answer, gathered.sentences, s.refusal_closest_passages)
        return
    dated = choose_dates(
        [(d, e) for d, e in statements if d], s.timeline_answer_dates, s.timeline_answer_per_date
    )
    undated = [e for d, e in statements if d is None][: s.timeline_answer_undated]
    in_scope = [r for r in articles_in_scope(desk, scope) if in_period(r.date, period)]
    mentioning = {e.source for _, e in statements}
    write_timeline(answer, dated, undated, len(mentioning), len(in_scope))


def write_timeline(
    answer, dated: list[tuple[str, list[Evidence]]], undated: list[Evidence], n: int, of: int
) -> None:
    """The answer's text (a line per statement, the date first), citations and structured timeline."""
    numbering = Numbering()
    rows = [(day, e) for day, es in dated for e in es] + [(None, e) for e in undated]
    lines = [f"{n} of {of} articles mention this."]
    answer.timeline = []
    for day, e in rows:
        quote = numbering.quote(e)
        lines.append(f"{day or UNDATED}: {quote}")
        answer.timeline.append(
            {"date": day, "text": e.text, "citations": [numbering.cite(e).to_json()], "undated": day is None}
        )
    answer.answer, answer.citations = "\n".join(lines), numbering.citations
    answer.mentions = {"articles": n, "of": of}
    answer.answer_kind = "extractive"

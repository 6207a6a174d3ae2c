"""The days a sentence refers to: every day-level date it states or implies, resolved against the
article's publication date.

A timeline ranks days by how often the articles refer to them, so unlike ``briefing_text.resolve_date``
(the one date of what a sentence reports, month or year included) this finds every day a sentence
names: 'April 25', '25 April 2009', 'Apr. 25 , 2009', '2009-04-25', 'on Tuesday', 'yesterday',
'last night'. Month- and year-level references ('in May', 'in 2009') name no day and are left out.

Kept as rules rather than a library: dateparser's search finds dates in ordinary words of news prose
('may', 'second', 'march') and costs milliseconds a sentence, and a timeline reads tens of thousands
of sentences; HeidelTime, what the literature uses, needs Java. The rules share their month names,
year guess and future-tense test with briefing_text, so both read dates the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from rag.briefings.briefing_text import FUTURE, MONTH_RE, month_number, near_year, safe_iso
from rag.textfacts import WEEKDAYS

YEAR = r"(1[89]\d{2}|20\d{2})"
ORDINAL = r"(?:st|nd|rd|th)?"
# 'April 25', 'April 25th, 2009', 'Apr. 25 , 2009' (tokenised text puts a space before the comma)
MONTH_DAY = re.compile(rf"\b{MONTH_RE}\s+(\d{{1,2}}){ORDINAL}\b(?:\s*,?\s*{YEAR}\b)?(?![\d:.]*\d)", re.I)
# '25 April', '25th April 2009', '25 Apr'
DAY_MONTH = re.compile(rf"\b(\d{{1,2}}){ORDINAL}\s+(?:of\s+)?{MONTH_RE}(?:\s*,?\s*{YEAR}\b)?(?![\w])", re.I)
ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
WEEKDAY = re.compile(
    r"\b(?:(last|next|this)\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I
)
# Days named relative to the article's own date, and how many days from it they lie.
RELATIVE_DAYS = {
    "today": 0,
    "tonight": 0,
    "this morning": 0,
    "this afternoon": 0,
    "this evening": 0,
    "yesterday": -1,
    "last night": -1,
    "tomorrow": 1,
}
RELATIVE = re.compile(r"\b(" + "|".join(RELATIVE_DAYS) + r")\b", re.I)


@dataclass(frozen=True)
class DayMention:
    day: str  # YYYY-MM-DD
    start: int  # where the expression is in the sentence
    end: int


def day_mentions(sentence: str, published: str | None) -> list[DayMention]:
    """Every day the sentence refers to, in the order written, each expression once. Without a
    publication date only dates that state their year are resolved."""
    anchor = date.fromisoformat(published) if published else None
    future = bool(FUTURE.search(sentence))
    found: list[DayMention] = []
    taken: list[tuple[int, int]] = []
    for pattern, resolve in RESOLVERS:
        for match in pattern.finditer(sentence):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue  # '25 April 2009' is one date, not also 'April 2009'
            day = resolve(match, anchor, future)
            if day:
                found.append(DayMention(day, match.start(), match.end()))
                taken.append((match.start(), match.end()))
    return sorted(found, key=lambda m: m.start)


def from_month_day(m: re.Match, anchor: date | None, future: bool) -> str | None:
    if not m.group(1)[0].isupper():
        return None  # 'may 5' is a verb and a number; news copy capitalises months
    return day_of(
        int(m.group(3)) if m.group(3) else None, month_number(m.group(1)), int(m.group(2)), anchor, future
    )


def from_day_month(m: re.Match, anchor: date | None, future: bool) -> str | None:
    if not m.group(2)[0].isupper():
        return None  # 'all 5 may have died'
    return day_of(
        int(m.group(3)) if m.group(3) else None, month_number(m.group(2)), int(m.group(1)), anchor, future
    )


def day_of(year: int | None, month: int, day: int, anchor: date | None, future: bool) -> str | None:
    if year is None:
        if anchor is None:
            return None
        year = near_year(anchor, month, future)
    return safe_iso(year, month, day)


def from_iso(m: re.Match, anchor: date | None, future: bool) -> str | None:
    return safe_iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def from_weekday(m: re.Match, anchor: date | None, future: bool) -> str | None:
    """'Tuesday' in news copy is the latest Tuesday up to the article's date ('next Tuesday', or a
    sentence about the future: the coming one); 'last Tuesday' is one before the article's day."""
    if anchor is None:
        return None
    target = WEEKDAYS.index(m.group(2).lower())
    which = (m.group(1) or "").lower()
    if which == "next" or (future and which != "last"):
        ahead = (target - anchor.weekday()) % 7 or (7 if which == "next" else 0)
        return (anchor + timedelta(days=ahead)).isoformat()
    back = (anchor.weekday() - target) % 7 or (7 if which == "last" else 0)
    return (anchor - timedelta(days=back)).isoformat()


def from_relative(m: re.Match, anchor: date | None, future: bool) -> str | None:
    if anchor is None:
        return None
    return (anchor + timedelta(days=RELATIVE_DAYS[m.group(1).lower()])).isoformat()


# Most specific first: a stated year beats a guessed one, and an expression is read once.
RESOLVERS = (
    (ISO_DAY, from_iso),
    (MONTH_DAY, from_month_day),
    (DAY_MONTH, from_day_month),
    (WEEKDAY, from_weekday),
    (RELATIVE, from_relative),
)

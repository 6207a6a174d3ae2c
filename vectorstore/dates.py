"""Publication dates a document states about itself: HTML metadata, front matter, a date line on top.

Parsing goes through htmldate (the library trafilatura uses), which knows the many ways news pages
write dates. Only what the document states is taken: a date line must give a day, month and year; a
bare year or a date in the body text is never a publication date.
"""

from __future__ import annotations

import re
from datetime import date
from html import escape

DATE_LINE_MAX_CHARS = 80  # a line longer than this is body text, not a dateline
DATE_LINE_SEARCH = 5  # dates are looked for in this many first non-empty lines
EARLIEST = "1900-01-01"  # htmldate ignores dates before this
ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
LABELLED_ISO = re.compile(
    r"^\s*(?:date|published|updated|posted)(?:\s+on)?\s*:?\s*(?P<date>\d{4}-\d{2}-\d{2})(?:[T ][\d:.+\-Z]*)?\s*",
    re.IGNORECASE,
)
DATELINE_OTHER_WORDS = 3  # a dateline holds a date and at most this many other words (a byline's name)
# Words a dateline may hold besides the date itself (labels, weekdays, time zones).
DATELINE_WORDS = frozenset(
    """published updated posted modified last first by on at date am pm gmt utc est edt cet cest pst pdt
    mon tue wed thu fri sat sun monday tuesday wednesday thursday friday saturday sunday""".split()
)
FRONT_MATTER_FENCE = "---"
FRONT_MATTER_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)\s*:\s*(?P<value>.*?)\s*$")


def parse_iso_date(value: str) -> str | None:
    match = ISO_DATE.search(value or "")
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3))).isoformat()
    except ValueError:
        return None


def front_matter(lines: list[str]) -> tuple[list[str], dict[str, str]]:
    """Markdown front matter ('---' / 'key: value' lines / '---') read and removed. Kept flat on
    purpose: news front matter is key: value pairs, and a YAML parser would turn dates into objects."""
    if not lines or lines[0].strip() != FRONT_MATTER_FENCE:
        return lines, {}
    for end in range(1, len(lines)):
        if lines[end].strip() == FRONT_MATTER_FENCE:
            pairs = [FRONT_MATTER_KEY.match(line) for line in lines[1:end] if line.strip()]
            if not all(pairs):
                return lines, {}  # not front matter after all (a horizontal rule, say)
            meta = {m.group("key").lower(): m.group("value").strip("\"'") for m in pairs}
            return lines[end + 1 :], meta
    return lines, {}


def date_in_line(line: str) -> str | None:
    """The full date a short line states ('January 5, 2024', 'Published: 5 Jan 2024 10:32'), or None."""
    if len(line.strip()) > DATE_LINE_MAX_CHARS or not re.search(r"\d{4}", line):
        return None
    if (
        len(
            [
                w
                for w in re.findall(r"[^\W\d_]+", line.lower())
                if w not in DATELINE_WORDS and not month_word(w)
            ]
        )
        > DATELINE_OTHER_WORDS
    ):
        return None
    from htmldate import find_date

    found = find_date(
        f"<html><body><p>{escape(line)}</p></body></html>",
        extensive_search=True,
        original_date=True,
        outputformat="%Y-%m-%d",
        min_date=EARLIEST,
    )
    if not found:
        return None
    year, _, day = (int(x) for x in found.split("-"))
    stated = {int(n) for n in re.findall(r"\d+", line)}
    return found if year in stated and day in stated else None  # htmldate fills a missing day with 1


def month_word(word: str) -> bool:
    """English or Spanish month names and their abbreviations ('jan', 'sept', 'enero', 'de')."""
    months = (
        "january february march april may june july august september october november december "
        "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre de del"
    ).split()
    return any(m.startswith(word) and (len(word) >= 3 or word == m) for m in months)


def take_date_line(lines: list[str]) -> tuple[list[str], str | None]:
    """A date stated at the top: 'date 2023-09-26 ...' (the rest of that line kept) or a dateline
    ('January 5, 2024') among the first non-empty lines, which is removed."""
    seen = 0
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if match := LABELLED_ISO.match(line):
            if stated := parse_iso_date(match.group("date")):
                rest = line[match.end() :].strip()
                return lines[:i] + ([rest] if rest else []) + lines[i + 1 :], stated
        if stated := date_in_line(line):
            return lines[:i] + lines[i + 1 :], stated
        seen += 1
        if seen >= DATE_LINE_SEARCH:
            break
    return lines, None


def html_date(html: str) -> str | None:
    """The publication date in a page's markup (meta tags, JSON-LD datePublished, <time>), not guessed
    from the body text."""
    from htmldate import find_date

    try:
        return find_date(
            html, extensive_search=False, original_date=True, outputformat="%Y-%m-%d", min_date=EARLIEST
        )
    except (ValueError, TypeError):
        return None

"""Remove news-page boilerplate and read the title, date and outlet a text states about itself.

HTML pages reach this point already reduced to their main text by trafilatura (vectorstore/loaders).
What is left is text that was scraped to plain text elsewhere, where no extractor can see the page
structure any more: the line rules below cover the generic furniture of news pages (share buttons,
"Read more:" teasers, photo credits, copyright lines), working line by line so the article's own
sentences pass through unchanged. Words glued together where a link lost its space are then
repaired (vectorstore/glue.py, word frequencies from wordfreq), before chunking, so quotes and
offsets point into the repaired text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vectorstore.dates import front_matter, parse_iso_date, take_date_line
from vectorstore.glue import repair_glued_words

TITLE_MAX_CHARS = 160  # a first line longer than this is body text, not a headline
CAPTION_MAX_CHARS = 100  # photo captions/credits are short lines

# Whole lines that are site chrome.
CHROME_LINES = re.compile(
    r"^(skip to (main )?content|share this( article| story)?:?|advertisement|subscribe( now)?|"
    r"sign up for our newsletter.*|click here to .*|follow us on .*|print|email)$",
    re.IGNORECASE,
)
# Teasers for other stories inserted between paragraphs ("LOOK HERE: ...", "MORE INFORMATION: ...").
TEASER_LINES = re.compile(
    r"^(look here|more information|read more|read also|also read|related|see also|you may also like|recommended)\s*:",
    re.IGNORECASE,
)
# Everything after these is the page's "most popular"/"related" tail, not the article.
TAIL_MARKERS = re.compile(
    r"^(most popular|most read|trending( now)?|related (articles|stories|news)|more from .*)$", re.IGNORECASE
)
COPYRIGHT_LINE = re.compile(r"^(©|\(c\)|copyright\b).*", re.IGNORECASE)
COPYRIGHT_OUTLET = re.compile(
    r"^(?:©|\(c\)|copyright)\s*(?:\d{4}\s*)?(?P<outlet>[^.]+?)\.?\s*(all rights reserved|$)", re.IGNORECASE
)
PHOTO_CREDIT = re.compile(
    r"(\bCC BY(-SA|-ND|-NC)*\b|via Wiki\w*\s+Commons|\bphoto( by|:)|\bGetty Images\b|\bShutterstock\b|"
    r"\b(AP|AFP|EFE|Reuters) Photo\b|\.(jpe?g|png|gif|webp)\s*$)",
    re.IGNORECASE,
)
# A short caption ending in the platform the picture was taken from ("The presidents ... Twitter").
CAPTION_CREDIT_SUFFIX = re.compile(r"\s(Twitter|X|Instagram|Facebook|Getty Images|AFP|EFE|Shutterstock)$")
SOURCE_LINE = re.compile(r"^source:\s*(?P<outlet>.+?)\s*(\((?:en|es|fr|pt)\))?\s*$", re.IGNORECASE)


@dataclass
class CleanedDocument:
    text: str
    title: str
    date: str | None  # ISO yyyy-mm-dd when the text states it
    outlet: str | None
    author: str | None = None


def clean_document(raw: str, hints: dict[str, str] | None = None) -> CleanedDocument:
    """Clean a scraped article; ``hints`` are title/date/outlet read from markup (HTML meta, PDF info)."""
    lines = normalise_newlines(raw).split("\n")
    lines, meta = front_matter(lines)
    hints = {**meta, **(hints or {})}
    lines, stated_date = take_date_line(lines)
    lines, outlet = drop_boilerplate(lines)
    lines = drop_repeated_heading(lines)
    text = repair_glued_words(join_paragraphs(lines))
    return CleanedDocument(
        text=text,
        title=hints.get("title") or guess_title(text),
        date=parse_iso_date(hints.get("date", "")) or stated_date,
        outlet=outlet or hints.get("outlet") or hints.get("sitename"),
        author=hints.get("author") or None,
    )


def normalise_newlines(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    return "\n".join(line.rstrip() for line in text.split("\n"))


def drop_boilerplate(lines: list[str]) -> tuple[list[str], str | None]:
    kept: list[str] = []
    outlet = None
    for line in lines:
        stripped = line.strip()
        if TAIL_MARKERS.match(stripped):
            break
        if source := SOURCE_LINE.match(stripped):
            outlet = outlet or source.group("outlet").strip()
            continue
        if COPYRIGHT_LINE.match(stripped):
            found = COPYRIGHT_OUTLET.match(stripped)
            outlet = outlet or (found.group("outlet").strip() if found else None)
            continue
        if CHROME_LINES.match(stripped) or TEASER_LINES.match(stripped) or is_photo_credit(stripped):
            continue
        kept.append(line)
    return kept, outlet


def is_photo_credit(line: str) -> bool:
    if not line or len(line) > CAPTION_MAX_CHARS:
        return False
    if PHOTO_CREDIT.search(line):
        return True
    return not line.endswith((".", "!", "?", '"', "”")) and bool(CAPTION_CREDIT_SUFFIX.search(line))


def drop_repeated_heading(lines: list[str]) -> list[str]:
    """A headline printed twice (once with a section label, 'Title News') keeps only the plain copy."""
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    if len(nonblank) < 2:
        return lines
    first = lines[nonblank[0]].strip()
    for i in nonblank[1:4]:
        other = lines[i].strip()
        if other and other != first and first.startswith(other) and len(first) - len(other) <= 20:
            return lines[: nonblank[0]] + lines[nonblank[0] + 1 :]
    return lines


def join_paragraphs(lines: list[str]) -> str:
    text = "\n".join(lines).strip()
    return re.sub(r"\n{3,}", "\n\n", text)


def guess_title(text: str) -> str:
    first = text.split("\n", 1)[0].strip()
    if first and len(first) <= TITLE_MAX_CHARS and not first.endswith("."):
        return first
    from vectorstore.chunk import split_sentences

    spans = split_sentences(first)
    sentence = first[spans[0].start : spans[0].end] if spans else first
    return sentence if len(sentence) <= TITLE_MAX_CHARS else sentence[: TITLE_MAX_CHARS - 1].rstrip() + "…"

"""Sentence splitting with character offsets, and sentence-aware chunking with overlap.

Every span is a (start, end) pair into the cleaned text, so a chunk's or sentence's text is always
``text[start:end]`` and a citation can point at the exact characters it quotes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# Words that end in a period without ending a sentence.
ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "sr",
    "jr",
    "st",
    "gen",
    "gov",
    "sen",
    "rep",
    "pres",
    "lt",
    "col",
    "capt",
    "sgt",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "no",
    "vs",
    "etc",
    "inc",
    "ltd",
    "co",
    "corp",
    "dept",
    "approx",
    "est",
    "fig",
    "vol",
    "ft",
    "mt",
}
BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9¿¡ÁÉÍÓÚÑ])|\n+")
WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    source: str
    index: int
    start: int
    end: int
    text: str


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans of ``text[start:end]`` (offsets into ``text``), whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    cursor = start
    for match in BOUNDARY.finditer(text, start, end):
        if match.group().startswith("\n") or not is_abbreviation(text, match.start()):
            add_trimmed(text, cursor, match.end(), spans)
            cursor = match.end()
    add_trimmed(text, cursor, end, spans)
    return spans


def is_abbreviation(text: str, period_at: int) -> bool:
    """True when the period at ``period_at`` closes an abbreviation or initial, not a sentence."""
    if text[period_at] != ".":
        return False
    match = WORD_BEFORE.search(text, max(0, period_at - 20), period_at + 1)
    if not match:
        return False
    word = match.group(1)
    if "." in word or len(word) == 1:  # U.S. / U.N. / initials like "J."
        return True
    return word.lower() in ABBREVIATIONS


def add_trimmed(text: str, start: int, end: int, spans: list[Span]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append(Span(start, end))


def chunk_text(text: str, source: str, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Group sentences into chunks of about ``chunk_size`` characters; the next chunk repeats the
    trailing sentences of the previous one, up to ``chunk_overlap`` characters."""
    sentences = [piece for span in split_sentences(text) for piece in split_long(text, span, chunk_size)]
    chunks: list[Chunk] = []
    first = 0
    while first < len(sentences):
        last = first
        while last + 1 < len(sentences) and sentences[last + 1].end - sentences[first].start <= chunk_size:
            last += 1
        start, end = sentences[first].start, sentences[last].end
        chunks.append(make_chunk(source, len(chunks), start, end, text))
        if last + 1 >= len(sentences):
            break
        first = next_first_sentence(sentences, first, last, chunk_overlap)
    return chunks


def next_first_sentence(sentences: list[Span], first: int, last: int, chunk_overlap: int) -> int:
    """Step back from the sentence after ``last`` while the overlap stays within budget, always
    moving forward at least one sentence so chunking ends."""
    nxt = last + 1
    while nxt - 1 > first and sentences[last].end - sentences[nxt - 1].start <= chunk_overlap:
        nxt -= 1
    return nxt


def split_long(text: str, span: Span, limit: int) -> list[Span]:
    """Cut a sentence longer than ``limit`` at whitespace so no chunk exceeds the limit."""
    if span.end - span.start <= limit:
        return [span]
    pieces: list[Span] = []
    start = span.start
    while span.end - start > limit:
        cut = text.rfind(" ", start + 1, start + limit)
        cut = cut if cut > start else start + limit
        add_trimmed(text, start, cut, pieces)
        start = cut
    add_trimmed(text, start, span.end, pieces)
    return pieces


def make_chunk(source: str, index: int, start: int, end: int, text: str) -> Chunk:
    return Chunk(
        chunk_id=chunk_id(source, start, end),
        source=source,
        index=index,
        start=start,
        end=end,
        text=text[start:end],
    )


def chunk_id(source: str, start: int, end: int) -> str:
    return hashlib.sha1(f"{source}:{start}:{end}".encode()).hexdigest()[:24]

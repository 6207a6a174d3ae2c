"""The reader's unit: a sentence with the sentence before it, cut by the pipeline's own splitter,
so what the reader is trained on breaks where what it reads at inference breaks."""

from __future__ import annotations

import functools
import random
import re

from eval.squad import normalize_answer
from rag.toolkit import split_sentences

Bounds = tuple[tuple[int, int], ...]


@functools.lru_cache(maxsize=8192)
def sentence_bounds(paragraph: str) -> Bounds:
    """(start, end) of each sentence. Cached: every question of a paragraph splits it again."""
    return tuple((s.start, s.end) for s in split_sentences(paragraph))


@functools.lru_cache(maxsize=8192)
def inference_windows(paragraph: str) -> tuple[str, ...]:
    """What the pipeline feeds the reader: each sentence with the one before it."""
    bounds = sentence_bounds(paragraph)
    return tuple(paragraph[bounds[max(0, i - 1)][0] : end] for i, (_, end) in enumerate(bounds))


def window(paragraph: str, bounds: Bounds, lo: int, hi: int) -> tuple[str, int]:
    """Sentences lo..hi (inclusive, clipped to the paragraph) as one verbatim passage, and its offset."""
    lo, hi = max(0, lo), min(len(bounds) - 1, hi)
    return paragraph[bounds[lo][0] : bounds[hi][1]], bounds[lo][0]


def sentence_index(bounds: Bounds, char: int) -> int:
    """The sentence holding character ``char`` (the last one for a character past the end)."""
    for i, (_, end) in enumerate(bounds):
        if char < end:
            return i
    return len(bounds) - 1


def answer_window(paragraph: str, start: int, end: int, rng: random.Random) -> tuple[str, int]:
    """A window of the inference shape holding the answer at [start, end): the answer's sentence
    with the one before it, or with the one after (the window of the next sentence): both occur."""
    bounds = sentence_bounds(paragraph)
    first, last = sentence_index(bounds, start), sentence_index(bounds, end - 1)
    if rng.random() < 0.5 or last + 1 >= len(bounds):
        return window(paragraph, bounds, first - 1, last)
    return window(paragraph, bounds, first, last + 1)


def locate_answer(paragraph: str, text: str, start: int) -> int | None:
    """Character start of the answer: the given offset when it matches, else the nearest occurrence
    (some offsets are off by a few characters, and squad11-train's were found by searching)."""
    if paragraph[start : start + len(text)] == text:
        return start
    found = [m.start() for m in re.finditer(re.escape(text), paragraph)]
    return min(found, key=lambda i: abs(i - start)) if found else None


def lacks(text: str, answers: list[str]) -> bool:
    """No answer occurs in the text (normalised), so it can stand as a no-answer window."""
    norm = f" {normalize_answer(text)} "
    return not any(f" {normalize_answer(a)} " in norm for a in answers if normalize_answer(a))

"""Repair words glued together where a scraped link lost its trailing space ("Obradorand").

wordfreq gives how common each word is (Zipf scale: 7 is "the", 3 is once per million words, 0 is
unknown). wordfreq has no segmenter and wordsegment folds text to ASCII lowercase (so "Bárcena" loses
its accent and the split point its offset), hence the small two-way split below: a token is split
only when the whole is unknown, the tail is a common lowercase word, and the head is a known word
or occurs on its own elsewhere in the same text. Anything less certain is left as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class GlueRules:
    """Thresholds, on wordfreq's Zipf scale, chosen on tests/test_clean_glue.py's labelled list."""

    whole_max: float = 1.0  # a token this common (or more) is a word or a known name: never split
    tail_min: float = 4.0  # the glued-on word must be at least this common ("met" 5.1, "occurs" 4.3)
    head_min: float = 1.5  # the first part must be a known word or name ("Obrador" 2.1)...
    head_chars: int = 3  # ...of at least this many letters (or occur on its own in the text)
    tail_chars: int = 3  # tails shorter than this ("a", "to") are too often real word endings
    short_tail: int = (
        3  # a tail this short ("met", but also "son", "man", "nov") needs the head used alone in the text
    )
    min_chars: int = 7  # tokens shorter than this are left alone
    name_chars: int = 5  # an unknown capitalised head this long may stand before a joining word
    lang: str = "en"


DEFAULT_RULES = GlueRules()
# Closed-class English words that join clauses or phrases. After one of these, an unknown
# capitalised head is still split off ("Bárcenaalthough"): names rarely end in a conjunction, while
# they often end in common nouns ("-man", "-land", "-wood"), which is why only these are trusted.
JOINING_WORDS = frozenset(
    """and although because between where whereas which while who whom whose with without
    against among through during after before since until unless""".split()
)
TOKEN = re.compile(r"(?<![\w’'\-])[^\W\d_]{7,}(?![\w’'\-])")


@lru_cache(maxsize=200_000)
def zipf(word: str, lang: str) -> float:
    from wordfreq import zipf_frequency  # its word lists load on first use (~0.3 s)

    return zipf_frequency(word, lang)


def split_point(token: str, standalone: frozenset[str], rules: GlueRules = DEFAULT_RULES) -> int | None:
    """Where to put the missing space in ``token``, or None when the split is not confident."""
    if len(token) < rules.min_chars or zipf(token.lower(), rules.lang) >= rules.whole_max:
        return None
    best, best_score = None, 0.0
    for cut in range(rules.head_chars, len(token) - rules.tail_chars + 1):
        head, tail = token[:cut], token[cut:]
        if not tail.islower():
            continue
        tail_z = zipf(tail, rules.lang)
        head_z = max(
            zipf(head.lower(), rules.lang),
            rules.head_min if known_head(head, tail, standalone, rules) else 0.0,
        )
        if tail_z < rules.tail_min or head_z < rules.head_min:
            continue
        if len(tail) <= rules.short_tail and tail not in JOINING_WORDS and head.lower() not in standalone:
            continue
        if head_z + tail_z > best_score:
            best, best_score = cut, head_z + tail_z
    return best


def known_head(head: str, tail: str, standalone: frozenset[str], rules: GlueRules) -> bool:
    """An unknown head still counts as a word when the text uses it on its own, or when it is
    name-shaped and followed by a joining word."""
    if head.lower() in standalone:
        return True
    return tail in JOINING_WORDS and head[0].isupper() and len(head) >= rules.name_chars


def repair_glued_words(text: str, rules: GlueRules = DEFAULT_RULES) -> str:
    """``text`` with a space put back inside each confidently glued token; nothing else changes."""
    candidates = [m for m in TOKEN.finditer(text) if zipf(m.group(0).lower(), rules.lang) < rules.whole_max]
    if not candidates:
        return text
    standalone = frozenset(w.lower() for w in re.findall(r"[^\W\d_]+", text))
    parts, last = [], 0
    for match in candidates:
        cut = split_point(match.group(0), standalone, rules)
        if cut is not None:
            parts += [text[last : match.start() + cut], " "]
            last = match.start() + cut
    return "".join(parts) + text[last:]

"""What a sentence asserts that a source must contain: numbers, dates, names, negations, content words.

Shared by evidence selection, the answerability gate and the verifier so all three read text the
same way.
"""

from __future__ import annotations

import re

from vectorstore.keyword import STOPWORDS, fold, stem, tokenize

NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TIME_WORDS = frozenset(MONTHS + WEEKDAYS)
NEGATIONS = frozenset({"not", "no", "never", "neither", "nor", "without", "none", "cannot", "refused", "denied", "rejected"})
NUMBER_WORDS = frozenset("one two three four five six seven eight nine ten eleven twelve twenty thirty hundred thousand million billion half dozen".split())
# Names written differently in news copy; each side counts as the other when checking presence.
ALIASES = {"amlo": "lopez obrador", "u.s.": "united states", "us": "united states", "u.n.": "united nations", "un": "united nations"}
NAME_PREFIX = 5  # "Mexico" matches "Mexican", "Honduras" matches "Honduran": same entity, other form
# Capitalised words that are roles, titles or sentence furniture, not names a source must repeat.
NOT_NAMES = frozenset(
    """the a an he she it they we i in on at as but and or if his her its their this that these those
    what who whom which when where why how did does do is are was were has have had will would could should
    president vice secretary minister foreign interior governor prime ambassador senator mr mrs ms dr
    also according however meanwhile after before while during since there here our your my us
    u.s us mexican american each every both many most more some several""".split()
) | NUMBER_WORDS
NOT_NAMES = frozenset(NOT_NAMES
)
NAME = re.compile(r"(?<![\w’'])([A-ZÁÉÍÓÚÑ][\w’'\-]*(?:\.[A-Z]\.?)?)")


def numbers(text: str) -> set[str]:
    """Numbers as written without thousands separators: '$310 million' -> {'310'}, '2,000' -> {'2000'}."""
    return {n.replace(",", "").rstrip(".") for n in NUMBER.findall(text)}


def time_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", fold(text)) if w in TIME_WORDS}


def names(text: str) -> set[str]:
    """Folded capitalised words that look like names (people, places, organisations);
    hyphenated names count by their parts ('Asia-Pacific' -> 'asia', 'pacific')."""
    found = set()
    for word in NAME.findall(text):
        for part in re.sub(r"[’']s$", "", fold(word)).split("-"):  # "Mexico's" -> "mexico"
            part = part.strip("’'.")
            if len(part) > 1 and part not in NOT_NAMES and part not in TIME_WORDS and part not in STOPWORDS:
                found.add(part)
    return found


def name_present(name: str, words: set[str]) -> bool:
    if name in words or stem(name) in words:
        return True
    if len(name) >= NAME_PREFIX and any(w.startswith(name[:NAME_PREFIX]) for w in words):
        return True
    for short, long in ALIASES.items():
        bare, parts = short.replace(".", ""), long.split()
        if name == bare and all(p in words for p in parts):  # claim says AMLO, source López Obrador
            return True
        if name in parts and bare in words:  # claim says López Obrador, source AMLO
            return True
    return False


def expand_aliases(text: str) -> str:
    """Append the long form of known short names so 'U.S.' also reads as 'United States'."""
    folded = fold(text)
    extra = [long for short, long in ALIASES.items() if re.search(rf"(?<![\w.]){re.escape(short)}(?![\w])", folded)]
    return text + (" " + " ".join(extra) if extra else "")


def has_negation(text: str) -> bool:
    words = set(re.findall(r"[a-z’']+", fold(text)))
    return bool(words & NEGATIONS) or any(w.endswith(("n't", "n’t")) for w in words)


def content_terms(text: str) -> set[str]:
    return set(tokenize(text))


def word_set(text: str) -> set[str]:
    """Folded words of a text, with light stemming and the acronyms of its capitalised phrases
    ('Asia-Pacific Economic Cooperation' -> 'apec'), for presence checks of names and terms."""
    words = re.findall(r"\w+", fold(text))
    return {stem(w) for w in words} | set(words) | acronyms(text)


CAPITALISED_RUN = re.compile(r"(?:[A-Z][\w’']*(?:[\s-]+(?:of|and|for|the|de)?\s*)?){2,}")


def acronyms(text: str) -> set[str]:
    found = set()
    for run in CAPITALISED_RUN.findall(text):
        initials = "".join(w[0] for w in re.split(r"[\s-]+", run) if w and w[0].isupper())
        if len(initials) >= 2:
            found.add(initials.lower())
    return found


def missing_facts(claim: str, passage: str, context: str) -> list[str]:
    """Facts the claim states that the cited text lacks: numbers and dates must be in the passage
    itself; names may come from its surrounding context (pronouns refer back to them)."""
    missing = [f"number {n}" for n in numbers(claim) - numbers(passage)]
    missing += [f"date word {w}" for w in time_words(claim) - time_words(passage)]
    context_words = word_set(expand_aliases(passage + " " + context))
    missing += [f"name {n}" for n in sorted(names(claim)) if not name_present(n, context_words)]
    return missing

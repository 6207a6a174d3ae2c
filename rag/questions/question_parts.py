"""What a timeline, comparison or descriptive question is about: its subject, its period, its sides.

Rules over the question's wording, not a model: the phrases below are the general English of these
question forms ('compare A and B', 'A vs B', 'how has X changed since 2021', 'what did A and B
discuss'); none is about a particular story. The subject is the question minus its form words: what
the statements must mention. A side that is a year ('2024 compared with 2021') is a period: the
articles dated in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.questions.retrieve import Scope
from rag.textfacts import content_terms, names

YEAR = r"(?:1[89]\d{2}|20\d{2})"
# The words that make a question's form, taken out to leave its subject (whole phrases first).
FORM_PHRASES = re.compile(
    r"\b(?:give (?:me )?(?:a |the )?(?:timeline|chronology|history) of|trace the (?:history|timeline) of|"
    rf"(?:a |the )?(?:timeline|chronology|history|evolution) of|what (?:has |have )?happened (?:with|to|since)|"
    r"over (?:the )?(?:years|decades|months|weeks|time|past \w+|last \w+|following \w+|course of)|so far|"
    r"how (?:has|have|had|did|does|do|is|are|was|were)|what (?:is|are|was|were|did|does|do|has|have)|"
    rf"why (?:did|does|do|is|are|was|were|has|have)|since {YEAR}|since \w+|in {YEAR}|"
    r"(?:changed|change|evolved|evolve|developed|develop|shifted|progressed|grown|grow)|"
    r"compared? (?:with|to)?|compare|differ(?:ences?)? (?:between|from)|each|vs\.?|versus|"
    r"discuss(?:ed)?|talk(?:ed)? about|say about|said about|says about|think about|want|wants|"
    r"explain|describe|tell me about|new)\b",
    re.I,
)
LEADING_WORDS = re.compile(r"^(?:(?:the|a|an|of|and|about|on|with|between|what|how|why|who)\s+)+", re.I)
TRAILING_WORDS = re.compile(r"(?:\s+(?:the|a|an|of|and|about|on|with|in|to|at|for|said|say|says))+$", re.I)
SINCE = re.compile(rf"\bsince (?:(?:early|late|mid-?)\s*)?({YEAR})\b", re.I)
BEFORE = re.compile(rf"\b(?:before|until|up to) ({YEAR})\b", re.I)
PERIOD = re.compile(rf"^(?:(?:in|during|the year)\s+)?({YEAR})$", re.I)
TOPIC_CUT = r"\s+(?:about|on|over|regarding|concerning|in terms of|when it comes to)\s+"
SAID_VERBS = r"(?:said|say|says|think|thinks|thought|did|do|does|want|wants|wanted|proposed?|claimed?|reported|argued?)"
SIDE_PATTERNS = tuple(
    re.compile(p, re.I)
    for p in (
        rf"^compare\s+(?:what\s+|how\s+)?(?P<sides>.+?)(?:\s+{SAID_VERBS})?(?:{TOPIC_CUT}(?P<topic>.+))?$",
        rf"^(?:what|how)\s+(?:did|do|does)\s+(?P<sides>.+?)\s+each\s+\w+(?:{TOPIC_CUT}(?P<topic>.+))?$",
        rf"^(?:what|which)\s+(?:is|are|was|were)\s+the\s+(?:\w+\s+)?differences?\s+between\s+(?P<sides>.+?)(?:{TOPIC_CUT}(?P<topic>.+))?$",
        r"^what\s+is\s+new\s+in\s+(?P<a>.+?)\s+compared\s+(?:with|to)\s+(?P<b>.+)$",
        rf"^how\s+(?:does|do|did|is|are|was|were)\s+(?P<a>.+?)\s+(?:compare|differ)s?\s+(?:to|with|from)\s+(?P<b>.+?)(?:{TOPIC_CUT}(?P<topic>.+))?$",
        rf"^(?P<a>.+?)\s+(?:vs\.?|versus)\s+(?P<b>.+?)(?:(?:\s*[:,;]\s*|{TOPIC_CUT})(?P<topic>.+))?$",
        rf"^(?:what\s+(?:did|does|do|is|are|was|were)\s+)?(?P<a>.+?)\s+compared\s+(?:with|to)\s+(?P<b>.+?)(?:{TOPIC_CUT}(?P<topic>.+))?$",
    )
)
SIDE_SPLIT = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+|\s+vs\.?\s+|\s+versus\s+", re.I)


@dataclass(frozen=True)
class Subject:
    """What statements must mention: the name words (folded) and the other content terms (stemmed)."""

    text: str
    names: frozenset[str]
    terms: frozenset[str]

    @classmethod
    def of(cls, text: str) -> Subject:
        found = frozenset(names(text))
        terms = frozenset(content_terms(text)) - found - frozenset(content_terms(" ".join(found)))
        return cls(text, found, terms)

    @property
    def empty(self) -> bool:
        return not self.names and not self.terms


@dataclass(frozen=True)
class Side:
    label: str  # as the question says it
    subject: Subject
    period: Scope | None = None  # a side that is a year: the articles dated in it


def clean(text: str) -> str:
    text = re.sub(r"[?.!]+$", "", text.strip())
    text = TRAILING_WORDS.sub("", LEADING_WORDS.sub("", text.strip(" ,;:")))
    return " ".join(text.split())


def subject_of(question: str) -> Subject:
    """The question minus its form words (and years, which become its period)."""
    remainder = FORM_PHRASES.sub(" ", re.sub(r"[?.!]+", " ", question))
    return Subject.of(clean(re.sub(rf"\b{YEAR}\b", " ", remainder)))


def period_of(question: str) -> Scope:
    """The period a timeline question names: 'since 2021' (from its first day), 'before 2024'."""
    since, before = SINCE.search(question), BEFORE.search(question)
    return Scope(
        since=f"{since.group(1)}-01-01" if since else None,
        until=f"{int(before.group(1)) - 1}-12-31" if before else None,
    )


def comparison_sides(question: str) -> tuple[list[Side], Subject]:
    """The sides a comparison question sets against each other (two or more; none when its wording
    gives none), and the topic they are compared on (maybe empty)."""
    text = re.sub(r"^\s*(?:please\s+)?|[?.!]+\s*$", "", question).strip()
    for pattern in SIDE_PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        found = m.groupdict()
        raw = SIDE_SPLIT.split(found["sides"]) if found.get("sides") else [found["a"], found["b"]]
        labels = [clean(s) for s in raw if clean(s)]
        if len(labels) >= 2:
            return [side_of(label) for label in labels], topic_of(found.get("topic"), labels, question)
    return [], subject_of(question)


def topic_of(topic: str | None, labels: list[str], question: str) -> Subject:
    if topic:
        return subject_of(topic)
    rest = subject_of(question)
    taken = set().union(*(Subject.of(label).names | Subject.of(label).terms for label in labels))
    return Subject(rest.text, rest.names - taken, rest.terms - taken)


def side_of(label: str) -> Side:
    year = PERIOD.match(label)
    if year:
        y = year.group(1)
        return Side(
            label, Subject(label, frozenset(), frozenset()), Scope(since=f"{y}-01-01", until=f"{y}-12-31")
        )
    return Side(label, Subject.of(label))

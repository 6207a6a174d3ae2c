"""Who's who: people with the role the articles give them, and the bodies they name.

Mentions are read with patterns for how news copy introduces people ('Interior Minister Luisa
Alcalde', 'the Secretary of State, Antony Blinken', 'X, commonly known as Y') and bodies ('the
Foreign Ministry', 'Customs and Border Protection (CBP)'). Spelling variants and short forms are
merged: same surname with similar first names ('Antony'/'Anthony'), accents ignored, or one name a
part of the other ('López Obrador' in 'Andrés Manuel López Obrador').
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from rag.briefings.briefing_text import default
from vectorstore.keyword import fold

UPPER = "A-ZÁÉÍÓÚÑÜ"
NAME_WORD = rf"[{UPPER}][a-záéíóúñü’'\-]+"
PERSON = rf"(?P<name>{NAME_WORD}(?:\s+{NAME_WORD}){{1,3}})"
ROLE_WORDS = (
    r"(?:Vice |vice |Prime |prime |Deputy |deputy |Foreign |foreign |Interior |interior )?(?:President|president|Minister|minister|"
    r"Secretary|secretary|Governor|governor|Ambassador|ambassador|Senator|senator|Advisor|advisor|Adviser|adviser|spokesperson|"
    r"spokesman|spokeswoman|Mayor|mayor|Chancellor|Director|director|Chief|chief|Commissioner|commissioner|Judge|judge|"
    r"General|King|Queen|CEO|Chairman|chairman|Chair|Speaker|Leader|leader|Attorney General)"
)
ROLE_PHRASE = rf"(?P<role>(?:(?:the|The)\s+)?(?:[{UPPER}][\w.]*\s+){{0,3}}{ROLE_WORDS}(?:\s+(?:of|for|to)\s+(?:the\s+)?(?:[{UPPER}][\w.]*\s*){{1,3}})?)"
TITLED = re.compile(rf"{ROLE_PHRASE},?\s+{PERSON}")
KNOWN_AS = re.compile(rf"{PERSON},\s+(?:commonly |also |better |widely )?known as (?P<alias>[{UPPER}][\w.]+)")
BODY_HEADS = (
    r"Congress|Ministry|Department|Secretariat|Nations|Government|Administration|Agency|Office|Council|Commission|Court|"
    r"Parliament|Senate|Union|Bank|Fund|Organization|Organisation|Protection|Patrol|Police|Army|Navy|Party|Palace|Assembly"
)
BODY = re.compile(
    rf"(?P<body>(?:[{UPPER}][\w.]*\s+(?:and\s+|of\s+)?){{1,4}}(?:{BODY_HEADS})(?:\s+of\s+(?:the\s+)?(?:[{UPPER}][\w]*\s*){{1,3}})?)(?:\s+\((?P<acronym>[A-Z]{{2,6}})\))?"
)
ARTICLE_WORDS = ("The ", "the ", "A ", "An ")
COUNTRY_SHORT = {
    "us": "united states",
    "u s": "united states",
    "uk": "united kingdom",
    "u k": "united kingdom",
    "un": "united nations",
    "eu": "european union",
}


@dataclass
class Mention:
    name: str
    role: str | None
    kind: str  # person | body
    sentence: int  # index into the caller's sentence list
    alias: str | None = None


@dataclass
class Actor:
    kind: str
    variants: Counter = field(default_factory=Counter)
    roles: Counter = field(default_factory=Counter)
    aliases: set[str] = field(default_factory=set)
    mentions: list[Mention] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The most used spelling; among equals the fullest."""
        return max(self.variants, key=lambda v: (self.variants[v], len(v.split()), len(v)))

    @property
    def role(self) -> str | None:
        return max(self.roles, key=lambda r: (self.roles[r], len(r))) if self.roles else None


def mentions_in(sentence: str, index: int) -> list[Mention]:
    found = [
        Mention(m.group("name"), clean_role(m.group("role")), "person", index)
        for m in TITLED.finditer(sentence)
    ]
    found += [
        Mention(m.group("name"), None, "person", index, alias=m.group("alias"))
        for m in KNOWN_AS.finditer(sentence)
    ]
    for m in BODY.finditer(sentence):
        name = strip_article(m.group("body").strip())
        if len(name.split()) >= 2:
            found.append(Mention(name, None, "body", index, alias=m.group("acronym")))
    return found


def clean_role(role: str) -> str:
    return strip_article(role.strip().rstrip(","))


def strip_article(text: str) -> str:
    return text[len(next((a for a in ARTICLE_WORDS if text.startswith(a)), "")) :]


def key_tokens(name: str) -> list[str]:
    tokens = fold(name).replace(".", " ").split()
    joined = " ".join(tokens)
    for short, long in COUNTRY_SHORT.items():
        if joined.startswith(short + " "):
            joined = long + joined[len(short) :]
    return joined.split()


def same_actor(a: str, b: str, kind: str, similar_first_names: float) -> bool:
    """Spelling variants or a short form of the same name (same surname, first names at least
    similar_first_names alike)."""
    ta, tb = key_tokens(a), key_tokens(b)
    if ta == tb:
        return True
    if kind == "body":
        return False
    short, long = sorted((ta, tb), key=len)
    if short[-1] != long[-1]:
        return False
    if " ".join(short) in " ".join(long):
        return True  # 'lopez obrador' in 'andres manuel lopez obrador'
    return SequenceMatcher(None, short[0], long[0]).ratio() >= similar_first_names


def merge(
    mentions: list[Mention], similar_first_names: float = default("summary_similar_first_names")
) -> list[Actor]:
    actors: list[Actor] = []
    for mention in sorted(
        mentions, key=lambda m: -len(m.name.split())
    ):  # full names first, short forms join them
        actor = next(
            (
                a
                for a in actors
                if a.kind == mention.kind
                and any(same_actor(v, mention.name, a.kind, similar_first_names) for v in a.variants)
            ),
            None,
        )
        if actor is None:
            actor = Actor(mention.kind)
            actors.append(actor)
        actor.variants[mention.name] += 1
        actor.mentions.append(mention)
        if mention.role:
            actor.roles[mention.role] += 1
        if mention.alias:
            actor.aliases.add(mention.alias)
    return actors

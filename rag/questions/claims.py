"""Claims and citations: splitting what the LLM wrote into cited sentences, and numbering the
citations of the final answer. Shared by answers and briefings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rag.questions.evidence import Evidence
from rag.textfacts import content_terms
from vectorstore.keyword import fold

MARKER = re.compile(r"\s*\[(\d{1,3})\]")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"'])")
NOT_FOUND = re.compile(r"not found|do(es)? not (say|answer|mention)|no information|cannot be answered", re.I)


@dataclass
class Citation:
    n: int
    source: str
    title: str
    date: str | None
    chunk_id: str
    quote: str
    start: int
    end: int

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class Claim:
    text: str  # without markers
    cites: list[int]  # evidence indexes (0-based)


def states(sentence: str, short: str) -> bool:
    """The sentence contains the short answer (case, accents and spacing aside)."""
    return " ".join(fold(short).split()) in " ".join(fold(sentence).split())


def quoted(text: str) -> str:
    return f"\u201c{text.strip()}\u201d"


def finished_sentences(draft: str) -> str:
    """The draft up to its last sentence boundary: the sentences the LLM has finished writing (a
    boundary is seen once the next sentence has begun)."""
    ends = [m.start() for m in SENTENCE_END.finditer(draft)]
    return draft[: ends[-1]] if ends else ""


def states_in_a_claim(draft: str, short: str, n_evidence: int) -> bool:
    return any(states(claim.text, short) for claim in parse_claims(draft, n_evidence))


def parse_claims(draft: str, n_evidence: int) -> list[Claim]:
    """Split the draft into sentences with their [n] markers; markers pointing nowhere are dropped."""
    claims = []
    for sentence in SENTENCE_END.split(draft.replace("\n", " ")):
        cites = [int(n) - 1 for n in MARKER.findall(sentence) if 1 <= int(n) <= n_evidence]
        text = MARKER.sub("", sentence).strip()
        if content_terms(text):  # "Yes." or "It is." asserts nothing checkable
            claims.append(Claim(text, list(dict.fromkeys(cites))))
    return claims


def render(claims: list[Claim], evidence: list[Evidence]) -> tuple[str, list[Citation]]:
    """Number citations 1..m in order of first use; every [n] has a citation and every citation is used."""
    numbering: dict[int, int] = {}
    sentences = []
    for claim in claims:
        for i in claim.cites:
            numbering.setdefault(i, len(numbering) + 1)
        marks = "".join(f"[{numbering[i]}]" for i in claim.cites)
        body = claim.text.rstrip()
        end = body[-1] if body and body[-1] in ".!?" else "."
        body = body[:-1] if body and body[-1] in ".!?" else body
        sentences.append(f"{body} {marks}{end}")
    citations = [to_citation(n, evidence[i]) for i, n in sorted(numbering.items(), key=lambda item: item[1])]
    return " ".join(sentences), citations


def to_citation(n: int, e: Evidence) -> Citation:
    return Citation(
        n=n,
        source=e.source,
        title=e.title,
        date=e.date,
        chunk_id=e.chunk_id,
        quote=e.text,
        start=e.start,
        end=e.end,
    )

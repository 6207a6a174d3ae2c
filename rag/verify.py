"""Is a sentence supported by the passages it cites?

A cheap, explainable check that runs on two CPU cores (ALCE uses an 11B entailment model):
1. every number, date word and name in the sentence appears in the cited text;
2. the sentence does not flip a negation relative to its best-matching window;
3. its embedding is close to the best window of cited sentences (cosine >= a threshold calibrated on
   eval/sets/support.jsonl), or nearly all its content words are there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rag.textfacts import content_terms, has_negation, missing_facts, names
from vectorstore.keyword import stem
from vectorstore.embed import Embedder


@dataclass(frozen=True)
class Passage:
    """A citable unit: the quoted sentence(s) plus the chunk around them (for names/pronouns)."""

    text: str
    context: str = ""


@dataclass
class Verdict:
    supported: bool
    similarity: float
    coverage: float
    problems: list[str] = field(default_factory=list)
    best: int = -1  # index of the passage that matched best


class Verifier:
    def __init__(self, embedder: Embedder, threshold: float, coverage_floor: float = 0.5, coverage_alone: float = 0.85):
        self.embedder = embedder
        self.threshold = threshold
        self.coverage_floor = coverage_floor  # below this share of content words, never supported
        self.coverage_alone = coverage_alone  # at or above this share, supported without similarity

    def check(self, claim: str, passages: list[Passage]) -> Verdict:
        if not passages or not claim.strip():
            return Verdict(False, 0.0, 0.0, ["no cited passage"])
        joined = " ".join(p.text for p in passages)
        context = " ".join(p.context for p in passages)
        problems = missing_facts(claim, joined, context)
        similarity, best = self.best_similarity(claim, passages)
        if has_negation(claim) and not has_negation(passages[best].text):
            problems.append("negation not in the source")
        # Words must come from the quoted text itself; only names may come from the context
        # (checked above), or a chunk's other sentences would vouch for anything.
        coverage = term_coverage(claim, joined, ignore=names(claim))
        if coverage < self.coverage_floor:
            problems.append(f"only {coverage:.0%} of its words are in the source")
        elif similarity < self.threshold and coverage < self.coverage_alone:
            problems.append(f"similarity {similarity:.2f} below {self.threshold:.2f}")
        return Verdict(not problems, similarity, coverage, problems, best)

    def best_similarity(self, claim: str, passages: list[Passage]) -> tuple[float, int]:
        windows = [p.text for p in passages]
        if len(passages) > 1:  # a sentence may combine two cited passages
            windows.append(" ".join(windows))
        vectors = self.embedder.embed([claim] + windows)
        sims = vectors[1:] @ vectors[0]
        best = int(np.argmax(sims))
        return float(sims[best]), min(best, len(passages) - 1)

    def supports(self, claim: str, passages: list[Passage]) -> bool:
        return self.check(claim, passages).supported


def term_coverage(claim: str, text: str, ignore: set[str] = frozenset()) -> float:
    terms = content_terms(claim) - {stem(n) for n in ignore}
    if not terms:
        return 1.0
    return len(terms & content_terms(text)) / len(terms)

"""Is a sentence supported by the passages it cites?

A cheap, explainable check that runs on two CPU cores (ALCE uses an 11B entailment model):
1. every number and date word of the sentence is in the cited text; every name is in the cited text,
   or in the surrounding chunk when the rules allow it (by default only when the cited sentence refers
   back with a pronoun, so a wrong entity of the right type elsewhere in the chunk does not vouch);
2. no negation is added or dropped relative to the best-matching cited sentence;
3. two names of the sentence linked within one clause keep their order in the best cited sentence
   (who did what to whom), a passive 'by' on one side only flipping the expected order; and no name
   stands where the source has another name of the sentence ('attacked by Link' for '... by Bulblins');
4. enough of its content words are in the cited text; no word it brings in takes the place of a source
   word it dropped (same content words on both sides: 'the modern town hall' for 'the medieval town
   hall'); the other words it brings in (none in any form in the cited text: 'extended' for 'ended')
   are few, and when there are any, its embedding is close to the best cited window.
The rules' values are settings chosen by `python -m fit.calibrate` on labelled fitting pairs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from rag.config.settings import Settings, default_settings
from rag.textfacts import (
    content_terms,
    has_negation,
    missing_facts,
    names,
    names_absent,
    negation_dropped,
    new_terms,
    pronoun_count,
    reversed_name_pairs,
    substituted_words,
    swapped_names,
)
from vectorstore.embed import Embedder
from vectorstore.keyword import stem


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


@dataclass(frozen=True)
class Rules:
    """The verifier's tunables (see the support_* settings for what each means)."""

    threshold: float
    coverage_floor: float
    max_new_words: int
    names_from_context: str  # never | pronoun | always
    role_order: str  # off | strict | passive
    role_slots: bool
    substitutions: bool  # a new word in the place of a dropped source word fails outright

    @classmethod
    def from_settings(cls, settings: Settings | None = None, threshold: float | None = None) -> Rules:
        """The rules a settings object holds (its defaults when None); threshold overrides when given."""
        s = settings or default_settings()
        return cls(
            s.support_threshold if threshold is None else threshold,
            s.support_coverage_floor,
            s.support_max_new_words,
            s.support_names_from_context,
            s.support_role_order,
            s.support_role_slots,
            s.support_substitutions,
        )


@dataclass
class Findings:
    """What the text checks found, before any rule is applied (so calibration computes them once)."""

    similarity: float
    best: int
    coverage: float
    missing: list[str]  # numbers and dates absent from the cited text, names absent even from the chunk
    context_names: list[str]  # names found only in the surrounding chunk, not in the cited text
    pronoun_in_cited: bool  # the cited text refers back with a pronoun the sentence does not repeat
    new_words: list[str]
    substituted: list[tuple[str, str]]  # (new word, the source word whose place it takes)
    negation: str  # '' or what changed
    reversed_strict: list[tuple[str, str]]
    reversed_passive: list[tuple[str, str]]
    swapped_slots: list[tuple[str, str]]  # a name where the source has another name of the sentence


class MemoEmbedder:
    """An embedder that embeds each text once: a verifier run over many claims checks them against
    the same passages again and again (briefings, calibration), and questions about one collection
    select their evidence among the same sentences, so only new texts are embedded. With a ``limit``
    the least recently used vectors are forgotten beyond it (a desk serves for days). Safe to share
    between threads; the embedding itself runs outside the lock."""

    def __init__(self, embedder, limit: int | None = None):
        self.inner, self.name, self.dim = embedder, embedder.name, embedder.dim
        self.limit = limit
        self.vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            known = {t: self.vectors[t] for t in texts if t in self.vectors}
            for text in known:
                self.vectors.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        fresh = dict(zip(missing, self.inner.embed(missing))) if missing else {}
        with self._lock:
            self.vectors.update(fresh)
            while self.limit is not None and len(self.vectors) > self.limit:
                self.vectors.popitem(last=False)
        return np.array([known.get(t, fresh.get(t)) for t in texts])


class Verifier:
    def __init__(self, embedder: Embedder, threshold: float | None = None, rules: Rules | None = None):
        self.embedder = embedder
        self.rules = rules or Rules.from_settings(threshold=threshold)

    @classmethod
    def from_settings(cls, embedder: Embedder, settings: Settings) -> Verifier:
        return cls(embedder, rules=Rules.from_settings(settings))

    @property
    def threshold(self) -> float:
        return self.rules.threshold

    def check(self, claim: str, passages: list[Passage]) -> Verdict:
        if not passages or not claim.strip():
            return Verdict(False, 0.0, 0.0, ["no cited passage"])
        found = self.findings(claim, passages)
        problems = decide(found, self.rules)
        return Verdict(not problems, found.similarity, found.coverage, problems, found.best)

    def supports(self, claim: str, passages: list[Passage]) -> bool:
        return self.check(claim, passages).supported

    def findings(self, claim: str, passages: list[Passage]) -> Findings:
        joined = " ".join(p.text for p in passages)
        context = " ".join(p.context for p in passages)
        similarity, best = self.best_similarity(claim, passages)
        best_text = passages[best].text
        in_cited = set(names_absent(claim, joined))
        return Findings(
            similarity=similarity,
            best=best,
            # Words must come from the quoted text itself; names are checked as facts above.
            coverage=term_coverage(claim, joined, ignore=names(claim)),
            missing=missing_facts(claim, joined, context),
            context_names=sorted(in_cited - set(names_absent(claim, f"{joined} {context}"))),
            pronoun_in_cited=pronoun_count(joined) > pronoun_count(claim),
            new_words=new_terms(claim, joined),
            substituted=substituted_words(claim, joined, new_terms(claim, joined)),
            negation=negation_change(claim, best_text),
            reversed_strict=reversed_name_pairs(claim, best_text, passive_aware=False),
            reversed_passive=reversed_name_pairs(claim, best_text, passive_aware=True),
            swapped_slots=swapped_names(claim, best_text),
        )

    def best_similarity(self, claim: str, passages: list[Passage]) -> tuple[float, int]:
        windows = [p.text for p in passages]
        if len(passages) > 1:  # a sentence may combine two cited passages
            windows.append(" ".join(windows))
        vectors = self.embedder.embed([claim] + windows)
        sims = vectors[1:] @ vectors[0]
        best = int(np.argmax(sims))
        return float(sims[best]), min(best, len(passages) - 1)


def negation_change(claim: str, passage: str) -> str:
    if has_negation(claim) and not has_negation(passage):
        return "negation not in the source"
    if negation_dropped(claim, passage):
        return "the source's negation is dropped"
    return ""


def decide(found: Findings, rules: Rules) -> list[str]:
    """The problems that make a sentence unsupported under the given rules (empty: supported)."""
    problems = list(found.missing)
    if found.context_names and not names_from_context_allowed(found, rules):
        problems += [f"name {n} is not in the cited sentence" for n in found.context_names]
    if found.negation:
        problems.append(found.negation)
    swapped = {"strict": found.reversed_strict, "passive": found.reversed_passive}.get(rules.role_order, [])
    problems += [f"roles swapped: {a} and {b} stand the other way round in the source" for a, b in swapped]
    if rules.role_slots:
        problems += [f"roles swapped: {a} stands where the source has {b}" for a, b in found.swapped_slots]
    if rules.substitutions:
        problems += [f"'{new}' stands where the source says '{old}'" for new, old in found.substituted]
    if found.coverage < rules.coverage_floor:
        problems.append(f"only {found.coverage:.0%} of its words are in the source")
    elif len(found.new_words) > rules.max_new_words:
        problems.append(f"words not in the source: {', '.join(found.new_words)}")
    elif found.new_words and found.similarity < rules.threshold:
        problems.append(
            f"similarity {found.similarity:.2f} below {rules.threshold:.2f} with new words {', '.join(found.new_words)}"
        )
    return problems


def names_from_context_allowed(found: Findings, rules: Rules) -> bool:
    if rules.names_from_context == "always":
        return True
    return rules.names_from_context == "pronoun" and found.pronoun_in_cited


def term_coverage(claim: str, text: str, ignore: set[str] = frozenset()) -> float:
    terms = content_terms(claim) - {stem(n) for n in ignore}
    if not terms:
        return 1.0
    return len(terms & content_terms(text)) / len(terms)

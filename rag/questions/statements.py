"""Verbatim, cited statements about a subject: what timeline, comparison and descriptive answers are
made of.

Retrieve with a larger k than a factoid answer (they draw on several articles), split the chunks into
sentences and score them against the question as evidence selection does (rag/questions/evidence.py), keep the
sentences that mention the subject, and check each quote against its own passage with the verifier
like every other citation. A sentence mentions the subject when it names one of the subject's names
(or an acronym the retrieved articles spell out, such as 'AMLO' for 'Andrés Manuel López Obrador');
a sentence that opens with a pronoun may take the name from the sentence before it. A subject without
names is mentioned when at least half its content terms are there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.briefings.briefing_text import CONNECTIVES, PRONOUN_OPENING, is_quotation
from rag.questions.answer_model import closest_passages, finish_refused
from rag.questions.claims import Citation
from rag.questions.evidence import Evidence, candidate_sentences, score_sentences
from rag.questions.question_parts import Subject
from rag.questions.retrieve import Retriever, Scope
from rag.questions.verify import Passage
from rag.textfacts import CAPITALISED_RUN, names, word_set
from vectorstore.keyword import fold

ACRONYM = re.compile(r"\b[A-Z]{2,6}\b")
TERM_SHARE = 0.5  # of a nameless subject's content terms a sentence must hold to mention it


@dataclass
class Gathered:
    """The scored sentences of one retrieval, best first, and the acronyms their articles spell out."""

    sentences: list[Evidence]
    aliases: dict[str, frozenset[str]]  # folded acronym -> the folded name words it stands for
    sources: list[str]  # every source retrieved, in rank order


def gather(desk, query: str, scope: Scope, k: int) -> Gathered:
    """The retrieved chunks' sentences scored against ``query`` (embedding similarity, shared terms)."""
    retrieved = Retriever(desk).retrieve(query, scope, k)
    records = desk.source_records(hit.chunk.source for hit in retrieved)
    titles = {name: r.title for name, r in records.items()}
    texts = {name: r.text for name, r in records.items()}
    candidates = candidate_sentences(retrieved, titles, texts, desk.settings.evidence_window_lookback)
    scored = score_sentences(query, candidates, desk.evidence_embedder, desk.settings)
    return Gathered(
        scored, spelled_out(texts.values()), list(dict.fromkeys(r.chunk.source for r in retrieved))
    )


def spelled_out(texts) -> dict[str, frozenset[str]]:
    """Acronyms used in the texts whose letters are the initials of a capitalised run in them."""
    aliases: dict[str, frozenset[str]] = {}
    for text in texts:
        used = {fold(a) for a in ACRONYM.findall(text)}
        for run in CAPITALISED_RUN.finditer(text):
            words = [w for w in re.split(r"[\s-]+", run.group(0)) if w and w[0].isupper()]
            initials = fold("".join(w[0] for w in words))
            if initials in used and len(words) >= 2:
                aliases[initials] = frozenset(names(" ".join(words)))
    return aliases


def names_in(text: str, aliases: dict[str, frozenset[str]]) -> set[str]:
    """The folded name words a text holds, acronyms counted as the names they stand for."""
    found = set(names(text)) | word_set(text)
    for acronym in {fold(a) for a in ACRONYM.findall(text)} & aliases.keys():
        found |= aliases[acronym]
    return found


def mentions(e: Evidence, subject: Subject, aliases: dict[str, frozenset[str]]) -> bool:
    if subject.empty:
        return True
    if mentioned_in(e.text, subject, aliases):
        return True
    return bool(PRONOUN_OPENING.match(e.text)) and mentioned_in(e.window, subject, aliases)


def mentioned_in(text: str, subject: Subject, aliases: dict[str, frozenset[str]]) -> bool:
    if subject.names:
        return bool(subject.names & names_in(text, aliases))
    return len(subject.terms & word_set(text)) >= TERM_SHARE * len(subject.terms)


def coverage(subject: Subject, sentences: list[Evidence], aliases: dict[str, frozenset[str]]) -> float:
    """The share of the subject's names and terms found anywhere in the sentences (1 for no subject):
    how far the retrieved articles cover what the question is about."""
    wanted = subject.names | subject.terms
    if not wanted:
        return 1.0
    found: set[str] = set()
    for e in sentences:
        found |= names_in(e.window or e.text, aliases)
    return len(wanted & found) / len(wanted)


def about(gathered: Gathered, subject: Subject) -> list[Evidence]:
    """The gathered sentences that mention the subject, each text once: those that name more of the
    subject first ('Biden and López Obrador': a sentence with both before one with either), then by
    score. Without a subject to anchor them, only sentences that stand alone are kept (see
    stands_alone)."""
    seen: set[str] = set()
    kept = []
    for e in gathered.sentences:
        if e.text in seen or not mentions(e, subject, gathered.aliases):
            continue
        if subject.empty and not stands_alone(e.text):
            continue
        seen.add(e.text)
        kept.append(e)
    share = {id(e): subject_share(e.text, subject, gathered.aliases) for e in kept}
    return sorted(kept, key=lambda e: -share[id(e)])  # stable: by score within a share


def stands_alone(text: str) -> bool:
    """Not a sentence that leans on the one before ('He said', 'However, that figure') nor someone's
    words in quotation marks: the briefing's rules for what a bullet can say alone."""
    return not (PRONOUN_OPENING.match(text) or CONNECTIVES.match(text) or is_quotation(text))


def subject_share(text: str, subject: Subject, aliases: dict[str, frozenset[str]]) -> float:
    wanted = subject.names | subject.terms
    return len(wanted & names_in(text, aliases)) / len(wanted) if wanted else 1.0


def verified(verifier, sentences: list[Evidence]) -> list[Evidence]:
    """The sentences whose quote the verifier finds supported by its own passage (a quote is the
    source's text, so a failure means the offsets or the text went wrong: never cite it)."""
    return [e for e in sentences if verifier.supports(e.text, [Passage(text=e.text, context=e.context)])]


class Numbering:
    """Citation numbers 1..n in order of first use, one per quoted sentence."""

    def __init__(self):
        self.citations: list[Citation] = []
        self.index: dict[tuple[str, int], int] = {}

    def cite(self, e: Evidence) -> Citation:
        key = (e.source, e.start)
        if key not in self.index:
            n = len(self.citations) + 1
            self.citations.append(Citation(n, e.source, e.title, e.date, e.chunk_id, e.text, e.start, e.end))
            self.index[key] = n
        return self.citations[self.index[key] - 1]

    def quote(self, e: Evidence) -> str:
        """The sentence as a quote with its citation mark: '“...” [n]'."""
        return f"\u201c{e.text.strip()}\u201d [{self.cite(e).n}]"


def narrowed(scope: Scope, period: Scope | None) -> Scope:
    """The user's scope within a period the question names (the later start, the earlier end)."""
    if period is None:
        return scope
    since = max(filter(None, (scope.since, period.since)), default=None)
    until = min(filter(None, (scope.until, period.until)), default=None)
    return Scope(since=since, until=until, sources=scope.sources)


def usable(desk, sentences: list[Evidence]) -> list[Evidence]:
    """Sentences long enough to state something (not headlines or captions), verified as quotes."""
    long_enough = [e for e in sentences if len(e.text.split()) >= desk.settings.statement_min_words]
    return verified(desk.verifier, long_enough)


def articles_in_scope(desk, scope: Scope) -> list:
    """The source records a question may draw on: those the scope allows (every one, for an empty scope)."""
    return [r for r in desk.sources() if scope.allows(r.source, r.date)]


def refuse(answer, sentences: list[Evidence], closest: int):
    """The answer refused, with the closest sentences found shown as not an answer."""
    return finish_refused(answer, {}, closest_passages(sentences, closest))

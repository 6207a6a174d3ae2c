"""Answer a question with verified citations.

condense follow-up -> retrieve -> select evidence sentences -> refuse early if off-topic ->
LLM writes with [n] (an LCEL chain) -> verify each sentence against what it cites -> drop, re-cite
or fall back to an extractive answer -> renumber citations.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import BackendTimeout, BackendUnavailable, BriefError
from rag.evidence import Evidence, best_relevance, question_kind, holds_kind, select_evidence, term_coverage_of
from rag.llm import NoLLM, OnToken, as_langchain_llm
from rag.prompts import load_prompt
from rag.retrieve import Retriever, Scope
from rag.textfacts import content_terms, word_set
from vectorstore.keyword import tokenize
from rag.verify import Passage, Verifier, term_coverage

REFUSAL_TEXT = "The articles do not say."
# Words of how a question is asked, not of what it is about ("how long", "what role").
QUESTION_FURNITURE = frozenset(tokenize("many much long far often kind type role happen happened mean describe explain according date dates name names"))
MAX_QUESTION_CHARS = 2000
ANSWER_STOP = ["\n\n", "\nEvidence:", "\nQuestion:", "\n["]
CONDENSE_STOP = ["\n"]
NOT_FOUND = re.compile(r"not found|do(es)? not (say|answer|mention)|no information|cannot be answered", re.I)
MARKER = re.compile(r"\s*\[(\d{1,3})\]")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"'])")


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
class Answer:
    question: str
    answer: str
    refused: bool
    citations: list[Citation]
    backend: str
    timings_ms: dict[str, int]
    id: str | None = None
    standalone_question: str | None = None
    mode: str = "generated"  # generated | extractive | refused
    retrieved_sources: list[str] = field(default_factory=list)  # ranked, for hit@k / MRR
    evidence: list[Evidence] = field(default_factory=list)
    draft: str = ""  # what the LLM wrote before verification
    warning: str | None = None  # e.g. the LLM server failed mid-answer

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "question": self.question, "answer": self.answer, "refused": self.refused,
            "citations": [c.to_json() for c in self.citations], "backend": self.backend, "timings_ms": self.timings_ms,
            "mode": self.mode, **({"warning": self.warning} if self.warning else {}),
        }

    def to_text(self) -> str:
        refs = [f"[{c.n}] {c.source} ({c.date or 'undated'}): \"{c.quote}\"" for c in self.citations]
        return "\n".join([self.answer, *([""] + refs if refs else [])])


@dataclass
class Claim:
    text: str  # without markers
    cites: list[int]  # evidence indexes (0-based)


class Answerer:
    def __init__(self, desk):
        self.desk = desk
        self.settings = desk.settings
        self.retriever = Retriever(desk)
        self._verifier: Verifier | None = None
        self.last_warning: str | None = None

    @property
    def verifier(self) -> Verifier:
        if self._verifier is None:
            self._verifier = Verifier(self.desk.embedder, self.settings.support_threshold)
        return self._verifier

    # --- the pipeline ----------------------------------------------------------------------------
    def ask(self, question: str, scope: Scope = Scope(), history: list[str] | None = None, on_token: OnToken | None = None, qid: str | None = None) -> Answer:
        question = check_question(question)
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        standalone = self.condense(question, history or [])
        timings["condense"] = time.perf_counter() - clock

        clock = time.perf_counter()
        retrieved = self.retriever.retrieve(standalone, scope)
        records = self.desk.source_index() if retrieved else {}
        titles = {name: r.title for name, r in records.items()}
        texts = {name: r.text for name, r in records.items()}
        evidence = select_evidence(standalone, retrieved, titles, texts, self.desk.embedder, self.settings.evidence_sentences)
        timings["retrieve"] = time.perf_counter() - clock

        answer = Answer(question=question, answer="", refused=False, citations=[], backend=self.backend_name(), timings_ms={}, id=qid,
                        standalone_question=standalone if standalone != question else None,
                        retrieved_sources=list(dict.fromkeys(r.chunk.source for r in retrieved)), evidence=evidence)
        if not self.answerable(standalone, evidence):
            return finish_refused(answer, timings)

        clock = time.perf_counter()
        self.last_warning = None
        answer.draft = self.generate(standalone, evidence, on_token)
        answer.warning = self.last_warning
        timings["generate"] = time.perf_counter() - clock

        clock = time.perf_counter()
        claims = self.verified_claims(standalone, answer.draft, evidence) if answer.draft and not NOT_FOUND.search(answer.draft) else []
        if claims and not any(holds_kind(c.text, question_kind(standalone)) for c in claims):
            claims = []  # the kept sentences do not contain what was asked for (a number, a date, a name)
        answer.mode = "generated" if claims else "extractive"
        claims = with_best_evidence(claims, evidence, standalone) if claims else self.extractive_claims(standalone, evidence)
        timings["verify"] = time.perf_counter() - clock
        if not claims:
            return finish_refused(answer, timings)
        answer.answer, answer.citations = render(claims, evidence)
        answer.timings_ms = to_ms(timings)
        return answer

    def backend_name(self) -> str:
        return self.desk.llm.name

    def condense(self, question: str, history: list[str]) -> str:
        """Turn a follow-up into a standalone question; keep the follow-up's own words either way."""
        if not history:
            return question
        previous = history[-3:]
        try:
            prompt = load_prompt("condense").render(history=previous, question=question)
            rewritten = self.run_llm(prompt, self.settings.llm_max_tokens, CONDENSE_STOP).strip()
        except (NoLLM, BackendUnavailable):
            rewritten = ""
        if keeps_follow_up(question, rewritten):
            return rewritten
        return f"{question} ({previous[-1]})"  # retrieval still sees both turns

    def answerable(self, question: str, evidence: list[Evidence]) -> bool:
        """Refuse without calling the LLM when the evidence is off-topic (paper-qa's rule)."""
        s = self.settings
        if not evidence or best_relevance(evidence) < s.min_relevance:
            return False
        if term_coverage_of(question, evidence) < s.min_term_coverage:
            return False
        unknown = self.unknown_terms(question, evidence)
        if len(unknown) > s.max_unknown_terms and best_relevance(evidence) < s.strong_relevance:
            return False  # about things no article mentions, and no sentence is a close match either
        kind = question_kind(question)
        return any(holds_kind(e.text, kind) for e in evidence)

    def unknown_terms(self, question: str, evidence: list[Evidence]) -> set[str]:
        """Question words that appear in no ingested chunk at all, nor as an acronym of the
        evidence ('APEC'); words of how a question is asked are not counted."""
        vocabulary = self.desk.keyword_index().postings
        evidence_words = word_set(" ".join(e.window for e in evidence))
        return {t for t in tokenize(question) if t not in vocabulary and t not in evidence_words and t not in QUESTION_FURNITURE}

    def generate(self, question: str, evidence: list[Evidence], on_token: OnToken | None) -> str:
        """The LCEL chain: render prompt | LLM | text. Empty when there is no LLM or it failed."""
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.runnables import RunnableLambda

        prompt = load_prompt("answer")
        llm = as_langchain_llm(self.desk.llm, self.settings.llm_max_tokens, ANSWER_STOP)
        chain = RunnableLambda(lambda q: prompt.render(question=q, evidence=[e.text for e in evidence])) | llm | StrOutputParser()
        parts: list[str] = []
        try:
            for token in chain.stream(question):
                parts.append(token)
                if on_token:
                    on_token(token)
        except NoLLM:
            return ""
        except BackendUnavailable as exc:
            if not parts and not isinstance(exc, BackendTimeout):
                raise  # unreachable or misconfigured: tell the user which setting to fix
            self.last_warning = f"{exc.message}; answered from the quoted evidence instead"
            return ""  # failed mid-answer: the extractive answer still serves the user
        return "".join(parts).strip()

    def run_llm(self, prompt: str, max_tokens: int, stop: list[str]) -> str:
        return "".join(self.desk.llm.stream(prompt, max_tokens, stop))

    # --- verification ------------------------------------------------------------------------------
    def verified_claims(self, question: str, draft: str, evidence: list[Evidence]) -> list[Claim]:
        """Keep sentences the evidence supports and that are about the question; fix their
        citations; drop the rest."""
        kept: list[Claim] = []
        for claim in parse_claims(draft, len(evidence)):
            cites = self.supporting_citations(claim, evidence)
            text = self.whole_sentence_if_copied(claim.text, [evidence[i] for i in cites])
            on_topic = term_coverage(question, " ".join([text] + [evidence[i].text for i in cites])) >= self.settings.extractive_min_coverage
            if cites and on_topic and text not in {c.text for c in kept}:
                kept.append(Claim(text, cites))
        return kept

    def whole_sentence_if_copied(self, claim: str, cited: list[Evidence]) -> str:
        """A claim that is a cut-down copy of its one cited sentence loses facts the model skipped
        (a base model often copies half a sentence); quote the whole sentence instead."""
        if len(cited) != 1 or len(cited[0].text) <= len(claim):
            return claim
        return cited[0].text if term_coverage(claim, cited[0].text) >= self.settings.copied_claim_coverage else claim

    def supporting_citations(self, claim: Claim, evidence: list[Evidence]) -> list[int]:
        """The claim's own citations if they support it; else the single best evidence that does."""
        if claim.cites and self.verifier.supports(claim.text, [passage_of(evidence[i]) for i in claim.cites]):
            return claim.cites
        verdicts = [(self.verifier.check(claim.text, [passage_of(e)]), i) for i, e in enumerate(evidence)]
        supported = [(v.similarity, i) for v, i in verdicts if v.supported]
        return [max(supported)[1]] if supported else []

    def extractive_claims(self, question: str, evidence: list[Evidence]) -> list[Claim]:
        """Quote the best evidence sentences, each cited. A sentence qualifies when it holds the kind
        of fact asked for and is close to the question (with the sentence before it); the quote as a
        whole must also address the question in its own words, or nothing is quoted (refusal)."""
        kind = question_kind(question)
        s = self.settings
        ranked = [i for i, e in enumerate(evidence)
                  if holds_kind(e.text, kind) and e.relevance >= s.extractive_min_relevance and term_coverage(question, e.window) >= s.extractive_min_coverage]
        if not ranked:
            return []
        # later sentences only when nearly as relevant as the best one: no padding with loose matches
        floor = evidence[ranked[0]].relevance - s.extractive_margin
        chosen = [i for i in ranked[: s.extractive_sentences] if evidence[i].relevance >= floor]
        if max(term_coverage(question, evidence[i].text) for i in chosen) < s.extractive_min_coverage:
            return []
        return [Claim(evidence[i].text, [i]) for i in chosen]


def with_best_evidence(claims: list[Claim], evidence: list[Evidence], question: str) -> list[Claim]:
    """A small model often answers from a weaker sentence than the best one; when the top-ranked
    evidence sentence holds what was asked and no claim cites it, quote it after the claims."""
    if any(0 in c.cites for c in claims) or not holds_kind(evidence[0].text, question_kind(question)):
        return claims
    return claims + [Claim(evidence[0].text, [0])]


def keeps_follow_up(follow_up: str, rewritten: str) -> bool:
    """Accept an LLM rewrite only if it is short and keeps most of the follow-up's own terms."""
    if not rewritten or len(rewritten) > MAX_QUESTION_CHARS:
        return False
    terms = content_terms(follow_up)
    return not terms or len(terms & content_terms(rewritten)) >= len(terms) / 2


def passage_of(e: Evidence) -> Passage:
    return Passage(text=e.text, context=e.context)


def check_question(question: str | None) -> str:
    text = (question or "").strip()
    if not text:
        raise BriefError("the question is empty", fix="type a question about the ingested articles")
    if len(text) > MAX_QUESTION_CHARS:
        raise BriefError(f"the question is {len(text)} characters long, over the {MAX_QUESTION_CHARS} limit", fix="ask a shorter question")
    if not re.search(r"\w", text):
        raise BriefError("the question has no words", fix="type a question about the ingested articles")
    return text


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
    return Citation(n=n, source=e.source, title=e.title, date=e.date, chunk_id=e.chunk_id, quote=e.text, start=e.start, end=e.end)


def finish_refused(answer: Answer, timings: dict[str, float]) -> Answer:
    answer.answer, answer.refused, answer.citations, answer.mode = REFUSAL_TEXT, True, [], "refused"
    answer.timings_ms = to_ms(timings)
    return answer


def to_ms(timings: dict[str, float]) -> dict[str, int]:
    return {k: round(v * 1000) for k, v in timings.items()}


def read_batch(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL batch file, each with a 'question'; a bad line is a one-line error naming it."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BriefError(f"cannot read {path}: {exc.strerror}", fix="give an existing JSONL file") from None
    except UnicodeDecodeError:
        raise BriefError(f"{path} is not UTF-8 text", fix="give a JSONL file") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BriefError(f"{path}:{number}: not JSON ({exc.msg})", fix="one JSON object per line") from None
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise BriefError(f"{path}:{number}: no 'question' string", fix='each line needs {"question": "..."}')
        rows.append(row)
    return rows

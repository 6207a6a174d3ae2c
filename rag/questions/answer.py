"""Answer a question with a short answer and verified citations.

condense follow-up -> retrieve -> select evidence sentences -> the reader (MiniLM fine-tuned on public
SQuAD data) picks the span that answers, the span scorer may re-rank its few best (rag/questions/reading.py) ->
the refusal model (rag/models/refusal.py) decides from the reading's features whether the articles answer
the question (else it is refused, without an LLM call) and whether the span is sure enough to be shown
as the short answer (else the answer is the cited sentence alone) -> the LLM may write a supporting
sentence with [n] (an LCEL chain) -> each is verified against what it cites and must carry the short
answer, else the source sentence itself is quoted -> renumber citations.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rag.errors import BackendTimeout, BackendUnavailable, BriefError
from rag.models.llm import SERVER_BACKENDS, NoLLM, OnToken, as_langchain_llm
from rag.models.prompts import load_prompt
from rag.questions.answer_model import (
    WITHHELD_NOTE as WITHHELD_NOTE,  # re-exported: the UI imports it from here
)
from rag.questions.answer_model import Answer, closest_passages, finish_refused, to_ms
from rag.questions.answer_modes import answer_in_form
from rag.questions.claims import (
    NOT_FOUND,
    Claim,
    finished_sentences,
    parse_claims,
    quoted,
    render,
    states,
    states_in_a_claim,
)
from rag.questions.evidence import Evidence, select_evidence
from rag.questions.question_form import question_form
from rag.questions.reading import EvidenceReader, Found
from rag.questions.retrieve import Retriever, Scope
from rag.questions.verify import Passage, Verifier, term_coverage
from rag.textfacts import content_terms
from rag.timing import timed, timed_steps

MAX_QUESTION_CHARS = 2000
ANSWER_STOP = ["\n\n", "\nEvidence:", "\nQuestion:", "\n["]
CONDENSE_STOP = ["\n"]
CONDENSE_TURNS = 3  # earlier questions the condense prompt sees: enough to resolve "it" or "they"


@dataclass(frozen=True)
class DraftToken:
    """A piece of the LLM's draft as it is written: worth showing while the user waits, not yet verified."""

    text: str


@dataclass(frozen=True)
class FinalAnswer:
    """The last event of Answerer.stream(): the verified answer, its warning (if any) inside it."""

    answer: Answer


AnswerEvent = DraftToken | FinalAnswer


class StoppableReply:
    """The LLM backend for one reply, which stop() ends after the token in hand: closing a LangChain
    stream early reads it to its end (for tracing), which would keep the LLM writing for a reader
    who has gone (and, in the UI, on the thread that closed it). One per reply, never shared."""

    def __init__(self, backend):
        self.backend = backend
        self.name = backend.name
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True

    def stream(self, prompt: str, max_tokens: int, stop: list[str]) -> Iterator[str]:
        tokens = self.backend.stream(prompt, max_tokens, stop)
        try:
            for token in tokens:
                yield token
                if self.stopped:
                    return
        finally:
            tokens.close()  # ends the backend's own stream now (and frees the embedded model's lock)


class Answerer:
    def __init__(self, desk):
        self.desk = desk
        self.settings = desk.settings
        self.retriever = Retriever(desk)

    @property
    def verifier(self) -> Verifier:
        return self.desk.verifier

    # --- the pipeline ----------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        scope: Scope = Scope(),
        history: list[str] | None = None,
        on_token: OnToken | None = None,
        qid: str | None = None,
        mode: str | None = None,
    ) -> Answer:
        """The verified answer; ``on_token`` sees the draft as the LLM writes it. The same path as stream()."""
        for event in self.stream(question, scope, history, qid, mode):
            if isinstance(event, FinalAnswer):
                return event.answer
            if on_token:
                on_token(event.text)
        raise RuntimeError("the answer stream ended without an answer")  # stream() always ends with one

    def stream(
        self,
        question: str,
        scope: Scope = Scope(),
        history: list[str] | None = None,
        qid: str | None = None,
        mode: str | None = None,
    ) -> Iterator[AnswerEvent]:
        """Draft tokens as the LLM writes them, then, last, the verified answer. What this request
        learns lives in local variables and its Answer only: one Answerer serves concurrent requests.
        ``mode``: a form, 'auto' (rag/questions/question_form.py decides) or None (setting question_mode); the
        forms other than factoid are answered with cited statements (rag/questions/answer_modes.py)."""
        question = check_question(question)
        form = question_form(question, mode or self.settings.question_mode)
        if form != "factoid":
            yield FinalAnswer(answer_in_form(self, form, question, scope, history or [], qid))
            return
        timings: dict[str, float] = {}
        answer, found = self.read(question, scope, history or [], qid, timings)
        if found is None:
            # the reader found no span, or the refusal model judged it unanswered: no LLM call
            closest = closest_passages(answer.evidence, self.settings.refusal_closest_passages)
            yield FinalAnswer(finish_refused(answer, timings, closest))
            return
        shown = shown_evidence(found, answer.evidence, self.settings.evidence_sentences)
        if found.short is not None and self.writes_sentences():
            standalone = answer.standalone_question or question
            drafting = self.generate(standalone, shown, found.short)
            answer.draft, answer.warning = yield from timed_steps(timings, "generate", drafting)
        yield FinalAnswer(self.verify(answer, found, shown, timings))

    def read(
        self, question: str, scope: Scope, history: list[str], qid: str | None, timings: dict[str, float]
    ) -> tuple[Answer, Found | None]:
        """Condense, retrieve, select evidence, read it and judge the reading: the answer begun, and
        what was found (None: refuse; a Found without a short answer: answer with the sentence)."""
        standalone = timed(timings, "condense", lambda: self.condense(question, history))
        retrieved, evidence = timed(timings, "retrieve", lambda: self.gather_evidence(standalone, scope))
        answer = Answer(
            question=question,
            answer="",
            refused=False,
            citations=[],
            backend=self.backend_name(),
            timings_ms={},
            id=qid,
            standalone_question=standalone if standalone != question else None,
            retrieved_sources=list(dict.fromkeys(r.chunk.source for r in retrieved)),
            evidence=evidence,
        )
        found = timed(timings, "read", lambda: self.find_answer(standalone, evidence, answer))
        return answer, found

    def answerable_probability(self, question: str, scope: Scope) -> float:
        """The refusal model's probability that the articles answer ``question``, from a factoid
        reading of its evidence (0 when nothing is retrieved): the other forms report it too, and a
        descriptive answer is refused below refusal_min_answerable."""
        _, evidence = self.gather_evidence(question, scope)
        if not evidence:
            return 0.0
        reading = EvidenceReader(self.desk).read(question, evidence)
        return self.desk.refusal_model.probabilities(reading.features)["answerable"]

    def find_answer(self, question: str, evidence: list[Evidence], answer: Answer) -> Found | None:
        """The reader's span if the refusal model trusts the reading enough to answer; its short
        answer withheld (None) when not sure enough of the span itself. The model's probabilities
        are kept on ``answer``."""
        if not evidence:
            return None  # nothing retrieved: plainly absent
        reading = EvidenceReader(self.desk).read(question, evidence)
        s = self.settings
        verdict = self.desk.refusal_model.judge(
            reading.features, s.refusal_min_answerable, s.short_answer_min_confidence
        )
        answer.confidence = {"answerable": verdict.answerable, "short_answer": verdict.short_right}
        if reading.found is None or not verdict.answer:
            return None
        return reading.found if verdict.show_short else replace(reading.found, short=None)

    def verify(
        self, answer: Answer, found: Found, shown: list[Evidence], timings: dict[str, float]
    ) -> Answer:
        """Finish the answer from its draft: the short answer first, cited, then the draft's sentences
        that their evidence supports (or, when none is, the quoted source sentence). Without a
        short answer, the quoted source sentence is the answer."""
        quote = Claim(quoted(found.carrier.text), [0])
        if found.short is None:
            answer.answer_kind, answer.short_answer_withheld = "extractive", True
            answer.answer, answer.citations = render([quote], shown)
            answer.timings_ms = to_ms(timings)
            return answer
        support = timed(timings, "verify", lambda: self.supporting_claims(answer.draft, shown, found.short))
        answer.answer_kind = "generated" if support else "extractive"
        answer.answer, answer.citations = render([Claim(found.short, [0])] + (support or [quote]), shown)
        answer.short_answer, answer.short_answer_cites = found.short, [1]  # the carrier is always cited first
        answer.timings_ms = to_ms(timings)
        return answer

    def gather_evidence(self, question: str, scope: Scope) -> tuple[list, list[Evidence]]:
        retrieved = self.retriever.retrieve(question, scope)
        records = self.desk.source_records(hit.chunk.source for hit in retrieved)  # just these sources
        titles = {name: r.title for name, r in records.items()}
        texts = {name: r.text for name, r in records.items()}
        n = max(self.settings.evidence_sentences, self.settings.reader_passages)
        return retrieved, select_evidence(
            question, retrieved, titles, texts, self.desk.evidence_embedder, n, self.settings
        )

    def writes_sentences(self) -> bool:
        """Whether the LLM writes the supporting sentence (llm_sentence): 'auto' leaves it to server
        LLMs and skips it for the embedded model (see the setting's description)."""
        return self.uses_llm_for(self.settings.llm_sentence)

    def uses_llm_for(self, mode: str) -> bool:
        """An auto/always/never setting resolved: 'auto' means server LLMs only."""
        return mode == "always" or (mode == "auto" and self.settings.llm_backend in SERVER_BACKENDS)

    def backend_name(self) -> str:
        return self.desk.llm.name

    def condense(self, question: str, history: list[str]) -> str:
        """Turn a follow-up into a standalone question; keep the follow-up's own words either way."""
        if not history:
            return question
        previous = history[-CONDENSE_TURNS:]
        fallback = f"{question} ({previous[-1]})"  # retrieval sees both turns
        if not self.uses_llm_for(self.settings.llm_condense):
            return fallback
        try:
            prompt = load_prompt("condense").render(history=previous, question=question)
            rewritten = self.run_llm(prompt, self.settings.llm_max_tokens, CONDENSE_STOP).strip()
        except (NoLLM, BackendUnavailable):
            rewritten = ""
        return rewritten if keeps_follow_up(question, rewritten) else fallback

    def generate(
        self, question: str, evidence: list[Evidence], short: str | None = None
    ) -> Generator[DraftToken, None, tuple[str, str | None]]:
        """The LCEL chain (render prompt | LLM | text), yielding its tokens as they come. Returns (draft,
        warning): the draft is empty when there is no LLM or it failed. With the ``short`` answer,
        the LLM is stopped once it has finished a sentence stating it: only such sentences are kept
        (supporting_claims), and the first is the support the answer needs (a 270M model's further
        sentences cost ~25 ms a token and rarely survive verification). The warning travels with
        this answer only: an Answerer is shared between concurrent requests, so it keeps no
        per-request state."""
        reply = StoppableReply(self.desk.llm)
        tokens = self.answer_chain(evidence, reply).stream(question)
        parts: list[str] = []
        try:
            for token in tokens:
                parts.append(token)
                yield DraftToken(token)
                finished = finished_sentences("".join(parts))
                if short and finished and states_in_a_claim(finished, short, len(evidence)):
                    return finished.strip(), None
        except NoLLM:
            return "", None
        except BackendUnavailable as exc:
            if not parts and not isinstance(exc, BackendTimeout):
                raise  # unreachable or misconfigured: tell the user which setting to fix
            # the extractive answer still serves the user
            return "", f"{exc.message}; answered from the quoted evidence instead"
        finally:
            reply.stop()  # a consumer that stops early: LangChain reads a closed stream to its end
            tokens.close()
        return "".join(parts).strip(), None

    def answer_chain(self, evidence: list[Evidence], reply: StoppableReply):
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.runnables import RunnableLambda

        prompt = load_prompt("answer")
        render_prompt = RunnableLambda(
            lambda q: prompt.render(question=q, evidence=[e.text for e in evidence])
        )
        return (
            render_prompt
            | as_langchain_llm(reply, self.settings.llm_max_tokens, ANSWER_STOP)
            | StrOutputParser()
        )

    def run_llm(self, prompt: str, max_tokens: int, stop: list[str]) -> str:
        return "".join(self.desk.llm.stream(prompt, max_tokens, stop))

    # --- verification ------------------------------------------------------------------------------
    def supporting_claims(self, draft: str, evidence: list[Evidence], short: str) -> list[Claim]:
        """The LLM's sentences that their cited evidence supports and that state the short answer;
        the rest are dropped (an empty list means: quote the source sentence instead)."""
        if not draft or NOT_FOUND.search(draft):
            return []
        return [c for c in self.verified_claims(draft, evidence) if states(c.text, short)]

    def verified_claims(self, draft: str, evidence: list[Evidence]) -> list[Claim]:
        """Keep sentences the evidence supports; fix their citations; drop the rest."""
        kept: list[Claim] = []
        for claim in parse_claims(draft, len(evidence)):
            cites = self.supporting_citations(claim, evidence)
            text = self.whole_sentence_if_copied(claim.text, [evidence[i] for i in cites])
            if cites and text not in {c.text for c in kept}:
                kept.append(Claim(text, cites))
        return kept

    def whole_sentence_if_copied(self, claim: str, cited: list[Evidence]) -> str:
        """A claim that is a cut-down copy of its one cited sentence loses facts the model skipped
        (a base model often copies half a sentence); quote the whole sentence instead."""
        if len(cited) != 1 or len(cited[0].text) <= len(claim):
            return claim
        return (
            cited[0].text
            if term_coverage(claim, cited[0].text) >= self.settings.copied_claim_coverage
            else claim
        )

    def supporting_citations(self, claim: Claim, evidence: list[Evidence]) -> list[int]:
        """The claim's own citations if they support it; else the single best evidence that does."""
        if claim.cites and self.verifier.supports(claim.text, [passage_of(evidence[i]) for i in claim.cites]):
            return claim.cites
        verdicts = [(self.verifier.check(claim.text, [passage_of(e)]), i) for i, e in enumerate(evidence)]
        supported = [(v.similarity, i) for v, i in verdicts if v.supported]
        return [max(supported)[1]] if supported else []


def keeps_follow_up(follow_up: str, rewritten: str) -> bool:
    """Accept an LLM rewrite only if it is short and keeps most of the follow-up's own terms."""
    if not rewritten or len(rewritten) > MAX_QUESTION_CHARS:
        return False
    terms = content_terms(follow_up)
    return not terms or len(terms & content_terms(rewritten)) >= len(terms) / 2


def shown_evidence(found: Found, evidence: list[Evidence], size: int) -> list[Evidence]:
    """The evidence the LLM sees: the sentence holding the short answer first, then the best others."""
    return [found.carrier] + [e for e in evidence if e is not found.carrier][: size - 1]


def passage_of(e: Evidence) -> Passage:
    return Passage(text=e.text, context=e.context)


def check_question(question: str | None) -> str:
    text = (question or "").strip()
    if not text:
        raise BriefError("the question is empty", fix="type a question about the ingested articles")
    if len(text) > MAX_QUESTION_CHARS:
        raise BriefError(
            f"the question is {len(text)} characters long, over the {MAX_QUESTION_CHARS} limit",
            fix="ask a shorter question",
        )
    if not re.search(r"\w", text):
        raise BriefError("the question has no words", fix="type a question about the ingested articles")
    return text


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
            raise BriefError(
                f"{path}:{number}: not JSON ({exc.msg})", fix="one JSON object per line"
            ) from None
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise BriefError(
                f"{path}:{number}: no 'question' string", fix='each line needs {"question": "..."}'
            )
        rows.append(row)
    return rows

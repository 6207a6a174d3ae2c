"""Answer a question with a short answer and verified citations.

condense follow-up -> retrieve -> select evidence sentences -> the reader (MiniLM fine-tuned on public
SQuAD 2.0 training data) decides whether any of them states the answer and picks its span, else the
question is refused without an LLM call -> the packaged Gemma's likelihood of each of the reader's few
best spans gives a second opinion on which it is (rag/span_scorer.py) -> the short answer is that
verbatim span, cited -> the LLM
writes supporting sentences with [n] (an LCEL chain) -> each is verified against what it cites and must
carry the short answer, else the source sentence itself is quoted -> renumber citations.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from rag.errors import BackendTimeout, BackendUnavailable, BriefError
from rag.evidence import Evidence, select_evidence
from rag.llm import NoLLM, OnToken, as_langchain_llm
from rag.prompts import load_prompt
from rag.reader import answer_text, choose
from rag.retrieve import Retriever, Scope
from rag.span_scorer import likelihood
from rag.textfacts import content_terms, names, numbers, time_words, word_set
from rag.verify import Passage, Verifier, term_coverage
from vectorstore.keyword import fold, stem

REFUSAL_TEXT = "The articles do not say."
MAX_QUESTION_CHARS = 2000
ANSWER_STOP = ["\n\n", "\nEvidence:", "\nQuestion:", "\n["]
CONDENSE_STOP = ["\n"]
CONDENSE_TURNS = 3  # earlier questions the condense prompt sees: enough to resolve "it" or "they"
NOT_FOUND = re.compile(r"not found|do(es)? not (say|answer|mention)|no information|cannot be answered", re.I)
MARKER = re.compile(r"\s*\[(\d{1,3})\]")
T = TypeVar("T")
R = TypeVar("R")
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
    short_answer: str | None = (
        None  # verbatim span of a cited quote: the name, number, date or phrase asked for
    )
    short_answer_cites: list[int] = field(
        default_factory=list
    )  # citation numbers the short answer is quoted from

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "short_answer": self.short_answer,
            "answer": self.answer,
            "refused": self.refused,
            "citations": [c.to_json() for c in self.citations],
            "backend": self.backend,
            "timings_ms": self.timings_ms,
            "mode": self.mode,
            **({"warning": self.warning} if self.warning else {}),
        }

    def to_text(self) -> str:
        """The short answer first, then the cited answer, then the numbered quotes."""
        refs = [f'[{c.n}] {c.source} ({c.date or "undated"}): "{c.quote}"' for c in self.citations]
        head = [f"Answer: {self.short_answer}", ""] if self.short_answer else []
        return "\n".join([*head, self.answer, *([""] + refs if refs else [])])


@dataclass
class Claim:
    text: str  # without markers
    cites: list[int]  # evidence indexes (0-based)


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
    ) -> Answer:
        """The verified answer; ``on_token`` sees the draft as the LLM writes it. The same path as stream()."""
        for event in self.stream(question, scope, history, qid):
            if isinstance(event, FinalAnswer):
                return event.answer
            if on_token:
                on_token(event.text)
        raise RuntimeError("the answer stream ended without an answer")  # stream() always ends with one

    def stream(
        self, question: str, scope: Scope = Scope(), history: list[str] | None = None, qid: str | None = None
    ) -> Iterator[AnswerEvent]:
        """Draft tokens as the LLM writes them, then, last, the verified answer. What this request
        learns lives in local variables and its Answer only: one Answerer serves concurrent requests."""
        question = check_question(question)
        timings: dict[str, float] = {}
        answer, found = self.read(question, scope, history or [], qid, timings)
        if found is None:
            # no evidence states the answer: refuse without an LLM call
            yield FinalAnswer(finish_refused(answer, timings))
            return
        shown = shown_evidence(found, answer.evidence, self.settings.evidence_sentences)
        standalone = answer.standalone_question or question
        drafting = self.generate(standalone, shown, found.short)
        answer.draft, answer.warning = yield from timed_steps(timings, "generate", drafting)
        yield FinalAnswer(self.verify(answer, found, shown, timings))

    def read(
        self, question: str, scope: Scope, history: list[str], qid: str | None, timings: dict[str, float]
    ) -> tuple[Answer, Found | None]:
        """Condense, retrieve, select evidence and let the reader decide: the answer begun, and what
        the reader found (None when no evidence states the answer)."""
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
        found = timed(
            timings,
            "read",
            lambda: self.find_answer(standalone, evidence) if self.on_topic(standalone, evidence) else None,
        )
        return answer, found

    def verify(
        self, answer: Answer, found: Found, shown: list[Evidence], timings: dict[str, float]
    ) -> Answer:
        """Finish the answer from its draft: the short answer first, cited, then the draft's sentences
        that their evidence supports (or, when none is, the quoted source sentence)."""
        support = timed(timings, "verify", lambda: self.supporting_claims(answer.draft, shown, found.short))
        answer.mode = "generated" if support else "extractive"
        claims = [Claim(found.short, [0])] + (support or [Claim(quoted(found.carrier.text), [0])])
        answer.answer, answer.citations = render(claims, shown)
        answer.short_answer, answer.short_answer_cites = found.short, [1]  # the carrier is always cited first
        answer.timings_ms = to_ms(timings)
        return answer

    def gather_evidence(self, question: str, scope: Scope) -> tuple[list, list[Evidence]]:
        retrieved = self.retriever.retrieve(question, scope)
        records = self.desk.source_index() if retrieved else {}
        titles = {name: r.title for name, r in records.items()}
        texts = {name: r.text for name, r in records.items()}
        n = max(self.settings.evidence_sentences, self.settings.reader_passages)
        return retrieved, select_evidence(
            question, retrieved, titles, texts, self.desk.evidence_embedder, n, self.settings
        )

    def on_topic(self, question: str, evidence: list[Evidence]) -> bool:
        """The gate before reading: some evidence is close to the question and holds enough of its
        words (thresholds fitted on public data by eval.fit_gate)."""
        s = self.settings
        return gate_passes(
            gate_features(question, evidence),
            s.gate_min_relevance,
            s.gate_min_coverage,
            s.gate_min_salient_coverage,
        )

    def find_answer(self, question: str, evidence: list[Evidence]) -> Found | None:
        """The reader's verdict over the best evidence sentences, each read with the sentence before
        it, and the span scorer's second opinion on its span; None when no span beats "no answer" by
        the calibrated margin, or the scorer finds even the best candidate too unlikely an answer."""
        found, margin = self.best_reading(question, evidence)
        if found is None or not clears_margin(margin, self.settings.reader_threshold):
            return None
        opinion = self.second_opinion(question, evidence)
        if opinion is None:
            return found
        chosen, how_likely = opinion
        return chosen if likely_enough(how_likely, self.settings.span_min_likelihood) else None

    def second_opinion(self, question: str, evidence: list[Evidence]) -> tuple[Found, float] | None:
        """The reader's candidate answers from the leading evidence windows, re-ranked with the span
        scorer's likelihood of each (rag.span_scorer): the winner and its likelihood. None without a
        scorer or when it cannot score them, and the reader's own choice stands. Whatever wins is a
        verbatim span of the evidence."""
        s = self.settings
        if self.desk.span_scorer is None:
            return None
        windows = evidence[: s.span_windows]
        candidates, log_probs = self.candidate_opinions(
            question, windows, s.span_candidates, s.span_scored_tokens
        )
        if log_probs is None:
            return None
        ranked = [(c, likelihood(lp, s.span_scored_tokens)) for c, lp in zip(candidates, log_probs)]
        best, how_likely = max(
            ranked, key=lambda pair: candidate_score(pair[0].margin, pair[1], s.span_lm_weight)
        )
        return found_in(windows[best.passage], best.start, best.end), how_likely

    def candidate_opinions(
        self, question: str, windows: list[Evidence], n: int, tokens: int
    ) -> tuple[list, list[list[float]] | None]:
        """The reader's ``n`` best distinct spans of these evidence windows, and the span scorer's
        log-probabilities of the first ``tokens`` tokens of each, read with the sentences that hold
        them (scorer_passage); None for those when there is no candidate or the scorer cannot score
        them. A lone candidate is scored too: how likely it is still says whether to answer.
        eval.fit_span measures through this too, so what it fits is what the pipeline asks."""
        texts = [e.window or e.text for e in windows]
        candidates = self.desk.reader.candidates(question, texts, n)
        if not candidates:
            return candidates, None
        answers = [answer_text(c.text) for c in candidates]
        passage = scorer_passage(windows, candidates)
        return candidates, self.desk.span_scorer.token_log_probs(question, passage, answers, tokens)

    def best_reading(self, question: str, evidence: list[Evidence]) -> tuple[Found | None, float]:
        """The reader's best span over the first ``reader_passages`` evidence windows and its margin
        over "no answer", before any threshold (eval.fit_gate chooses the threshold on these)."""
        candidates = evidence[: self.settings.reader_passages]
        return reading_of(
            self.desk.reader.read(question, [e.window or e.text for e in candidates]), candidates
        )

    def backend_name(self) -> str:
        return self.desk.llm.name

    def condense(self, question: str, history: list[str]) -> str:
        """Turn a follow-up into a standalone question; keep the follow-up's own words either way."""
        if not history:
            return question
        previous = history[-CONDENSE_TURNS:]
        try:
            prompt = load_prompt("condense").render(history=previous, question=question)
            rewritten = self.run_llm(prompt, self.settings.llm_max_tokens, CONDENSE_STOP).strip()
        except (NoLLM, BackendUnavailable):
            rewritten = ""
        if keeps_follow_up(question, rewritten):
            return rewritten
        return f"{question} ({previous[-1]})"  # retrieval still sees both turns

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


def gate_features(question: str, evidence: list[Evidence]) -> tuple[float, float, float]:
    """(best relevance, best share of the question's content words in one evidence window, share of
    the question's names, numbers and date words found anywhere in the evidence and its chunks)."""
    if not evidence:
        return 0.0, 0.0, 0.0
    relevance = max(e.relevance for e in evidence)
    coverage = max(term_coverage(question, e.window or e.text) for e in evidence)
    return (
        relevance,
        coverage,
        salient_coverage(question, " ".join(e.text + " " + e.context for e in evidence)),
    )


def salient_coverage(question: str, text: str) -> float:
    """Names, numbers and date words are what a near-miss question changes ('aid for Haiti' asked of
    articles about aid for the region); 1.0 when the question has none."""
    terms = names(question) | numbers(question) | time_words(question)
    if not terms:
        return 1.0
    words = word_set(text) | numbers(text)
    return sum(t in words or stem(t) in words for t in terms) / len(terms)


def gate_passes(features: tuple, min_relevance: float, min_coverage: float, min_salient: float):
    """The gate's rule, for one question's features or (elementwise, with `&`) for numpy columns of
    many: eval.fit_gate sweeps its thresholds with this very rule."""
    relevance, coverage, salient = features
    return (relevance >= min_relevance) & (coverage >= min_coverage) & (salient >= min_salient)


@dataclass
class Found:
    """The reader's answer: the short answer and the source sentence (or two) it is quoted from."""

    short: str
    carrier: Evidence


def reading_of(spans: list, candidates: list[Evidence]) -> tuple[Found | None, float]:
    """The best of the reader's spans (one per candidate window, in order) as a Found and its margin
    over "no answer"; (None, -inf) when no window yields a span with words in it."""
    span = choose(spans, float("-inf"))
    if span is None or not answer_text(span.text):
        return None, float("-inf")
    return found_in(candidates[span.passage], span.start, span.end), span.margin


def scorer_passage(windows: list[Evidence], candidates: list) -> str:
    """What the span scorer reads: each sentence that holds a candidate once, in source order within
    each article. Its prompt costs ~2.5 ms a token on two cores, and the windows' other sentences
    (and the sentence two adjacent windows share) add tokens without adding a candidate."""
    pieces = {}
    for c in candidates:
        piece = found_in(windows[c.passage], c.start, c.end).carrier
        pieces.setdefault((piece.source, piece.start), piece.text)
    order = list(dict.fromkeys(source for source, _ in pieces))
    return " ".join(pieces[key] for key in sorted(pieces, key=lambda k: (order.index(k[0]), k[1])))


def clears_margin(margin, threshold: float):
    """The reader's span beats "no answer" by more than the threshold. Elementwise on numpy columns
    too: eval.fit_gate sweeps the threshold through this, so fitted and applied rule are one."""
    return margin > threshold


def likely_enough(how_likely, floor: float):
    """The span scorer finds the chosen answer likely enough to give (span_min_likelihood). Elementwise
    on numpy columns too, for eval.fit_gate."""
    return how_likely >= floor


def candidate_score(margin: float, likelihood: float, weight: float) -> float:
    """How a reader's candidate ranks once the span scorer has spoken: its margin over "no answer"
    plus ``weight`` times the scorer's likelihood (eval.fit_span sweeps the weight through this)."""
    return margin + weight * likelihood


def found_in(e: Evidence, start: int, end: int) -> Found:
    """Locate a span of ``e.window`` (the sentence before ``e``, then ``e``) in the source: the cited
    quote is whichever of the two sentences holds the span, or both when it crosses them."""
    prefix = len(e.window) - len(e.text) if e.window.endswith(e.text) else 0
    short = answer_text(e.window[start:end])
    if start >= prefix:
        return Found(short, e)
    text = e.window[:prefix].rstrip() if end <= prefix else e.window
    return Found(short, replace(e, start=e.start - prefix, end=e.start - prefix + len(text), text=text))


def states(sentence: str, short: str) -> bool:
    """The sentence contains the short answer (case, accents and spacing aside)."""
    return " ".join(fold(short).split()) in " ".join(fold(sentence).split())


def quoted(text: str) -> str:
    return f"\u201c{text.strip()}\u201d"


def timed(timings: dict[str, float], stage: str, work):
    clock = time.perf_counter()
    try:
        return work()
    finally:
        timings[stage] = time.perf_counter() - clock


def timed_steps(timings: dict[str, float], stage: str, steps: Generator[T, None, R]) -> Generator[T, None, R]:
    """timed() for a stage that yields as it goes: only the time spent producing its items counts, not
    the time the consumer spends between them (a UI redrawing the draft)."""
    spent = 0.0
    try:
        while True:
            clock = time.perf_counter()
            try:
                item = next(steps)
            except StopIteration as done:
                return done.value
            finally:
                spent += time.perf_counter() - clock
            yield item
    finally:
        steps.close()  # a consumer that stops early ends the stage now, not when garbage collected
        timings[stage] = spent


def shown_evidence(found: Found, evidence: list[Evidence], size: int) -> list[Evidence]:
    """The evidence the LLM sees: the sentence holding the short answer first, then the best others."""
    return [found.carrier] + [e for e in evidence if e is not found.carrier][: size - 1]


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
        raise BriefError(
            f"the question is {len(text)} characters long, over the {MAX_QUESTION_CHARS} limit",
            fix="ask a shorter question",
        )
    if not re.search(r"\w", text):
        raise BriefError("the question has no words", fix="type a question about the ingested articles")
    return text


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
            raise BriefError(
                f"{path}:{number}: not JSON ({exc.msg})", fix="one JSON object per line"
            ) from None
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise BriefError(
                f"{path}:{number}: no 'question' string", fix='each line needs {"question": "..."}'
            )
        rows.append(row)
    return rows

"""The LLM where it can be checked: standalone points and open questions, each verified.

The model shortens a chosen source sentence into a standalone point (the sentence it sees already
has "he"/"she" replaced by the name found in the sentences before it) or turns a pending statement
into a question. The prompts are worked examples in completion form, because the packaged base
model continues a pattern far more reliably than it follows an instruction. Every draft goes through
the verifier against the sentence it cites, with the preceding sentences as context for names, and
through the faithfulness checks below; a draft that fails falls back to a trimmed form of the source
sentence (or a question built from its own words), which is verified in turn, and as a last resort
the sentence itself. Each attempt is logged with the reason it was rejected.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from rag.briefings.briefing_text import (
    GENERIC_QUESTION,
    PRONOUN_OPENING,
    is_pending,
    lower_first,
    needs_rewrite,
    question_from,
    replace_pronoun,
    trim_sentence,
)
from rag.errors import BackendUnavailable
from rag.models.llm import NoLLM
from rag.models.prompts import load_prompt
from rag.questions.verify import Passage, Verifier
from rag.textfacts import content_terms, names

QUESTION_WORDS = frozenset(
    "Will Would Did Does Do Is Are Was Were Has Have Can Could What When Who How Why Where Which".split()
)
SENTENCE_END = (".", "!", "?", "”", '"', "’")


@dataclass
class Line:
    text: str
    rewritten: bool  # True when the LLM's wording was kept (it passed the verifier)


@dataclass
class RewriteStats:
    """What the LLM was asked and what came of it: counts per kind, tokens, and every draft with the
    reason it was rejected (None: kept)."""

    backend: str = ""
    calls: int = 0
    tokens: int = 0  # streamed pieces; one per token on llama.cpp and on OpenAI-style streams
    seconds: float = 0.0  # spent in LLM calls
    attempts: list[dict] = field(default_factory=list)

    def count(self, kind: str, kept: bool | None = None) -> int:
        return sum(
            1 for a in self.attempts if a["kind"] == kind and (kept is None or (a["reason"] is None) == kept)
        )

    @property
    def attempted(self) -> int:
        return len(self.attempts)

    @property
    def kept(self) -> int:
        return sum(1 for a in self.attempts if a["reason"] is None)

    def to_json(self) -> dict:
        kinds = {
            kind: {"attempted": self.count(kind), "kept": self.count(kind, True)}
            for kind in ("point", "question")
        }
        return {
            "attempted": self.attempted,
            "kept": self.kept,
            "backend": self.backend,
            "llm_calls": self.calls,
            "tokens": self.tokens,
            "llm_s": round(self.seconds, 1),
            **{f"{kind}s": counts for kind, counts in kinds.items()},
            "log": self.attempts,
        }


class Rewriter:
    def __init__(self, desk, verifier: Verifier):
        self.settings = desk.settings
        self.verifier = verifier
        self.llm = desk.llm if self.settings.summary_rewrite else None
        self.stats = RewriteStats(backend=getattr(self.llm, "name", "off"))
        self._cache: dict[tuple[str, str], Line] = {}

    def point(
        self, sentence: str, context: str, person: str | None, candidates: tuple[str, ...] = ()
    ) -> Line:
        """A standalone bullet for ``sentence`` (context: the sentences before it in its article;
        person: who its 'he'/'she' is, when the caller could tell; candidates: the people the
        context names). The trimmed sentence (pronoun replaced, asides dropped, cut at a clause
        boundary) is used when it stands alone; the LLM is asked only when it does not (still a
        pronoun opening, a quotation, too long), and its draft must pass the verifier and the
        faithfulness checks."""
        key = ("point", sentence)
        if key not in self._cache:
            trimmed = self.fallback_point(sentence, context, person)
            referent = person or sole(candidates, sentence)
            drafted = (
                self.drafted_point(sentence, context, person, referent)
                if self.worth_asking(trimmed, referent)
                else None
            )
            self._cache[key] = drafted or Line(trimmed, False)
        return self._cache[key]

    def worth_asking(self, trimmed: str, referent: str | None) -> bool:
        """The trimmed sentence does not stand alone, and a draft could pass: when all that is wrong
        is an opening 'he'/'she' that no one name may replace, none could."""
        limit = self.settings.summary_point_max_words
        if not needs_rewrite(trimmed, limit):
            return False
        rest = PRONOUN_OPENING.sub("", trimmed).strip()
        return bool(referent) or not PRONOUN_OPENING.match(trimmed) or needs_rewrite(rest, limit)

    def drafted_point(
        self, sentence: str, context: str, person: str | None, referent: str | None
    ) -> Line | None:
        """The LLM's point, when it passes. The model sees the sentence with the pronoun the caller
        resolved replaced; one still unresolved it may replace by referent (the only person the
        sentences before name), and only then is it shown them: they cost prompt tokens."""
        source = replace_pronoun(sentence, person)
        shown = context if referent and PRONOUN_OPENING.match(source) else ""
        draft = self.ask_llm("summary_point", context=shown, sentence=source)
        if draft is None:
            return None
        problem = self.point_problem(draft, sentence, source, context, referent)
        return Line(draft, True) if self.judge("point", sentence, draft, problem) else None

    def question(self, sentence: str, context: str) -> Line:
        """The open question a pending statement raises: built from the statement's own words where
        its grammar allows, else drafted by the LLM (and checked), else a plain 'has this happened'."""
        key = ("question", sentence)
        if key not in self._cache:
            built = question_from(
                sentence, self.settings.summary_point_max_words, self.settings.summary_min_trimmed_words
            )
            line = Line(built, False)
            if built.startswith(GENERIC_QUESTION) or not self.supported(built, sentence, context):
                line = self.drafted_question(sentence, context, built)
            self._cache[key] = line
        return self._cache[key]

    def drafted_question(self, sentence: str, context: str, built: str) -> Line:
        draft = self.ask_llm("summary_question", statement=sentence)
        if draft is not None and self.judge(
            "question", sentence, draft, self.question_problem(draft, sentence, context)
        ):
            return Line(draft, True)
        if self.supported(built, sentence, context):
            return Line(built, False)
        plain = lower_first(trim_sentence(sentence, len(sentence.split())).rstrip(".!?"))
        return Line(f"{GENERIC_QUESTION} {plain}?", False)

    def judge(self, kind: str, sentence: str, draft: str, problem: str | None) -> bool:
        """Log the attempt (with the reason it failed) and say whether the draft is kept."""
        self.stats.attempts.append({"kind": kind, "source": sentence, "draft": draft, "reason": problem})
        return problem is None

    def fallback_point(self, sentence: str, context: str, person: str | None) -> str:
        s = self.settings
        trimmed = trim_sentence(
            replace_pronoun(sentence, person), s.summary_point_max_words, s.summary_min_trimmed_words
        )
        return trimmed if self.supported(trimmed, sentence, context) else sentence

    def point_problem(
        self, draft: str, sentence: str, source: str, context: str, person: str | None
    ) -> str | None:
        """Why a draft point may not stand for ``sentence`` (``source``: what the model was shown,
        the sentence with its pronoun replaced)."""
        if normalized(draft) == normalized(source):
            return "the sentence copied unchanged (not a rewrite)"
        if len(draft.split()) < self.settings.summary_min_words:
            return "empty or a fragment"
        if len(draft.split()) > self.settings.summary_point_max_words:
            return f"longer than {self.settings.summary_point_max_words} words"
        if not draft.endswith(SENTENCE_END):
            return "cut off (no sentence end): the token limit was reached"
        return self.unfaithful(draft, sentence, context, person)

    def question_problem(self, draft: str, sentence: str, context: str) -> str | None:
        if len(draft.split()) < self.settings.summary_min_words:
            return "empty or a fragment"
        if not draft.endswith("?") or draft.split()[0] not in QUESTION_WORDS:
            return "not a question"
        return self.unfaithful(draft, sentence, context, None)

    def unfaithful(self, draft: str, sentence: str, context: str, person: str | None) -> str | None:
        """Why a draft may not stand for its sentence (None: it may). The verifier's check, and three
        a rewrite must pass besides: every content word is the sentence's own (no new claims), a name
        not in the sentence is the one a 'he'/'she' may become (the subject the caller found, or the
        only person the preceding sentences name), and a plan or request stays a plan or request
        (no 'proposed' -> 'approved')."""
        verdict = self.verifier.check(draft, [passage(sentence, context)])
        if not verdict.supported:
            return "verifier: " + "; ".join(verdict.problems)
        allowed_names = names(person or "")
        if new := content_terms(draft) - content_terms(sentence) - content_terms(" ".join(allowed_names)):
            return "words not in the sentence: " + ", ".join(sorted(new))
        if new := names(draft) - names(sentence) - allowed_names:
            return "names not in the sentence: " + ", ".join(sorted(new))
        if repeats(draft, self.settings.summary_repeated_ngram):
            return "repeats itself"
        if not draft.endswith("?") and is_pending(draft) != is_pending(sentence):
            return "a plan turned into a fact, or a fact into a plan"
        return None

    def supported(self, claim: str, sentence: str, context: str) -> bool:
        return self.verifier.supports(claim, [passage(sentence, context)])

    def ask_llm(self, prompt_name: str, **values: str) -> str | None:
        """The model's one-line draft, or None when there is no model, the call cap or time budget
        is reached, or the model failed (the trimmed fallback is used then, and no further calls
        are made)."""
        if self.llm is None or self.over_budget() or self.discouraged(prompt_name):
            return None
        prompt = load_prompt(prompt_name).render(**values)
        self.stats.calls += 1
        started = time.perf_counter()
        try:
            text = self.stream_draft(prompt)
        except (NoLLM, BackendUnavailable):
            self.stats.calls -= 1
            self.llm = None
            return None
        finally:
            self.stats.seconds += time.perf_counter() - started
        return clean_draft(text)

    def over_budget(self) -> bool:
        s = self.settings
        return self.stats.calls >= s.summary_max_rewrites or self.stats.seconds >= s.summary_rewrite_budget_s

    def discouraged(self, prompt_name: str) -> bool:
        """True after summary_rewrite_patience drafts of this kind in a row were rejected: a model
        that cannot do the task on this material (the packaged 270M base model copies long
        sentences unchanged) is not asked again, which saves seconds per call; one whose drafts are
        kept goes on being asked."""
        kind = prompt_name.removeprefix("summary_")
        recent = [a["reason"] is None for a in self.stats.attempts if a["kind"] == kind][
            -self.settings.summary_rewrite_patience :
        ]
        return len(recent) == self.settings.summary_rewrite_patience and not any(recent)

    def stream_draft(self, prompt: str) -> str:
        """Stream the draft, stopping as soon as it is longer than any kept line may be: a small
        model that copies a long sentence would otherwise spend every remaining token on a draft
        that is rejected for its length anyway."""
        text = ""
        for piece in self.llm.stream(prompt, self.settings.summary_rewrite_max_tokens, ["\n"]):
            text += piece
            self.stats.tokens += 1
            if len(text.split()) > self.settings.summary_point_max_words + 1:
                break
        return text


def sole(candidates: tuple[str, ...], sentence: str) -> str | None:
    """The one person a sentence opening with 'he'/'she' can refer to, when the sentences before it
    name exactly one (with two or more, a model's pick could not be checked)."""
    return candidates[0] if len(candidates) == 1 and PRONOUN_OPENING.match(sentence) else None


def normalized(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(".!?")


def passage(sentence: str, context: str) -> Passage:
    return Passage(text=sentence, context=f"{context} {sentence}".strip())


def repeats(text: str, n: int) -> bool:
    """A draft repeating a run of n words is a model loop, not a rewrite."""
    words = text.lower().split()
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(grams) != len(set(grams))


def clean_draft(text: str) -> str:
    """The model's line without citation markers or quotation marks around the whole of it."""
    line = re.sub(r"\[\d+\]", "", text.strip().split("\n")[0]).strip()
    if line.count('"') == 2 and line.startswith('"') and line.endswith('"'):
        line = line[1:-1]
    if line.startswith("“") and line.endswith("”") and line.count("“") == 1:
        line = line[1:-1]
    return line

"""The LLM where it can be checked: standalone points and open questions, each verified.

The model rewrites a chosen source sentence into a standalone point (naming who "he" or "the
meeting" is from the sentences before it) or turns a pending statement into a question. Every line
goes through the verifier against the sentence it cites, with the preceding sentences as context
for names; a line that fails falls back to a trimmed form of the source sentence (or a question
built from its own words), which is verified in turn, and as a last resort the sentence itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.briefing_text import GENERIC_QUESTION, is_pending, lower_first, needs_rewrite, question_from, replace_pronoun, trim_sentence
from rag.errors import BackendUnavailable
from rag.llm import NoLLM, complete
from rag.prompts import load_prompt
from rag.textfacts import content_terms, names
from rag.verify import Passage, Verifier

REPEATED_NGRAM = 4  # a draft repeating any run of this many words is a model loop, not a rewrite


@dataclass
class Line:
    text: str
    rewritten: bool  # True when the LLM's wording was kept (it passed the verifier)


@dataclass
class RewriteStats:
    attempted: int = 0
    kept: int = 0
    backend: str = ""

    def to_json(self) -> dict:
        return {"attempted": self.attempted, "kept": self.kept, "backend": self.backend}


class Rewriter:
    def __init__(self, desk, verifier: Verifier):
        self.settings = desk.settings
        self.verifier = verifier
        self.llm = desk.llm if self.settings.summary_rewrite else None
        self.stats = RewriteStats(backend=getattr(self.llm, "name", "off"))
        self._cache: dict[tuple[str, str], Line] = {}

    def point(self, sentence: str, context: str, person: str | None) -> Line:
        """A standalone bullet for ``sentence`` (context: the sentences before it in its article).
        The trimmed sentence (pronoun replaced, asides dropped, cut at a clause boundary) is used when
        it stands alone; the LLM is asked only when it does not (still a pronoun opening, a
        quotation, too long), and its draft must pass the verifier and the faithfulness checks."""
        key = ("point", sentence)
        if key not in self._cache:
            limit = self.settings.summary_point_max_words
            trimmed = self.fallback_point(sentence, context, person)
            drafted = self.ask_llm("summary_point", context=context, sentence=sentence) if needs_rewrite(trimmed, limit) else None
            if drafted and len(drafted.split()) <= limit and self.faithful(drafted, sentence, context, person):
                self._cache[key] = self.kept(drafted)
            else:
                self._cache[key] = Line(trimmed, False)
        return self._cache[key]

    def question(self, sentence: str, context: str) -> Line:
        """The open question a pending statement raises: built from the statement's own words where
        its grammar allows, else drafted by the LLM (and checked), else a plain 'has this happened'."""
        key = ("question", sentence)
        if key not in self._cache:
            built = question_from(sentence, self.settings.summary_point_max_words)
            if not built.startswith(GENERIC_QUESTION) and self.supported(built, sentence, context):
                self._cache[key] = Line(built, False)
            else:
                drafted = self.ask_llm("summary_question", context=context, statement=sentence)
                if drafted and drafted.endswith("?") and drafted.split()[0] in QUESTION_WORDS and self.faithful(drafted, sentence, context, None):
                    self._cache[key] = self.kept(drafted)
                else:
                    self._cache[key] = Line(built if self.supported(built, sentence, context) else
                                            f"{GENERIC_QUESTION} {lower_first(trim_sentence(sentence, len(sentence.split())).rstrip('.!?'))}?", False)
        return self._cache[key]

    def kept(self, text: str) -> Line:
        self.stats.kept += 1
        return Line(text, True)

    def fallback_point(self, sentence: str, context: str, person: str | None) -> str:
        trimmed = trim_sentence(replace_pronoun(sentence, person), self.settings.summary_point_max_words)
        return trimmed if self.supported(trimmed, sentence, context) else sentence

    def faithful(self, draft: str, sentence: str, context: str, person: str | None) -> bool:
        """The verifier's check, and three a rewrite must pass besides: every content word is the
        sentence's own (no new claims), a name not in the sentence is the one 'he'/'she' was
        resolved to, and a plan or request stays a plan or request (no 'proposed' -> 'approved')."""
        if not self.supported(draft, sentence, context):
            return False
        allowed_names = names(person or "")
        if content_terms(draft) - content_terms(sentence) - content_terms(" ".join(allowed_names)):
            return False
        if names(draft) - names(sentence) - allowed_names:
            return False
        if repeats(draft):
            return False
        return draft.endswith("?") or is_pending(draft) == is_pending(sentence)

    def supported(self, claim: str, sentence: str, context: str) -> bool:
        return self.verifier.supports(claim, [Passage(text=sentence, context=f"{context} {sentence}".strip())])

    def ask_llm(self, prompt_name: str, **values: str) -> str | None:
        """The model's one-line answer, or None when there is no model (or it failed: the
        trimmed fallback is used then, and no further calls are made)."""
        if self.llm is None:
            return None
        prompt = load_prompt(prompt_name).render(**values)
        try:
            self.stats.attempted += 1
            text = complete(self.llm, prompt, self.settings.summary_rewrite_max_tokens, stop=["\n"])
        except (NoLLM, BackendUnavailable):
            self.stats.attempted -= 1
            self.llm = None
            return None
        return clean_draft(text)


QUESTION_WORDS = frozenset("Will Would Did Does Do Is Are Was Were Has Have Can Could What When Who How Why Where Which".split())


def repeats(text: str) -> bool:
    words = text.lower().split()
    grams = [tuple(words[i:i + REPEATED_NGRAM]) for i in range(len(words) - REPEATED_NGRAM + 1)]
    return len(grams) != len(set(grams))


def clean_draft(text: str) -> str | None:
    """The model's line without markers, quotes around it or a trailing fragment; None if empty."""
    line = re.sub(r"\[\d+\]", "", text.strip().split("\n")[0]).strip().strip('"“”').strip()
    return line if len(line.split()) >= 3 and not repeats(line) else None

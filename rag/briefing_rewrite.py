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

from rag.briefing_text import lower_first, question_from, replace_pronoun, trim_sentence
from rag.errors import BackendUnavailable
from rag.llm import NoLLM, complete
from rag.prompts import load_prompt
from rag.verify import Passage, Verifier


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
        """A standalone bullet for ``sentence`` (context: the sentences before it in its article)."""
        key = ("point", sentence)
        if key not in self._cache:
            limit = self.settings.summary_point_max_words
            drafted = self.ask_llm("summary_point", context=context, sentence=sentence)
            if drafted and len(drafted.split()) <= limit and self.supported(drafted, sentence, context):
                self._cache[key] = self.kept(drafted)
            else:
                self._cache[key] = Line(self.fallback_point(sentence, context, person), False)
        return self._cache[key]

    def question(self, sentence: str, context: str) -> Line:
        key = ("question", sentence)
        if key not in self._cache:
            drafted = self.ask_llm("summary_question", context=context, statement=sentence)
            if drafted and drafted.endswith("?") and self.supported(drafted, sentence, context):
                self._cache[key] = self.kept(drafted)
            else:
                built = question_from(sentence, self.settings.summary_point_max_words)
                safe = built if self.supported(built, sentence, context) else f"Has this happened yet: {lower_first(sentence.rstrip('.!?'))}?"
                self._cache[key] = Line(safe, False)
        return self._cache[key]

    def kept(self, text: str) -> Line:
        self.stats.kept += 1
        return Line(text, True)

    def fallback_point(self, sentence: str, context: str, person: str | None) -> str:
        trimmed = trim_sentence(replace_pronoun(sentence, person), self.settings.summary_point_max_words)
        return trimmed if self.supported(trimmed, sentence, context) else sentence

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


def clean_draft(text: str) -> str | None:
    """The model's line without markers, quotes around it or a trailing fragment; None if empty."""
    line = re.sub(r"\[\d+\]", "", text.strip().split("\n")[0]).strip().strip('"“”').strip()
    return line if len(line.split()) >= 3 else None

"""A second opinion on the reader's candidate answers: how likely a language model finds each one
as the answer to the question, given the evidence.

The reader (rag/reader.py) is a 22M-parameter model trained on a few thousand public questions; it
often finds the sentence but picks the wrong phrase of it. The packaged Gemma 3 270M cannot be
trusted to write an answer, but asked only how likely each of the reader's few candidate spans is
after "Answer:", it ranks them well: on the public fitting article `python -m eval.fit_span` uses, the
mix of both picks a gold answer far more often than the reader alone (see eval/sets/span_report.json).
Whatever it scores, the answer is still a verbatim span the reader found in the evidence.

Scorers are registered by name like the LLM backends; ``none`` leaves the reader's choice alone.
llama_cpp is imported only when the Gemma scorer first scores.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

import numpy as np

from rag.llm import import_llama_cpp, packaged_gguf_path
from rag.prompts import load_prompt
from rag.settings import Settings


class SpanScorer(Protocol):
    name: str

    def score(self, question: str, passage: str, candidates: list[str]) -> list[float] | None:
        """Mean log-probability per token of each candidate as the answer; None when it cannot
        score this passage (too long for its context), so the reader's choice stands."""
        ...

    def warm_up(self) -> None: ...


SCORERS: dict[str, Callable[[Settings], SpanScorer | None]] = {}


def register_scorer(name: str):
    def decorate(factory):
        SCORERS[name] = factory
        return factory

    return decorate


def make_scorer(settings: Settings) -> SpanScorer | None:
    return SCORERS[settings.span_scorer](settings)


@register_scorer("none")
def no_scorer(settings: Settings) -> None:
    return None


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max()
    return shifted - np.log(np.exp(shifted).sum())


@register_scorer("gemma")
class GemmaSpanScorer:
    """The packaged Gemma GGUF in its own llama.cpp context (the answer LLM may be a server, and a
    context is not safe to share between threads). The prompt is read once per question (its worked
    example stays cached between questions) with only its last position's logits; each candidate
    then costs one batch of its own tokens."""

    name = "gemma"

    def __init__(self, settings: Settings):
        self.settings = settings
        self._llama = None
        self._lock = threading.Lock()

    def _load(self):
        if self._llama is None:
            llama_cpp = import_llama_cpp(fix="run `make install`, or set BRIEF_SPAN_SCORER=none")
            s = self.settings
            self._llama = llama_cpp.Llama(
                model_path=str(packaged_gguf_path(s.resolved_model_dir)),
                n_ctx=s.span_scorer_context,
                n_threads=s.llm_threads,
                verbose=False,
            )
        return self._llama

    def warm_up(self) -> None:
        with self._lock:
            self._load()

    def score(self, question: str, passage: str, candidates: list[str]) -> list[float] | None:
        prompt = load_prompt("span").render(passage=passage, question=question)
        with self._lock:
            llama = self._load()
            prefix = llama.tokenize(prompt.encode("utf-8"), add_bos=True)
            answers = [llama.tokenize((" " + c).encode("utf-8"), add_bos=False) for c in candidates]
            if not answers or len(prefix) + max(map(len, answers)) > self.settings.span_scorer_context:
                return None
            self._read_prompt(llama, prefix)
            after_prompt = log_softmax(self._last_logits(llama))
            return [self._mean_log_prob(llama, len(prefix), after_prompt, tokens) for tokens in answers]

    @staticmethod
    def _read_prompt(llama, prefix: list[int]) -> None:
        """Evaluate the prompt, keeping what the context already holds of it (the worked example
        every prompt starts with); at least its last token is evaluated, for its logits."""
        held = llama.input_ids[: llama.n_tokens]
        same = 0
        for have, want in zip(held, prefix[:-1]):
            if have != want:
                break
            same += 1
        llama.n_tokens = same
        llama.eval(prefix[same:])

    def _mean_log_prob(self, llama, prompt_length: int, after_prompt: np.ndarray, tokens: list[int]) -> float:
        """Mean log-probability of ``tokens`` right after the prompt. The prompt's cached state is
        kept (what follows it is dropped), and the candidate's tokens but the last go through the
        model in one batch asking for every position's logits: one step per token would cost ~20 ms
        each, and long candidates have up to 30."""
        if not tokens:
            return float("-inf")
        total = float(after_prompt[tokens[0]])
        if len(tokens) > 1:
            rows = self._batch_logits(llama, prompt_length, tokens[:-1])
            total += sum(float(log_softmax(row)[token]) for row, token in zip(rows, tokens[1:]))
        return total / len(tokens)

    @staticmethod
    def _batch_logits(llama, at: int, tokens: list[int]) -> np.ndarray:
        """Logits after each of ``tokens`` placed at position ``at`` of the context. llama-cpp-python's
        eval() keeps only the last position's logits unless the whole model was built with
        logits_all (which would pay the vocabulary projection for every prompt token too), so this
        fills its batch itself; pinned llama-cpp-python version, tested with the real model."""
        llama._ctx.kv_cache_seq_rm(-1, at, -1)
        llama._batch.set_batch(batch=tokens, n_past=at, logits_all=True)
        llama._ctx.decode(llama._batch)
        llama.input_ids[at : at + len(tokens)] = tokens
        llama.n_tokens = at + len(tokens)
        return GemmaSpanScorer._logits(llama, len(tokens))

    @staticmethod
    def _last_logits(llama) -> np.ndarray:
        """The logits after the last token decoded (the only position eval() asks for)."""
        return GemmaSpanScorer._logits(llama, 1)[0]

    @staticmethod
    def _logits(llama, rows: int) -> np.ndarray:
        """A copy of the last decode's logits, one row per position it asked for."""
        import llama_cpp

        return np.ctypeslib.as_array(
            llama_cpp.llama_get_logits(llama.ctx), shape=(rows, llama.n_vocab())
        ).copy()

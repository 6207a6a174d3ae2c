"""A second opinion on the reader's candidate answers: how likely a language model finds each one
as the answer to the question, given the evidence.

The reader (rag/models/reader.py) is a 22M-parameter model trained on a few thousand public questions; it
often finds the sentence but picks the wrong phrase of it. The packaged Gemma 3 270M cannot be
trusted to write an answer, but asked only how likely each of the reader's few candidate spans is
after "Answer:", it ranks them well: on the public fitting article `python -m fit.span` uses, the
mix of both picks a gold answer far more often than the reader alone (see eval/sets/span_report.json).
Whatever it scores, the answer is still a verbatim span the reader found in the evidence.

Scorers are registered by name like the LLM backends; ``none`` leaves the reader's choice alone.
llama_cpp is imported only when the Gemma scorer first scores.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Protocol

import numpy as np

from rag.config.settings import Settings
from rag.errors import BackendUnavailable
from rag.models.llm import import_llama_cpp, packaged_gguf_path
from rag.models.prompts import load_prompt


class SpanScorer(Protocol):
    name: str

    def token_log_probs(
        self, question: str, passage: str, candidates: list[str], limit: int
    ) -> list[list[float]] | None:
        """The log-probability of each of the first ``limit`` tokens of each candidate as the answer;
        None when it cannot score this passage (too long for its context), so the reader's choice
        stands."""
        ...

    def warm_up(self) -> None: ...


def likelihood(log_probs: list[float], tokens: int) -> float:
    """How likely a candidate is as the answer: the mean log-probability of its first ``tokens``
    tokens (span_scored_tokens). Fewer cost less, and the later tokens of a span copied from the
    passage are nearly certain, which favours long copies: scoring all of them picked whole clauses
    that hold the answer ("32 migrants on a bus ... were intercepted by five" for "how many
    vehicles?"); fit.span, fitting on F1, keeps the first few."""
    first = log_probs[:tokens]
    return sum(first) / len(first) if first else float("-inf")


# a factory takes the settings and, optionally, a way to borrow an already loaded Llama of the
# packaged model (the embedded LLM backend's), returning None when there is none
Weights = Callable[[], object | None]
SCORERS: dict[str, Callable[[Settings, Weights | None], SpanScorer | None]] = {}


def register_scorer(name: str):
    def decorate(factory):
        SCORERS[name] = factory
        return factory

    return decorate


def make_scorer(settings: Settings, weights: Weights | None = None) -> SpanScorer | None:
    return SCORERS[settings.span_scorer](settings, weights)


@register_scorer("none")
def no_scorer(settings: Settings, weights: Weights | None = None) -> None:
    return None


@register_scorer("gemma")
class GemmaSpanScorer:
    """The packaged Gemma GGUF in its own llama.cpp context (the answer LLM may be a server, and a
    context is not safe to share between threads). The prompt is read once per question (its worked
    example stays cached between questions); then every candidate continues it as its own sequence
    of one batch, all sharing the prompt's cache cells."""

    name = "gemma"

    def __init__(self, settings: Settings, weights: Weights | None = None):
        self.settings = settings
        self.weights = weights
        self._context: Sequences | None = None
        self._lock = threading.Lock()

    def _load(self) -> Sequences:
        if self._context is None:
            self._context = Sequences(self.settings, self.weights() if self.weights else None)
        return self._context

    def warm_up(self) -> None:
        with self._lock:
            self._load()

    def token_log_probs(
        self, question: str, passage: str, candidates: list[str], limit: int
    ) -> list[list[float]] | None:
        prompt = load_prompt("span").render(passage=passage, question=question)
        with self._lock:
            context = self._load()
            prefix = context.tokenize(prompt, bos=True)
            answers = [context.tokenize(" " + c, bos=False)[:limit] for c in candidates]
            if not answers or not all(answers) or not context.fits(prefix, answers):
                return None
            firsts = context.read_prompt(prefix, [tokens[0] for tokens in answers])
            rests = context.continue_each(len(prefix), answers)
        return [[first, *rest] for first, rest in zip(firsts, rests)]


class Sequences:
    """A llama.cpp context where several continuations of one prompt are decoded side by side.

    llama-cpp-python's Llama keeps one sequence and only the last position's logits, so candidates
    would cost one decode each; side by side in one decode six cost ~12% less on two cores (most of
    the time is the 262k-word vocabulary's logits for every candidate token). This uses the C API it
    exposes (llama_init_from_model, llama_batch_init, llama_decode, llama_memory_seq_*) for its own
    context with one sequence per candidate and a unified cache, and a Llama object only for the
    weights and the tokenizer: the embedded LLM backend's when it runs the packaged model (so the
    file is mapped once), else one of its own whose context is left tiny. Tested with the real
    packaged model."""

    TOKENIZER_CONTEXT = 32  # an own Llama object's context is never decoded into

    def __init__(self, settings: Settings, llama=None):
        llama_cpp = import_llama_cpp(fix="run `make install`, or set BRIEF_SPAN_SCORER=none")
        self.lib = llama_cpp
        self.size = settings.span_scorer_context
        self.llama = llama or llama_cpp.Llama(
            model_path=str(packaged_gguf_path(settings.resolved_model_dir)),
            n_ctx=self.TOKENIZER_CONTEXT,
            n_threads=settings.llm_threads,
            verbose=False,
        )
        self.n_vocab = self.llama.n_vocab()
        self.lanes = settings.span_candidates  # continuations decoded together; sequence 0 is the prompt
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = params.n_batch = self.size
        params.n_seq_max = self.lanes + 1
        params.kv_unified = True  # the candidates share the prompt's cells instead of copies
        params.n_threads = params.n_threads_batch = settings.llm_threads
        self.ctx = llama_cpp.llama_init_from_model(self.llama.model, params)
        if not self.ctx:
            raise BackendUnavailable(
                "llama.cpp could not make the span scorer's context", fix="set BRIEF_SPAN_SCORER=none"
            )
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.batch = llama_cpp.llama_batch_init(self.size, 0, self.lanes + 1)
        self.held: list[int] = []  # the prompt tokens sequence 0 holds
        # freed before the model (the finalizer keeps the Llama alive until then)
        weakref.finalize(self, free_context, llama_cpp, self.ctx, self.batch, self.llama)

    def tokenize(self, text: str, bos: bool) -> list[int]:
        return self.llama.tokenize(text.encode("utf-8"), add_bos=bos)

    def fits(self, prefix: list[int], answers: list[list[int]]) -> bool:
        """The prompt and every candidate's tokens fit the context together."""
        return len(prefix) + sum(len(a) for a in answers) <= self.size

    def read_prompt(self, prefix: list[int], next_tokens: list[int]) -> list[float]:
        """The log-probability of each of ``next_tokens`` right after the prompt. What sequence 0
        already holds of the prompt (the worked example every prompt starts with) is kept; at least
        its last token is decoded, for its logits."""
        same = 0
        for have, want in zip(self.held, prefix[:-1]):
            if have != want:
                break
            same += 1
        self.lib.llama_memory_seq_rm(self.memory, -1, same, -1)  # every sequence, from there on
        rest = prefix[same:]
        self.decode([(token, same + i, 0) for i, token in enumerate(rest)], logits=[len(rest) - 1])
        self.held = list(prefix)
        return self.log_probs(len(rest) - 1, next_tokens)

    def continue_each(self, at: int, continuations: list[list[int]]) -> list[list[float]]:
        """For each token list placed right after the prompt (which is ``at`` tokens long), the
        log-probability of each of its tokens but the first given those before it; each list is its
        own sequence, up to ``lanes`` lists per decode."""
        found: list[list[float]] = []
        for first in range(0, len(continuations), self.lanes):
            group = continuations[first : first + self.lanes]
            cells, ends = [], []
            for lane, tokens in enumerate(group, start=1):
                self.lib.llama_memory_seq_rm(self.memory, lane, -1, -1)
                self.lib.llama_memory_seq_cp(self.memory, 0, lane, -1, -1)
                cells += [(token, at + i, lane) for i, token in enumerate(tokens[:-1])]
                ends.append(len(cells))
            if cells:
                self.decode(cells, logits=range(len(cells)))
            for tokens, start in zip(group, [0] + ends[:-1]):
                found.append([self.log_probs(start + i, [token])[0] for i, token in enumerate(tokens[1:])])
        return found

    def decode(self, cells: list[tuple[int, int, int]], logits) -> None:
        """One llama_decode of (token, position, sequence) cells, asking for the logits of ``logits``."""
        batch, wanted = self.batch, set(logits)
        batch.n_tokens = len(cells)
        for i, (token, position, sequence) in enumerate(cells):
            batch.token[i], batch.pos[i] = token, position
            batch.n_seq_id[i], batch.seq_id[i][0] = 1, sequence
            batch.logits[i] = i in wanted
        if self.lib.llama_decode(self.ctx, batch) != 0:
            raise BackendUnavailable(
                "llama.cpp failed to score the candidate answers", fix="set BRIEF_SPAN_SCORER=none"
            )

    def log_probs(self, i: int, tokens: list[int]) -> list[float]:
        """The log-probability of each of ``tokens`` after the last decode's ``i``-th cell (one it
        asked logits for), read in place: a copy of the 262k logits per cell would cost more than
        the arithmetic."""
        row = np.ctypeslib.as_array(self.lib.llama_get_logits_ith(self.ctx, i), shape=(self.n_vocab,))
        top = row.max()
        normaliser = top + np.log(np.exp(row - top).sum())
        return [float(row[token] - normaliser) for token in tokens]


def free_context(llama_cpp, ctx, batch, llama) -> None:
    llama_cpp.llama_batch_free(batch)
    llama_cpp.llama_free(ctx)
    del llama  # the weights go last

"""Extractive reader with a no-answer option: which span of a short passage answers the question, if any.

all-MiniLM-L6-v2 fine-tuned SQuAD 2.0 style (a start and an end logit per token; [CLS] at both ends
means "no answer") by ``python -m fit.reader``, which also exported it to ONNX and wrote
``reader_model/report.json`` (data, split, hyperparameters, measured numbers, chosen thresholds).

Inference imports only onnxruntime and tokenizers, and only when a Reader is built: a cold
``brief ask`` that never reads does not pay for them. The tokenisation and span decoding below are
also used by the training script, so training and inference cannot drift apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.errors import BackendUnavailable

MODEL_DIR = Path(__file__).parent / "reader_model"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
REPORT_FILE = "report.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")

# Defaults chosen by fit.reader on its choosing articles (see report.json "inference");
# a test checks they match the shipped report.
NO_ANSWER_THRESHOLD = 1.514  # chosen on the choosing articles (report.json "inference"); answer when max over passages of (span score - no-answer score) exceeds this
MAX_LENGTH = 192  # question + passage tokens; a 1-4 sentence window fits
MAX_ANSWER_TOKENS = 30  # longest span considered, in word pieces
ANSWER_TRIM = " ,;:\n"  # what a short answer drops at its ends
PARAGRAPH_BREAK = "\n\n"  # cleaned text separates paragraphs so; an answer never spans one


@dataclass
class Span:
    passage: int  # index into the passages given to read()
    text: str  # == passages[passage][start:end]; "" when nothing could be decoded
    start: int
    end: int
    span_score: float  # start logit + end logit of the best non-empty span
    no_answer_score: float  # start logit + end logit of [CLS]
    probability: float = (
        0.0  # softmax(start) x softmax(end) over [CLS] and the passage: how sure of this span
    )

    @property
    def margin(self) -> float:
        """How much the best span beats "no answer"; the calibrated threshold applies to this."""
        return self.span_score - self.no_answer_score


def load_tokenizer(path: Path, max_length: int):
    """The WordPiece tokenizer, truncating question+passage pairs to ``max_length`` and padding batches."""
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise BackendUnavailable(f"the reader needs {exc.name}", fix="run `make install`") from None
    tokenizer = Tokenizer.from_file(str(path))
    # longest_first trims the passage (the longer side) first, and still works for an absurd question
    tokenizer.enable_truncation(max_length, strategy="longest_first")
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def encode_pairs(tokenizer, question: str, passages: list[str]) -> dict[str, np.ndarray]:
    """Model inputs for (question, passage) rows, plus each token's character offsets into its
    passage and a mask of the tokens a span may use (passage tokens only)."""
    encoded = tokenizer.encode_batch([(question, p) for p in passages])
    ids = np.array([e.ids for e in encoded], dtype=np.int64)
    return {
        "input_ids": ids,
        "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        "offsets": np.array([e.offsets for e in encoded], dtype=np.int64).reshape(
            len(encoded), ids.shape[1], 2
        ),
        "context": np.array([[s == 1 for s in e.sequence_ids] for e in encoded], dtype=bool),
    }


def best_span(
    start_logits: np.ndarray, end_logits: np.ndarray, context: np.ndarray, max_answer_tokens: int
) -> tuple[int, int, float]:
    """(start token, end token, score) of the best span inside the passage, end >= start, at most
    ``max_answer_tokens`` long; (0, 0, -inf) when the passage was truncated away."""
    top = top_spans(start_logits, end_logits, context, max_answer_tokens, 1)
    return top[0] if top else (0, 0, float("-inf"))


def top_spans(
    start_logits: np.ndarray, end_logits: np.ndarray, context: np.ndarray, max_answer_tokens: int, n: int
) -> list[tuple[int, int, float]]:
    """The ``n`` best (start token, end token, score) spans inside the passage, best first, end >=
    start, at most ``max_answer_tokens`` long; [] when the passage was truncated away."""
    size = len(start_logits)
    allowed = np.triu(np.ones((size, size), dtype=bool)) & ~np.triu(
        np.ones((size, size), dtype=bool), k=max_answer_tokens
    )
    allowed &= context[:, None] & context[None, :]
    n = min(n, int(allowed.sum()))
    if n == 0:
        return []
    scores = np.where(allowed, start_logits[:, None] + end_logits[None, :], -np.inf).ravel()
    best = np.argpartition(-scores, n - 1)[:n]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [(int(i // size), int(i % size), float(scores[i])) for i in best]


def decode(
    passages: list[str],
    batch: dict[str, np.ndarray],
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    max_answer_tokens: int,
) -> list[Span]:
    """One Span per passage: the best span by character offsets (so its text is verbatim) and the
    no-answer score ([CLS] is token 0)."""
    return [
        spans[0] if spans else Span(i, "", 0, 0, float("-inf"), no_answer_score(start_logits, end_logits, i))
        for i, spans in enumerate(decode_top(passages, batch, start_logits, end_logits, max_answer_tokens, 1))
    ]


def decode_top(
    passages: list[str],
    batch: dict[str, np.ndarray],
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    max_answer_tokens: int,
    n: int,
) -> list[list[Span]]:
    """The ``n`` best Spans of each passage, best first (an empty list for a passage truncated away)."""
    decoded = []
    for i, passage in enumerate(passages):
        no_answer = no_answer_score(start_logits, end_logits, i)
        offsets = batch["offsets"][i]
        p_start = token_probabilities(start_logits[i], batch["context"][i])
        p_end = token_probabilities(end_logits[i], batch["context"][i])
        decoded.append(
            [
                Span(
                    i,
                    passage[offsets[s, 0] : offsets[e, 1]],
                    int(offsets[s, 0]),
                    int(offsets[e, 1]),
                    score,
                    no_answer,
                    float(p_start[s] * p_end[e]),
                )
                for s, e, score in top_spans(
                    start_logits[i], end_logits[i], batch["context"][i], max_answer_tokens, n
                )
            ]
        )
    return decoded


def token_probabilities(logits: np.ndarray, context: np.ndarray) -> np.ndarray:
    """Softmax of a row's start (or end) logits over [CLS] and the passage's tokens; 0 elsewhere."""
    allowed = context.copy()
    allowed[0] = True
    shifted = np.where(allowed, logits - logits[allowed].max(), -np.inf)
    weights = np.exp(shifted)
    return weights / weights.sum()


def no_answer_score(start_logits: np.ndarray, end_logits: np.ndarray, row: int) -> float:
    """Start plus end logit of [CLS] (token 0): the model's score for "no answer here"."""
    return float(start_logits[row, 0] + end_logits[row, 0])


def distinct_answers(spans: list[Span], n: int) -> list[Span]:
    """The ``n`` best spans by margin, each answer once (where it scores best), none empty or
    running across a paragraph break."""
    best: dict[str, Span] = {}
    for span in sorted(spans, key=lambda s: -s.margin):
        answer = answer_text(span.text)
        if answer and PARAGRAPH_BREAK not in answer:
            best.setdefault(answer, span)
    return list(best.values())[:n]


def answer_text(span: str) -> str:
    """A span as the short answer shows it: without the spaces and punctuation it was cut at."""
    return span.strip(ANSWER_TRIM)


def choose(spans: list[Span], threshold: float) -> Span | None:
    """The passage whose span beats its own no-answer score by most, if that margin clears the
    calibrated threshold; None means "the passages do not answer this"."""
    candidates = [s for s in spans if s.text]
    if not candidates:
        return None
    top = max(candidates, key=lambda s: s.margin)
    return top if top.margin > threshold else None


class Reader:
    """``Reader().read(question, passages)`` scores every passage in one batch; ``best()`` decides.

    Build once and reuse: loading the session takes ~0.1 s, a read of four short passages a few ms.
    """

    def __init__(
        self,
        model_dir: Path | str = MODEL_DIR,
        threshold: float = NO_ANSWER_THRESHOLD,
        max_length: int = MAX_LENGTH,
        max_answer_tokens: int = MAX_ANSWER_TOKENS,
        threads: int = 1,
        model_file: str = MODEL_FILE,
    ):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendUnavailable(f"the reader needs {exc.name}", fix="run `make install`") from None
        model_dir = Path(model_dir)
        if not (model_dir / model_file).exists():
            raise BackendUnavailable(
                f"no reader model at {model_dir / model_file}",
                fix="reinstall, or rebuild it with `python -m fit.reader`",
            )
        self.threshold, self.max_answer_tokens = threshold, max_answer_tokens
        self.tokenizer = load_tokenizer(model_dir / TOKENIZER_FILE, max_length)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        options.add_session_config_entry(
            "session.intra_op.allow_spinning", "0"
        )  # don't hold a core between calls
        self.session = ort.InferenceSession(
            str(model_dir / model_file), options, providers=["CPUExecutionProvider"]
        )

    def read(self, question: str, passages: list[str]) -> list[Span]:
        """The best span of each passage with its scores, in the order given."""
        if not passages:
            return []
        batch, start_logits, end_logits = self.logits(question, passages)
        return decode(passages, batch, start_logits, end_logits, self.max_answer_tokens)

    def candidates(self, question: str, passages: list[str], n: int) -> list[Span]:
        """The ``n`` best distinct answers over all passages, by margin over "no answer" (each answer
        once, where it scores best; none that runs across a paragraph break): what a second opinion
        (rag.models.span_scorer) chooses among."""
        if not passages:
            return []
        batch, start_logits, end_logits = self.logits(question, passages)
        # more than n per passage: a few of the best may be the same answer or cross a paragraph
        spans = decode_top(passages, batch, start_logits, end_logits, self.max_answer_tokens, 2 * n)
        return distinct_answers([s for per in spans for s in per], n)

    def logits(
        self, question: str, passages: list[str]
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        batch = encode_pairs(self.tokenizer, question, passages)
        start_logits, end_logits = self.session.run(
            ["start_logits", "end_logits"], {k: batch[k] for k in INPUTS}
        )
        return batch, start_logits, end_logits

    def best(self, question: str, passages: list[str]) -> Span | None:
        return choose(self.read(question, passages), self.threshold)


def model_report(model_dir: Path | str = MODEL_DIR) -> dict:
    """The shipped model's report.json: how it was made and what it measured."""
    return json.loads((Path(model_dir) / REPORT_FILE).read_text(encoding="utf-8"))

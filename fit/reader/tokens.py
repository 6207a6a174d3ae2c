"""An epoch's pairs as token ids and answer-token labels, tokenised once and cached on disk.

Tokenising ~150,000 pairs takes a minute or two on these cores; a resumed or repeated run reads the
cache instead. Rows are stored flat (ids concatenated, with lengths), so the cache stays small and
loads fast; a row is rebuilt on demand for its batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fit.reader.examples import Example

ENCODE_BATCH = 2048


@dataclass
class TokenRows:
    ids: np.ndarray  # int32, every row's ids concatenated
    lengths: np.ndarray  # int32, tokens per row
    second: np.ndarray  # int32, where each row's passage (token type 1) begins
    starts: np.ndarray  # int32, answer start token; 0 ([CLS]) for no answer
    ends: np.ndarray  # int32, answer end token; 0 for no answer

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **self.__dict__)
        tmp.replace(path)  # a run killed mid-write leaves no half cache behind

    @classmethod
    def load(cls, path: Path) -> TokenRows:
        with np.load(path) as data:
            return cls(**{k: data[k] for k in ("ids", "lengths", "second", "starts", "ends")})


def answer_tokens(encoding, example: Example) -> tuple[int, int] | None:
    """(start, end) token of the answer, (0, 0) for no answer; None when truncation cut the answer
    off (such a row would teach a wrong label)."""
    if example.answer_start < 0:
        return 0, 0
    a_start, a_end = example.answer_start, example.answer_start + len(example.answer)
    context = [i for i, s in enumerate(encoding.sequence_ids) if s == 1]
    if not context or encoding.offsets[context[-1]][1] < a_end:
        return None
    starts = [i for i in context if encoding.offsets[i][1] > a_start]
    ends = [i for i in context if encoding.offsets[i][0] < a_end]
    return (starts[0], ends[-1]) if starts and ends else None


def tokenize(tokenizer, examples: list[Example]) -> TokenRows:
    """Every example that keeps its answer after truncation, in order."""
    ids, lengths, second, starts, ends = [], [], [], [], []
    for lo in range(0, len(examples), ENCODE_BATCH):
        part = examples[lo : lo + ENCODE_BATCH]
        for example, enc in zip(part, tokenizer.encode_batch([(e.question, e.passage) for e in part])):
            labels = answer_tokens(enc, example)
            if labels is None:
                continue
            ids.append(np.asarray(enc.ids, dtype=np.int32))
            lengths.append(len(enc.ids))
            second.append(enc.type_ids.index(1) if 1 in enc.type_ids else len(enc.ids))
            starts.append(labels[0])
            ends.append(labels[1])
    as_array = lambda values: np.asarray(values, dtype=np.int32)  # noqa: E731
    return TokenRows(
        np.concatenate(ids) if ids else np.zeros(0, np.int32),
        as_array(lengths),
        as_array(second),
        as_array(starts),
        as_array(ends),
    )


def cached_tokens(path: Path, tokenizer, make_examples) -> TokenRows:
    """The cached rows at ``path``, or ``make_examples()`` tokenised and saved there."""
    if path.exists():
        return TokenRows.load(path)
    rows = tokenize(tokenizer, make_examples())
    path.parent.mkdir(parents=True, exist_ok=True)
    rows.save(path)
    return rows


def reader_tokenizer(path: Path, max_length: int):
    """The reader's WordPiece tokenizer, truncating the passage first, without padding (batches pad)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length, strategy="longest_first")
    tokenizer.no_padding()
    return tokenizer

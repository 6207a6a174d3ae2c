"""Metric functions for the citation eval suite: pure, standard library only, unit-tested.

Answer correctness follows the eval-set contract (every inner list of gold aliases needs one alias in
the answer); citation recall and precision follow ALCE (Gao et al., 2023) with a pluggable
entailment check.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

Entails = Callable[[str, list[str]], bool]
REQUIRED_KEYS = {
    "id": str,
    "question": str,
    "gold_short_answers": list,
    "gold_sources": list,
    "answerable": bool,
}
MARKERS = re.compile(r"\s*\[(\d{1,3})\]")
ARTICLES = frozenset({"a", "an", "the"})
SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9“\"'¿¡])")


def normalize(text: str) -> str:
    """Lowercase, strip accents, drop punctuation, symbols and the articles a/an/the (as SQuAD's
    official normalisation does: 'the Ponte Sisto bridge' is in 'Ponte Sisto bridge'), join digit
    groups ('2,000' -> '2000').

    '%' is kept as the word 'percent' ('2%' must not match '2 million'), and citation markers are
    removed first ('[2]' is not the number 2)."""
    text = MARKERS.sub(" ", text)
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"(?<=\d)[,.](?=\d{3}\b)", "", text)
    text = text.replace("%", " percent ")
    text = re.sub(r"[^\w\s.]|_", " ", text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)  # keep decimal points, drop full stops
    return " ".join(w for w in text.split() if w not in ARTICLES)


def contains_alias(answer: str, alias: str) -> bool:
    """The alias occurs in the answer as whole words and whole numbers ('2' is not in '2.7')."""
    needle = normalize(alias)
    pattern = rf"(?<![\w.]){re.escape(needle)}(?![\w]|\.\d)"
    return bool(needle) and re.search(pattern, normalize(answer)) is not None


def answer_correct(answer: str, gold_short_answers: list[list[str]]) -> bool:
    """Right when every inner list has at least one alias in the answer."""
    return bool(gold_short_answers) and all(
        any(contains_alias(answer, a) for a in aliases) for aliases in gold_short_answers
    )


def split_sentences_with_markers(answer: str) -> list[tuple[str, list[int]]]:
    """'A did X [1][2]. B did Y [3].' -> [('A did X.', [1, 2]), ('B did Y.', [3])]."""
    out = []
    for sentence in SENTENCE_SPLIT.split(answer.strip()):
        numbers = [int(n) for n in MARKERS.findall(sentence)]
        text = " ".join(MARKERS.sub("", sentence).split())
        text = re.sub(r"\s+([.!?])$", r"\1", text)
        if text:
            out.append((text, list(dict.fromkeys(numbers))))
    return out


@dataclass(frozen=True)
class CitationScores:
    recall: float
    precision: float
    n_sentences: int
    n_citations: int


def citation_scores(sentences: list[tuple[str, list[str]]], entails: Entails) -> CitationScores:
    """ALCE citation recall and precision.

    ``sentences`` pairs each answer sentence with the texts of the passages it cites.
    Recall: share of sentences whose cited passages together entail them (uncited = unsupported).
    Precision: share of citations that are relevant; a citation is irrelevant when it alone does not
    entail its sentence and the sentence's other citations still entail it without it.
    """
    supported = 0
    relevant = 0
    n_citations = 0
    for claim, passages in sentences:
        n_citations += len(passages)
        if not passages or not entails(claim, passages):
            continue
        supported += 1
        for i, passage in enumerate(passages):
            rest = passages[:i] + passages[i + 1 :]
            if entails(claim, [passage]) or not (rest and entails(claim, rest)):
                relevant += 1
    return CitationScores(
        recall=supported / len(sentences) if sentences else 0.0,
        precision=relevant / n_citations if n_citations else 0.0,
        n_sentences=len(sentences),
        n_citations=n_citations,
    )


def collapse_whitespace(text: str) -> str:
    return " ".join(text.split())


def quote_valid(quote: str, source_text: str) -> bool:
    """The quote appears in its source once whitespace is collapsed."""
    return bool(quote.strip()) and collapse_whitespace(quote) in collapse_whitespace(source_text)


def hit_at_k(retrieved_sources: list[str], gold_sources: list[str], k: int) -> float:
    return 1.0 if set(retrieved_sources[:k]) & set(gold_sources) else 0.0


def reciprocal_rank(retrieved_sources: list[str], gold_sources: list[str]) -> float:
    for rank, source in enumerate(retrieved_sources, 1):
        if source in gold_sources:
            return 1.0 / rank
    return 0.0


def percentile(values: Iterable[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); 0.0 for no values."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * p / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def auc(positives: list[float], negatives: list[float]) -> float | None:
    """Area under the ROC curve: P(a positive's score > a negative's), ties counting half (the
    Mann-Whitney statistic over ranks, O(n log n)); None without both kinds."""
    if not positives or not negatives:
        return None
    ranked = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        midrank = (i + j + 1) / 2  # 1-based ranks i+1..j share their mean
        rank_sum += midrank * sum(label for _, label in ranked[i:j])
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def classifier_metrics(predictions: list[bool], labels: list[bool]) -> dict[str, float]:
    tp = sum(p and y for p, y in zip(predictions, labels))
    fp = sum(p and not y for p, y in zip(predictions, labels))
    fn = sum(y and not p for p, y in zip(predictions, labels))
    correct = sum(p == y for p, y in zip(predictions, labels))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": correct / len(labels) if labels else 0.0,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def load_jsonl_rows(path: Path, required: dict[str, type], problem=lambda row: None) -> list[dict]:
    """The JSON-object rows of a JSONL file, each with ``required`` keys of their types and a unique
    id, and no ``problem`` (a function returning what is wrong with a row, or None); ValueError
    naming the file, line and problem on a bad one, or on a file with no rows."""
    rows: list[dict] = []
    ids: set[str] = set()
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{where}: a row must be a JSON object")
        for key, kind in required.items():
            if not isinstance(row.get(key), kind):
                raise ValueError(f"{where}: '{key}' missing or not a {kind.__name__}")
        if row["id"] in ids:
            raise ValueError(f"{where}: duplicate id '{row['id']}'")
        if wrong := problem(row):
            raise ValueError(f"{where}: {wrong}")
        ids.add(row["id"])
        rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def load_eval_set(path: Path) -> list[dict]:
    """Rows of an eval set; a bad row raises ValueError naming the file, line and problem."""

    def problem(row: dict) -> str | None:
        if row["answerable"] and not all(isinstance(a, list) and a for a in row["gold_short_answers"]):
            return "an answerable row needs gold_short_answers as non-empty lists of aliases"
        return None

    return load_jsonl_rows(path, REQUIRED_KEYS, problem)


# --- counts and intervals ---------------------------------------------------------------------------
WILSON_Z = 1.96  # 95% interval


def wilson_interval(k: int, n: int, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials: honest on small sets, unlike k/n +- 2 SE."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


# --- the independent citation judge -----------------------------------------------------------------
def contains_gold(text: str, gold_short_answers: list[list[str]]) -> bool:
    """Every inner alias list has an alias in the text (same rule as answer correctness)."""
    return answer_correct(text, gold_short_answers)


@dataclass(frozen=True)
class GoldCitationScores:
    """Citations judged against the set's gold passages and answers, never by our own verifier.

    A citation is correct when its source is a gold passage; the citations attached to the short
    answer must also contain a gold answer. The question is supported when the quotes it cites from
    gold passages, together, contain the gold answer."""

    n_citations: int
    n_correct: int
    supported: bool


def gold_citation_scores(
    citations: list[dict],
    gold_sources: list[str],
    gold_short_answers: list[list[str]],
    answer_cites: list[int],
) -> GoldCitationScores:
    gold = set(gold_sources)
    correct = 0
    for c in citations:
        ok = c["source"] in gold
        if ok and c["n"] in answer_cites:
            ok = contains_gold(c["quote"], gold_short_answers)
        correct += ok
    gold_quotes = " ".join(c["quote"] for c in citations if c["source"] in gold)
    return GoldCitationScores(
        len(citations), correct, bool(gold_quotes) and contains_gold(gold_quotes, gold_short_answers)
    )

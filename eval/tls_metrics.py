"""Timeline scores as the timeline-summarization literature computes them.

- Date F1: the set of predicted days against the set of gold days.
- Concatenation ROUGE-1/2 F: all predicted sentences against all gold sentences, dates ignored.
- Alignment-based ROUGE-1/2 F ("align+ m:1", Martschat & Markert 2017, "Improving ROUGE for
  Timeline Summarization"; what tilse's ``evaluate_align_date_content_costs_many_to_one`` computes and
  what Gholipour Ghalandari & Ifrim 2020 report): for precision every predicted day is aligned to the
  gold day of least cost, for recall every gold day to the predicted day of least cost, the cost being
  (1 - 1/(days apart + 1)) x (1 - an approximate ROUGE-1 F of the two days' texts); the n-grams two
  aligned days share count 1/(days apart + 1) times.

ROUGE comes from the maintained ``rouge-score`` package (its tokeniser and Porter stemmer, so tokens
are lowercased letters and digits). As in the literature's ROUGE-1.5.5 runs (``-m -s``), stop words
are left out before stemming; the stop list is scikit-learn's English list, not ROUGE-1.5.5's
SMART list, so numbers are close to, not identical with, published ones.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

Timeline = dict[str, list[str]]  # YYYY-MM-DD -> that day's sentences


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float

    @property
    def f(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


class StopwordTokenizer:
    """rouge-score's tokeniser without stop words, then its stemmer (the ``tokenize`` interface
    RougeScorer takes)."""

    def __init__(self):
        from rouge_score.tokenizers import DefaultTokenizer
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        self.plain, self.stemmed = DefaultTokenizer(use_stemmer=False), DefaultTokenizer(use_stemmer=True)
        self.stop = ENGLISH_STOP_WORDS

    def tokenize(self, text: str) -> list[str]:
        kept = [w for w in self.plain.tokenize(text) if w not in self.stop]
        return self.stemmed.tokenize(" ".join(kept))


@lru_cache(maxsize=1)
def tokenizer() -> StopwordTokenizer:
    return StopwordTokenizer()


def tokens(sentences: list[str]) -> list[str]:
    return tokenizer().tokenize(" ".join(sentences))


def ngrams(words: list[str], n: int) -> Counter:
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def overlap(a: Counter, b: Counter) -> int:
    return sum((a & b).values())


# --- the three scores -------------------------------------------------------------------------------
def date_f1(predicted: Timeline, gold: Timeline) -> PRF:
    shared = len(set(predicted) & set(gold))
    return PRF(shared / len(predicted) if predicted else 0.0, shared / len(gold) if gold else 0.0)


def concat_rouge(predicted: Timeline, gold: Timeline, n: int) -> PRF:
    """ROUGE-n of all predicted sentences against all gold sentences (each in date order), through
    rouge-score's RougeScorer."""
    from rouge_score.rouge_scorer import RougeScorer

    text = " ".join(s for day in sorted(predicted) for s in predicted[day])
    reference = " ".join(s for day in sorted(gold) for s in gold[day])
    score = RougeScorer([f"rouge{n}"], tokenizer=tokenizer()).score(reference, text)[f"rouge{n}"]
    return PRF(score.precision, score.recall)


def align_rouge(predicted: Timeline, gold: Timeline, n: int) -> PRF:
    """Alignment-based ROUGE-n, align+ m:1 (see the module docstring)."""
    pred_days, gold_days = sorted(predicted), sorted(gold)
    if not pred_days or not gold_days:
        return PRF(0.0, 0.0)
    pred_words = [tokens(predicted[d]) for d in pred_days]
    gold_words = [tokens(gold[d]) for d in gold_days]
    cost = [
        [alignment_cost(p, g, pw, gw) for g, gw in zip(gold_days, gold_words)]
        for p, pw in zip(pred_days, pred_words)
    ]
    pred_grams = [ngrams(w, n) for w in pred_words]
    gold_grams = [ngrams(w, n) for w in gold_words]
    hits = 0.0
    for i, row in enumerate(cost):  # precision: each predicted day to its cheapest gold day
        j = row.index(min(row))
        hits += closeness(pred_days[i], gold_days[j]) * overlap(pred_grams[i], gold_grams[j])
    precision = hits / max(sum(sum(g.values()) for g in pred_grams), 1)
    hits = 0.0
    for j in range(len(gold_days)):  # recall: each gold day to its cheapest predicted day
        column = [row[j] for row in cost]
        i = column.index(min(column))
        hits += closeness(pred_days[i], gold_days[j]) * overlap(pred_grams[i], gold_grams[j])
    recall = hits / max(sum(sum(g.values()) for g in gold_grams), 1)
    return PRF(precision, recall)


def closeness(a: str, b: str) -> float:
    """1 / (days apart + 1): the weight of what two aligned days share."""
    return 1.0 / (abs((date.fromisoformat(a) - date.fromisoformat(b)).days) + 1)


def alignment_cost(pred_day: str, gold_day: str, pred_words: list[str], gold_words: list[str]) -> float:
    """(1 - closeness) x (1 - unigram-overlap F): the same day costs nothing; another day costs less
    the more its text shares with the gold day's (tilse's ROUGE-1 approximation, on our tokens)."""
    return (1.0 - closeness(pred_day, gold_day)) * (1.0 - unigram_f(pred_words, gold_words))


def unigram_f(a: list[str], b: list[str]) -> float:
    shared = overlap(Counter(a), Counter(b))
    if not shared:
        return 0.0
    p, r = shared / len(a), shared / len(b)
    return 2 * p * r / (p + r)


def timeline_scores(predicted: Timeline, gold: Timeline) -> dict[str, float]:
    """The five numbers reported per topic, with the precision and recall behind each."""
    parts = {
        "date": date_f1(predicted, gold),
        "rouge1_concat": concat_rouge(predicted, gold, 1),
        "rouge2_concat": concat_rouge(predicted, gold, 2),
        "rouge1_align": align_rouge(predicted, gold, 1),
        "rouge2_align": align_rouge(predicted, gold, 2),
    }
    out: dict[str, float] = {}
    for name, prf in parts.items():
        out[f"{name}_p"], out[f"{name}_r"] = prf.precision, prf.recall
        out["date_f1" if name == "date" else f"{name}_f"] = prf.f
    return out


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    """Means over topics the way news-tls averages: precision and recall averaged, F from those."""
    if not rows:
        return {}
    out = {key: sum(r[key] for r in rows) / len(rows) for key in rows[0] if key.endswith(("_p", "_r"))}
    for stem in ("date", "rouge1_concat", "rouge2_concat", "rouge1_align", "rouge2_align"):
        out["date_f1" if stem == "date" else f"{stem}_f"] = PRF(out[f"{stem}_p"], out[f"{stem}_r"]).f
    return out

"""BM25 keyword index over the same chunk ids as the vector store (Okapi BM25, in memory)."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict

import numpy as np

STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have he her his how i if in into
    is it its itself me more most my no not of on or our out over she so such than that the their them then there
    these they this those through to too under until up us very was we were what when where which while who whom
    why will with would you your about after again against all also any because before being between both during
    each few further here just only other own same should some once off than s t said says say""".split()
)
TOKEN = re.compile(r"[\w$%]+")


def fold(text: str) -> str:
    """Lowercase and strip accents, so 'López' matches 'Lopez'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def stem(token: str) -> str:
    """A deliberately light suffix stripper (plural, -ing, -ed, final e) so 'expanding' meets 'expand'
    and 'advanced' meets 'advance'; short words and names stay intact."""
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        token = token[:-1]
    for suffix in ("ing", "ed"):
        if len(token) > len(suffix) + 3 and token.endswith(suffix):
            token = token[: -len(suffix)]
            break
    if len(token) > 4 and token.endswith("e"):
        token = token[:-1]
    return token


def tokenize(text: str) -> list[str]:
    return [stem(t) for t in TOKEN.findall(fold(text).replace(",", "")) if t not in STOPWORDS]


class BM25Index:
    def __init__(self, ids: list[str], texts: list[str], k1: float = 1.5, b: float = 0.75):
        self.ids = ids
        self.k1, self.b = k1, b
        self.position = {cid: i for i, cid in enumerate(ids)}
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        lengths = np.zeros(len(ids), dtype=np.float32)
        for doc, text in enumerate(texts):
            counts = Counter(tokenize(text))
            lengths[doc] = sum(counts.values())
            for term, tf in counts.items():
                postings[term].append((doc, tf))
        self.lengths = lengths
        self.avg_length = float(lengths.mean()) if len(ids) else 0.0
        self.postings = {
            t: (np.array([d for d, _ in p], dtype=np.int32), np.array([f for _, f in p], dtype=np.float32))
            for t, p in postings.items()
        }

    def __len__(self) -> int:
        return len(self.ids)

    def idf(self, term: str) -> float:
        n_docs = len(self.postings.get(term, ((),))[0])
        return math.log(1 + (len(self.ids) - n_docs + 0.5) / (n_docs + 0.5))

    def scores(self, query: str) -> np.ndarray:
        scores = np.zeros(len(self.ids), dtype=np.float32)
        if not self.ids:
            return scores
        for term in set(tokenize(query)):
            if term not in self.postings:
                continue
            docs, tf = self.postings[term]
            norm = self.k1 * (1 - self.b + self.b * self.lengths[docs] / max(self.avg_length, 1e-9))
            scores[docs] += self.idf(term) * tf * (self.k1 + 1) / (tf + norm)
        return scores

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top ``k`` chunk ids with positive score; ``allowed`` is a boolean mask (filters)."""
        scores = self.scores(query)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        k = min(k, int((scores > 0).sum()))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[i], float(scores[i])) for i in top]

"""Hybrid retrieval: dense (Chroma) + keyword (BM25) over the same chunks, fused by reciprocal rank,
then MMR for diversity; filters by date range and source apply to both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from rag.errors import BriefError
from vectorstore.store import StoredChunk, date_as_int


@dataclass(frozen=True)
class Scope:
    """Which articles a question or briefing may draw on."""

    since: str | None = None
    until: str | None = None
    sources: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls, since: str | None = None, until: str | None = None, sources: list[str] | None = None
    ) -> Scope:
        scope = cls(
            since=check_date(since, "--since"),
            until=check_date(until, "--until"),
            sources=tuple(sources or ()),
        )
        if scope.since and scope.until and scope.since > scope.until:
            raise BriefError(f"--since {scope.since} is after --until {scope.until}", fix="swap the dates")
        return scope

    @property
    def is_all(self) -> bool:
        return not (self.since or self.until or self.sources)

    def chroma_where(self) -> dict | None:
        clauses: list[dict] = []
        if self.since:
            clauses.append({"date_int": {"$gte": date_as_int(self.since)}})
        if self.until:
            clauses.append({"date_int": {"$lte": date_as_int(self.until)}})
        if self.until and not self.since:
            clauses.append({"date_int": {"$gt": 0}})  # undated articles cannot be "before" a date
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def allows(self, source: str, iso_date: str | None) -> bool:
        if self.sources and source not in self.sources:
            return False
        if (self.since or self.until) and not iso_date:
            return False
        if self.since and iso_date < self.since:
            return False
        return not (self.until and iso_date > self.until)


def check_date(value: str | None, flag: str) -> str | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise BriefError(f"{flag} '{value}' is not a date", fix="use YYYY-MM-DD") from None


@dataclass
class Retrieved:
    chunk: StoredChunk
    score: float  # fused score after MMR selection
    dense: float  # cosine similarity to the question (0 when only keyword search found it)


class Retriever:
    def __init__(self, desk):
        self.desk = desk
        self.settings = desk.settings

    def retrieve(self, query: str, scope: Scope = Scope(), k: int | None = None) -> list[Retrieved]:
        s = self.settings
        k = k or s.retrieval_k
        qvec = self.desk.embedder.embed([query])[0]
        dense = self.desk.store.query(qvec, s.fetch_k, where=scope.chroma_where())
        keyword = self.keyword_hits(query, scope)
        fused = reciprocal_rank_fusion([dense, keyword], [s.dense_weight, s.keyword_weight], s.rrf_k)
        if not fused:
            return []
        ids = [cid for cid, _ in fused]
        chunks, vectors = self.desk.chunk_index().lookup(ids)
        fused_score = dict(fused)
        relevance = np.array([fused_score[c.chunk_id] for c in chunks], dtype=np.float32)
        picked = mmr(relevance, vectors, k, s.mmr_lambda)
        cosine = vectors @ qvec
        return [Retrieved(chunk=chunks[i], score=float(relevance[i]), dense=float(cosine[i])) for i in picked]

    def keyword_hits(self, query: str, scope: Scope) -> list[tuple[str, float]]:
        index = self.desk.keyword_index()
        allowed = None if scope.is_all else self.desk.keyword_mask(scope)
        return index.search(query, self.settings.fetch_k, allowed)


def reciprocal_rank_fusion(
    rankings: list[list[tuple[str, float]]], weights: list[float], rrf_k: int
) -> list[tuple[str, float]]:
    """Score = sum of weight / (rrf_k + rank) over the rankings that contain the id."""
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, (cid, _) in enumerate(ranking, 1):
            scores[cid] = scores.get(cid, 0.0) + weight / (rrf_k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


def mmr(relevance: np.ndarray, vectors: np.ndarray, k: int, lam: float) -> list[int]:
    """Maximal marginal relevance: greedily pick what is relevant and unlike what was picked."""
    if len(relevance) == 0:
        return []
    rel = relevance / max(float(relevance.max()), 1e-9)
    similarity = vectors @ vectors.T
    picked = [int(np.argmax(rel))]
    while len(picked) < min(k, len(rel)):
        redundancy = similarity[:, picked].max(axis=1)
        score = lam * rel - (1 - lam) * redundancy
        score[picked] = -np.inf
        picked.append(int(np.argmax(score)))
    return picked

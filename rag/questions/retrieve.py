"""Hybrid retrieval: dense (Chroma's HNSW) + keyword (BM25, the persistent index beside it) over the
same chunks, fused by reciprocal rank, then MMR for diversity among the candidates only; filters by date
range and source are pushed into both searches. Nothing here reads the whole store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from rag.errors import BriefError
from vectorstore.store import ChunkFilter, ChunkRows, StoredChunk, date_as_int


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

    def chunk_filter(self) -> ChunkFilter:
        """The scope as the store's searches take it (both dense and keyword)."""
        return ChunkFilter(self.sources, date_as_int(self.since), date_as_int(self.until))

    def chroma_where(self) -> dict | None:
        return self.chunk_filter().chroma_where()

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
        dense, similarity = self.desk.store.nearest(qvec, s.fetch_k, scope.chunk_filter())
        keyword = self.keyword_hits(query, scope)
        dense_ranking = [(c.chunk_id, sim) for c, sim in zip(dense.chunks, similarity)]
        fused = reciprocal_rank_fusion([dense_ranking, keyword], [s.dense_weight, s.keyword_weight], s.rrf_k)
        if not fused:
            return []
        rows = self.candidates(dense, [cid for cid, _ in fused])
        fused_score = dict(fused)
        relevance = np.array([fused_score[c.chunk_id] for c in rows.chunks], dtype=np.float32)
        picked = mmr(relevance, rows.vectors, k, s.mmr_lambda)
        cosine = rows.vectors @ qvec
        return [
            Retrieved(chunk=rows.chunks[i], score=float(relevance[i]), dense=float(cosine[i])) for i in picked
        ]

    def candidates(self, dense: ChunkRows, ids: list[str]) -> ChunkRows:
        """The fused candidates with their texts and vectors, in fused order: the dense search brought
        its own; only those the keyword index alone found are read from the store (one call)."""
        have = {c.chunk_id for c in dense.chunks}
        return (dense + self.desk.store.get_chunks([i for i in ids if i not in have])).pick(ids)

    def keyword_hits(self, query: str, scope: Scope) -> list[tuple[str, float]]:
        return self.desk.store.keyword_search(query, self.settings.fetch_k, scope.chunk_filter())


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

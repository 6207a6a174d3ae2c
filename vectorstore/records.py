"""What the store holds and how searches are narrowed: source records, chunks (with their vectors),
the filters pushed into both searches, and the shape that names a collection."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from vectorstore.client import SCHEMA_VERSION
from vectorstore.keyword import NO_DATE_LIMIT

STATUS_PENDING = "pending"
STATUS_COMPLETE = "complete"
SHAPE_HASH_CHARS = 12  # hex digits of the shape's hash that end a collection name (names stay stable)
# ingested_at is stored to the millisecond: Chroma hands a full-precision float back a bit off about one
# time in eight, and the catalog beside the keyword index (vectorstore/catalog.py) must equal its records.
INGESTED_AT_DECIMALS = 3


@dataclass
class SourceRecord:
    source: str  # file name, the id users see and cite
    path: str
    title: str
    date: str | None
    outlet: str | None
    content_hash: str
    n_chunks: int
    status: str
    ingested_at: float
    text: str = ""  # cleaned text: quotes and offsets point into it
    url: str = ""  # the link a fetched page came from ('' for a file)

    def to_metadata(self) -> dict[str, Any]:
        meta = {k: v for k, v in asdict(self).items() if k not in ("source", "text")}
        meta["ingested_at"] = round(self.ingested_at, INGESTED_AT_DECIMALS)
        return {k: ("" if v is None else v) for k, v in meta.items()}

    @classmethod
    def from_chroma(cls, source: str, meta: dict[str, Any], text: str | None) -> SourceRecord:
        return cls(
            source=source,
            path=meta.get("path", ""),
            title=meta.get("title", source),
            date=meta.get("date") or None,
            outlet=meta.get("outlet") or None,
            content_hash=meta.get("content_hash", ""),
            n_chunks=int(meta.get("n_chunks", 0)),
            status=meta.get("status", STATUS_PENDING),
            ingested_at=float(meta.get("ingested_at", 0.0)),
            text=text or "",
            url=meta.get("url", ""),
        )

    @property
    def stamp(self) -> str:
        """What the keyword index must hold of this source: its content, its date, its chunk count."""
        return f"{self.content_hash}|{self.date or ''}|{self.n_chunks}"


def read_stamp(stamp: str) -> tuple[str | None, int]:
    """(date, chunk count) of a SourceRecord.stamp, as the keyword index's ledger keeps it: enough to
    count a desk's articles and dates without opening the store."""
    _, date, n_chunks = (stamp.split("|") + ["", "0"])[:3]
    return date or None, int(n_chunks) if n_chunks.isdigit() else 0


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: str
    source: str
    start: int
    end: int
    text: str
    date: str | None


@dataclass
class ChunkRows:
    """Chunks with their vectors, row for row."""

    chunks: list[StoredChunk]
    vectors: np.ndarray

    @classmethod
    def from_chroma(cls, ids, metadatas, documents, embeddings, dim: int) -> ChunkRows:
        chunks = [to_stored(i, m, d) for i, m, d in zip(ids, metadatas, documents)]
        vectors = np.asarray(embeddings, dtype=np.float32) if len(chunks) else np.zeros((0, dim), np.float32)
        return cls(chunks, vectors.reshape(len(chunks), dim))

    def pick(self, ids: list[str]) -> ChunkRows:
        """The rows of ``ids`` in that order; ids not here are left out."""
        row = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        rows = [row[i] for i in ids if i in row]
        return ChunkRows([self.chunks[r] for r in rows], self.vectors[rows])

    def __add__(self, other: ChunkRows) -> ChunkRows:
        return ChunkRows(self.chunks + other.chunks, np.concatenate([self.vectors, other.vectors]))


@dataclass(frozen=True)
class ChunkFilter:
    """Which chunks a search may return: of these sources (any when empty), dated within since..until
    (yyyymmdd ints, 0 = open). Either date bound leaves out undated chunks."""

    sources: tuple[str, ...] = ()
    since: int = 0
    until: int = 0

    def chroma_where(self) -> dict | None:
        clauses: list[dict] = []
        if self.since:
            clauses.append({"date_int": {"$gte": self.since}})
        if self.until:
            clauses.append({"date_int": {"$lte": self.until}})
        if self.until and not self.since:
            clauses.append({"date_int": {"$gt": 0}})  # undated articles cannot be "before" a date
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def date_range(self) -> tuple[int, int] | None:
        """Inclusive yyyymmdd bounds for the keyword index (undated chunks are 0: never inside)."""
        if not (self.since or self.until):
            return None
        return max(self.since, 1), self.until or NO_DATE_LIMIT


@dataclass(frozen=True)
class StoreShape:
    """Everything that changes the vectors; hashed into the collection name."""

    embedder: str
    dim: int
    chunk_size: int
    chunk_overlap: int

    def collection_name(self, prefix: str) -> str:
        key = json.dumps({**asdict(self), "schema": SCHEMA_VERSION}, sort_keys=True)
        return f"{prefix}_{hashlib.sha1(key.encode()).hexdigest()[:SHAPE_HASH_CHARS]}"


def date_as_int(iso: str | None) -> int:
    """yyyymmdd as an int so Chroma can filter date ranges with $gte/$lte; 0 means unknown."""
    return int(iso.replace("-", "")) if iso else 0


def records_of(got: dict[str, Any]) -> list[SourceRecord]:
    docs = got.get("documents") or [None] * len(got["ids"])
    return [SourceRecord.from_chroma(i, m or {}, d) for i, m, d in zip(got["ids"], got["metadatas"], docs)]


def to_stored(chunk_id: str, meta: dict[str, Any], text: str) -> StoredChunk:
    return StoredChunk(
        chunk_id=chunk_id,
        source=meta["source"],
        start=int(meta["start"]),
        end=int(meta["end"]),
        text=text,
        date=meta.get("date") or None,
    )

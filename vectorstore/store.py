"""Chroma-backed chunk store: one collection of chunk vectors plus one of source records.

The collection name is a hash of what shapes the vectors (embedding model, chunking settings,
schema version), so changing any of them builds a fresh collection instead of mixing vectors.

Writes are ordered so an ingest killed at any point leaves a usable store that the next run
completes: a source record is first written as ``pending`` with the new content hash, then its
chunks are upserted (stable ids, so re-running never duplicates), stale chunks are deleted, and only
then is the record marked ``complete``. A pending record is always redone.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vectorstore.chunk import Chunk
from vectorstore.errors import BackendUnavailable, StoreError

SCHEMA_VERSION = 1
STATUS_PENDING = "pending"
STATUS_COMPLETE = "complete"
PAGE_SIZE = 2000  # rows per Chroma get/upsert call (well under its max batch size)
SOURCE_VECTOR = [1.0]  # source records need a vector; a constant 1-d one, never searched
REVISION_ID = "revision"  # the one record of the revision collection


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

    def to_metadata(self) -> dict[str, Any]:
        meta = {k: v for k, v in asdict(self).items() if k not in ("source", "text")}
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
        )


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: str
    source: str
    start: int
    end: int
    text: str
    date: str | None


@dataclass(frozen=True)
class StoreShape:
    """Everything that changes the vectors; hashed into the collection name."""

    embedder: str
    dim: int
    chunk_size: int
    chunk_overlap: int

    def collection_name(self, prefix: str) -> str:
        key = json.dumps({**asdict(self), "schema": SCHEMA_VERSION}, sort_keys=True)
        return f"{prefix}_{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def date_as_int(iso: str | None) -> int:
    """yyyymmdd as an int so Chroma can filter date ranges with $gte/$lte; 0 means unknown."""
    return int(iso.replace("-", "")) if iso else 0


def open_client(data_dir: Path, host: str | None, port: int, timeout_s: float):
    """PersistentClient under ``data_dir`` by default, HttpClient when a server host is set."""
    try:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
    except ImportError:
        raise BackendUnavailable("chromadb is not installed", fix="run `make install`") from None
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if host:
        return open_http_client(chromadb, chroma_settings, host, port, timeout_s)
    store_dir = Path(data_dir) / "chroma"
    check_store_marker(Path(data_dir))
    try:
        store_dir.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(store_dir), settings=chroma_settings)
        client.heartbeat()
        client.list_collections()
    except Exception as exc:  # chromadb raises many types for a damaged sqlite or segment dir
        raise StoreError(
            f"the Chroma store at {store_dir} cannot be opened ({type(exc).__name__}: {str(exc)[:120]})",
            fix=f"move {store_dir} aside and run `brief ingest` to rebuild it",
        ) from None
    write_store_marker(Path(data_dir))
    return client


def open_http_client(chromadb, chroma_settings, host: str, port: int, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            client = chromadb.HttpClient(host=host, port=port, settings=chroma_settings)
            client.heartbeat()
            return client
        except Exception as exc:
            if time.monotonic() >= deadline:
                raise BackendUnavailable(
                    f"no Chroma server answers at {host}:{port} ({type(exc).__name__})",
                    fix="start it with `chroma run --path DIR --host HOST --port PORT` or unset BRIEF_CHROMA_HOST",
                ) from None
            time.sleep(0.25)


MARKER = "store.json"


def check_store_marker(data_dir: Path) -> None:
    marker = data_dir / MARKER
    if not marker.exists():
        return
    try:
        found = json.loads(marker.read_text(encoding="utf-8")).get("schema")
    except (OSError, ValueError):
        raise StoreError(
            f"{marker} is damaged", fix=f"delete {data_dir} and run `brief ingest` to rebuild"
        ) from None
    if found != SCHEMA_VERSION:
        raise StoreError(
            f"the store in {data_dir} was written by schema version {found}, this version reads {SCHEMA_VERSION}",
            fix=f"move {data_dir} aside and run `brief ingest` to rebuild",
        )


def write_store_marker(data_dir: Path) -> None:
    marker = data_dir / MARKER
    if not marker.exists():
        marker.write_text(json.dumps({"schema": SCHEMA_VERSION}), encoding="utf-8")


class ChunkStore:
    def __init__(self, client, shape: StoreShape, prefix: str):
        self.client = client
        self.shape = shape
        self.name = shape.collection_name(prefix)
        meta = {"hnsw:space": "cosine", "schema": SCHEMA_VERSION, **{k: v for k, v in asdict(shape).items()}}
        try:
            self.chunks = client.get_or_create_collection(self.name, metadata=meta, embedding_function=None)
            self.sources = client.get_or_create_collection(f"{self.name}_src", embedding_function=None)
            self.revisions = client.get_or_create_collection(f"{self.name}_rev", embedding_function=None)
        except Exception as exc:
            raise StoreError(
                f"cannot open collection {self.name} ({type(exc).__name__}: {str(exc)[:120]})",
                fix="rebuild with `brief ingest` into a fresh BRIEF_DATA_DIR",
            ) from None

    # --- source records ------------------------------------------------------------------------
    def list_sources(self, with_text: bool = False) -> list[SourceRecord]:
        include = ["metadatas", "documents"] if with_text else ["metadatas"]
        got = self.sources.get(include=include)
        docs = got.get("documents") or [None] * len(got["ids"])
        records = [
            SourceRecord.from_chroma(i, m or {}, d) for i, m, d in zip(got["ids"], got["metadatas"], docs)
        ]
        return sorted(records, key=lambda r: r.source)

    def get_source(self, source: str) -> SourceRecord | None:
        got = self.sources.get(ids=[source], include=["metadatas", "documents"])
        if not got["ids"]:
            return None
        return SourceRecord.from_chroma(source, got["metadatas"][0] or {}, got["documents"][0])

    def set_source_date(self, source: str, iso: str) -> SourceRecord | None:
        """Relabel a source and every chunk of it with a publication date: metadata only, so text,
        vectors and every other field stay as they are (no re-embedding). None when the source is unknown.

        Chunks are relabelled before the record, so an interrupted call is redone by calling it again."""
        record = self.get_source(source)
        if record is None:
            return None
        got = self.chunks.get(where={"source": source}, include=["metadatas"])
        relabelled = [
            {**(meta or {}), "date": iso, "date_int": date_as_int(iso)} for meta in got["metadatas"]
        ]
        for lo, page in pages_of(got["ids"]):
            self.chunks.update(ids=page, metadatas=relabelled[lo : lo + len(page)])
        record.date = iso
        self.put_statuses([record])  # metadata only, and bumps the revision so cached indexes see the date
        return record

    # --- chunks --------------------------------------------------------------------------------
    def chunk_ids_of(self, source: str) -> set[str]:
        return set(self.chunks.get(where={"source": source}, include=[])["ids"])

    def replace_sources(
        self, batch: list[tuple[SourceRecord, list[Chunk], bool]], vectors: np.ndarray
    ) -> dict[str, set[str]]:
        """Store several sources' chunks, replacing what they had; safe to interrupt at any point.

        ``batch`` holds (record, chunks, maybe_has_old_chunks); returns the ids each source had
        before. A handful of Chroma calls per batch, not per file: per-file round trips made a
        folder of 1,000 small files take minutes.
        """
        records = [record for record, _, _ in batch]
        for record, chunks, _ in batch:
            record.status, record.n_chunks = STATUS_PENDING, len(chunks)
        self.put_sources(records)
        before = {r.source: (self.chunk_ids_of(r.source) if had_old else set()) for r, _, had_old in batch}
        chunks = [c for _, cs, _ in batch for c in cs]
        dates = {r.source: (r.date or "", date_as_int(r.date)) for r in records}
        for lo, page in pages_of(chunks):
            self.chunks.upsert(
                ids=[c.chunk_id for c in page],
                documents=[c.text for c in page],
                embeddings=vectors[lo : lo + len(page)].tolist(),
                metadatas=[
                    {
                        "source": c.source,
                        "index": c.index,
                        "start": c.start,
                        "end": c.end,
                        "date": dates[c.source][0],
                        "date_int": dates[c.source][1],
                    }
                    for c in page
                ],
            )
        for record, chunks, _ in batch:
            self.delete_chunk_ids(list(before[record.source] - {c.chunk_id for c in chunks}))
            record.status = STATUS_COMPLETE
        self.put_statuses(records)
        return before

    def put_sources(self, records: list[SourceRecord]) -> None:
        for _, page in pages_of(records):
            self.sources.upsert(
                ids=[r.source for r in page],
                documents=[r.text for r in page],
                metadatas=[r.to_metadata() for r in page],
                embeddings=[SOURCE_VECTOR] * len(page),
            )
        self.bump_revision()

    def put_statuses(self, records: list[SourceRecord]) -> None:
        """Metadata only: rewriting each source's text again cost a third of the store's write time."""
        for _, page in pages_of(records):
            self.sources.update(ids=[r.source for r in page], metadatas=[r.to_metadata() for r in page])
        self.bump_revision()

    def delete_source(self, source: str) -> int:
        ids = list(self.chunk_ids_of(source))
        self.delete_chunk_ids(ids)
        self.sources.delete(ids=[source])
        self.bump_revision()
        return len(ids)

    def delete_chunk_ids(self, ids: list[str]) -> None:
        for _, page in pages_of(ids):
            self.chunks.delete(ids=page)

    def delete_orphans(self) -> int:
        """Chunks whose source has no record (left by an interrupted delete) are removed."""
        known = {r.source for r in self.list_sources()}
        orphans = [cid for cid, meta in self.iter_chunk_metadata() if meta.get("source") not in known]
        if orphans:
            self.delete_chunk_ids(orphans)
            self.bump_revision()
        return len(orphans)

    def iter_chunk_metadata(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for got in self._pages(include=["metadatas"]):
            yield from zip(got["ids"], got["metadatas"])

    def all_chunks(self) -> list[StoredChunk]:
        return self._read_chunks(with_vectors=False)[0]

    def all_chunks_with_vectors(self) -> tuple[list[StoredChunk], np.ndarray]:
        return self._read_chunks(with_vectors=True)

    def _read_chunks(self, with_vectors: bool) -> tuple[list[StoredChunk], np.ndarray]:
        chunks: list[StoredChunk] = []
        vectors: list[np.ndarray] = [np.zeros((0, self.shape.dim), dtype=np.float32)]
        for got in self._pages(include=["metadatas", "documents"] + (["embeddings"] if with_vectors else [])):
            chunks.extend(
                to_stored(i, m, d) for i, m, d in zip(got["ids"], got["metadatas"], got["documents"])
            )
            if with_vectors:
                vectors.append(np.asarray(got["embeddings"], dtype=np.float32))
        return chunks, np.concatenate(vectors)

    def _pages(self, include: list[str]) -> Iterable[dict[str, Any]]:
        offset = 0
        while True:
            got = self.chunks.get(include=include, limit=PAGE_SIZE, offset=offset)
            if not got["ids"]:
                return
            yield got
            offset += len(got["ids"])

    def count(self) -> int:
        return self.chunks.count()

    def query(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """Nearest chunk ids with cosine similarity, best first (fewer than k when fewer match)."""
        got = self.chunks.query(
            query_embeddings=[vector.tolist()], n_results=k, where=where or None, include=["distances"]
        )
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(got["ids"][0], got["distances"][0])]

    def revision(self) -> str:
        """Changes whenever any source is added, changed or removed (keys caches of derived indexes).

        A token rewritten after every write, read with one lookup by id: queries check it twice, and
        listing every source record instead cost tens of milliseconds per query at 2,000 articles.
        Being in the store, it also tells other processes sharing a Chroma server that data changed.
        """
        got = self.revisions.get(ids=[REVISION_ID], include=["documents"])
        if got["ids"] and got["documents"][0]:
            return got["documents"][0]
        return self.bump_revision()  # a store written before revisions were kept

    def bump_revision(self) -> str:
        token = uuid.uuid4().hex[:16]
        self.revisions.upsert(ids=[REVISION_ID], documents=[token], embeddings=[SOURCE_VECTOR])
        return token


def pages_of(items: list) -> Iterator[tuple[int, list]]:
    """(offset, slice) pairs of at most PAGE_SIZE items: one Chroma call each."""
    for lo in range(0, len(items), PAGE_SIZE):
        yield lo, items[lo : lo + PAGE_SIZE]


def to_stored(chunk_id: str, meta: dict[str, Any], text: str) -> StoredChunk:
    return StoredChunk(
        chunk_id=chunk_id,
        source=meta["source"],
        start=int(meta["start"]),
        end=int(meta["end"]),
        text=text,
        date=meta.get("date") or None,
    )

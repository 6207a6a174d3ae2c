"""Chroma-backed chunk store: one collection of chunk vectors plus one of source records, and beside it
a persistent keyword index (vectorstore/keyword.py) over the same chunk ids.

The collection name is a hash of what shapes the vectors (embedding model, chunking settings,
schema version), so changing any of them builds a fresh collection instead of mixing vectors.

Writes are ordered so an ingest killed at any point leaves a usable store that the next run
completes: a source record is first written as ``pending`` with the new content hash, then its
chunks are upserted (stable ids, so re-running never duplicates), the keyword index gets the same
chunks and commits, stale chunks are deleted, and only then is the record marked ``complete``. A
pending record is always redone. Every write holds the keyword index's writer and marks the index
DIRTY until it ends with a new store revision, so an index that a crash left behind (or ahead) is
noticed by the next process and brought up to date from the store's complete sources (sync_keyword).
Each write of source records is repeated right after into the catalog beside the index
(vectorstore/catalog.py), from which `brief sources` lists them without opening Chroma.

Queries never read the whole store: dense candidates come from Chroma's HNSW query with their texts
and vectors, keyword candidates from the index, each with the filters pushed down.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from vectorstore.catalog import SourceCatalog
from vectorstore.chunk import Chunk
from vectorstore.client import SCHEMA_VERSION
from vectorstore.errors import StoreError
from vectorstore.keyword import DIRTY, INDEX_VERSION, KeywordIndex
from vectorstore.records import (
    SHAPE_HASH_CHARS,
    STATUS_COMPLETE,
    STATUS_PENDING,
    ChunkFilter,
    ChunkRows,
    SourceRecord,
    StoredChunk,
    StoreShape,
    date_as_int,
    records_of,
    to_stored,
)

PAGE_SIZE = 2000  # rows per Chroma get/upsert call (well under its max batch size)
SOURCES_PER_READ = 200  # sources whose chunks one Chroma call reads when the keyword index catches up
FIRST_LOOK_PER_SOURCE = 8  # closest_sources reads this many chunks per source wanted before widening
SOURCE_VECTOR = [1.0]  # source records need a vector; a constant 1-d one, never searched
REVISION_ID = "revision"  # the one record of the revision collection
CHUNK_FIELDS = ["documents", "metadatas"]


def keyword_folder(data_dir: Path, collection: str) -> Path:
    """Where a collection's keyword index lives: under the local data folder, also with a Chroma
    server (each client keeps its own copy and brings it up to date from the server's chunks)."""
    return Path(data_dir) / "keyword" / f"{collection}-v{INDEX_VERSION}"


def prefix_pattern(prefix: str, tail: str) -> re.Pattern:
    """Names StoreShape.collection_name gives under exactly this prefix (any shape), then ``tail``: a
    longer prefix that merely starts the same way never matches."""
    return re.compile(rf"{re.escape(prefix)}_[0-9a-f]{{{SHAPE_HASH_CHARS}}}{tail}")


def keyword_folders(data_dir: Path, prefix: str) -> list[Path]:
    """The keyword index folders of every collection under this prefix, whatever shape built them."""
    root, pattern = Path(data_dir) / "keyword", prefix_pattern(prefix, r"-v\d+")
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and pattern.fullmatch(p.name))


def delete_collections(client, prefix: str) -> list[str]:
    """Drop every collection under this prefix (chunks, source records, revision; any shape) and
    nothing else; returns the names dropped."""
    pattern = prefix_pattern(prefix, "(?:_src|_rev)?")
    names = [getattr(c, "name", c) for c in client.list_collections()]
    doomed = sorted(name for name in names if pattern.fullmatch(name))
    for name in doomed:
        client.delete_collection(name)
    return doomed


class ChunkStore:
    def __init__(self, client, shape: StoreShape, prefix: str, keyword: KeywordIndex):
        self.client = client
        self.shape = shape
        self.name = shape.collection_name(prefix)
        self.keyword = keyword
        self.catalog = SourceCatalog(keyword)  # the records again for `brief sources` (catalog.py)
        self._write_depth = 0
        self._write_lock = threading.RLock()
        self._refresh_lock = threading.Lock()
        self._seen_revision: str | None = None  # the revision the keyword searcher last caught up with
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
        return sorted(records_of(got), key=lambda r: r.source)

    def listed_sources(self) -> list[SourceRecord]:
        """The complete sources, by name (what `brief sources` lists): from the catalog when it is in
        step with the store, else from Chroma. When only the catalog is behind (a store older than
        it) that listing fills it; a keyword index that is behind as well is caught up, catalog
        included, by the next search or write, not here (that may read chunks, and needs tantivy)."""
        revision = self.revision()
        listed = self.catalog.listed(revision)
        if listed is None:
            records = self.list_sources()
            self.catalog.fill(records, revision)  # does nothing unless the index holds `revision`
            listed = [r for r in records if r.status == STATUS_COMPLETE]
        return listed

    def get_source(self, source: str) -> SourceRecord | None:
        found = self.get_sources([source])
        return found[0] if found else None

    def get_sources(self, names: list[str]) -> list[SourceRecord]:
        """These sources' records with their cleaned text (unknown names are left out)."""
        if not names:
            return []
        return records_of(self.sources.get(ids=list(names), include=["metadatas", "documents"]))

    def set_source_date(self, source: str, iso: str) -> SourceRecord | None:
        """Relabel a source and every chunk of it with a publication date: metadata only, so text,
        vectors and every other field stay as they are (no re-embedding). None when the source is unknown.

        Chunks and the keyword index are relabelled before the record, so an interrupted call is
        redone by calling it again."""
        with self.writing():
            record = self.get_source(source)
            if record is None:
                return None
            got = self.chunks.get(where={"source": source}, include=CHUNK_FIELDS)
            relabelled = [
                {**(meta or {}), "date": iso, "date_int": date_as_int(iso)} for meta in got["metadatas"]
            ]
            for lo, page in pages_of(got["ids"]):
                self.chunks.update(ids=page, metadatas=relabelled[lo : lo + len(page)])
            record.date = iso
            rows = [(cid, date_as_int(iso), doc) for cid, doc in zip(got["ids"], got["documents"])]
            self.keyword.replace_source(source, rows, record.stamp)
            self.keyword.commit()
            self.put_statuses([record])  # metadata only, and bumps the revision so caches see the date
            return record

    # --- writing -------------------------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[None]:
        """Every write goes through here (nested blocks share one): the keyword index's writer is
        held, so one process writes at a time; the index first catches up with the store if it is
        behind; it is marked DIRTY until the block ends well and records the revision it then
        matches. A block that fails or is killed leaves DIRTY, which sends the next reader to sync."""
        with self._write_lock, self.keyword.writing():
            self._write_depth += 1
            try:
                if self._write_depth == 1 and not self.ledger_in_step(self.revision()):
                    self.sync_keyword(self.revision())
                self.keyword.mark(DIRTY)
                yield
                self.mark_in_step(self.revision())
            finally:
                self._write_depth -= 1

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
        with self.writing():
            for record, chunks, _ in batch:
                record.status, record.n_chunks = STATUS_PENDING, len(chunks)
            self.put_sources(records)
            before = {r.source: (self.chunk_ids_of(r.source) if had else set()) for r, _, had in batch}
            self.upsert_chunks([c for _, cs, _ in batch for c in cs], vectors, records)
            for record, chunks, _ in batch:
                rows = [(c.chunk_id, date_as_int(record.date), c.text) for c in chunks]
                self.keyword.replace_source(record.source, rows, record.stamp)
            self.keyword.commit()
            for record, chunks, _ in batch:
                self.delete_chunk_ids(list(before[record.source] - {c.chunk_id for c in chunks}))
                record.status = STATUS_COMPLETE
            self.put_statuses(records)
        return before

    def upsert_chunks(self, chunks: list[Chunk], vectors: np.ndarray, records: list[SourceRecord]) -> None:
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

    def put_sources(self, records: list[SourceRecord]) -> None:
        for _, page in pages_of(records):
            self.sources.upsert(
                ids=[r.source for r in page],
                documents=[r.text for r in page],
                metadatas=[r.to_metadata() for r in page],
                embeddings=[SOURCE_VECTOR] * len(page),
            )
        self.catalog.put(records)
        self.bump_revision()

    def put_statuses(self, records: list[SourceRecord]) -> None:
        """Metadata only: rewriting each source's text again cost a third of the store's write time."""
        for _, page in pages_of(records):
            self.sources.update(ids=[r.source for r in page], metadatas=[r.to_metadata() for r in page])
        self.catalog.put(records)
        self.bump_revision()

    def delete_source(self, source: str) -> int:
        """Remove a source: marked pending first, so a removal cut short shows as unfinished (and
        `brief ingest --prune` or removing it again completes it)."""
        with self.writing():
            record = self.get_source(source)
            if record is not None:
                record.status = STATUS_PENDING
                self.put_statuses([record])
            self.keyword.remove_sources([source])
            self.keyword.commit()
            ids = list(self.chunk_ids_of(source))
            self.delete_chunk_ids(ids)
            self.sources.delete(ids=[source])
            self.catalog.remove([source])
            self.bump_revision()
            return len(ids)

    def delete_chunk_ids(self, ids: list[str]) -> None:
        for _, page in pages_of(ids):
            self.chunks.delete(ids=page)

    def delete_orphans(self) -> int:
        """Chunks whose source has no record (left by an interrupted delete) are removed."""
        with self.writing():
            known = {r.source for r in self.list_sources()}
            orphans = {cid: meta.get("source") for cid, meta in self.iter_chunk_metadata()}
            orphans = {cid: source for cid, source in orphans.items() if source not in known}
            if orphans:
                self.keyword.remove_sources(sorted(set(orphans.values())))
                self.keyword.commit()
                self.delete_chunk_ids(list(orphans))
                self.bump_revision()
            return len(orphans)

    # --- the keyword index ---------------------------------------------------------------------
    def keyword_search(
        self, query: str, k: int, where: ChunkFilter = ChunkFilter()
    ) -> list[tuple[str, float]]:
        """The ``k`` best chunk ids by BM25, with the filter pushed into the index."""
        self.refresh_keyword()
        return self.keyword.search(query, k, where.sources, where.date_range())

    def refresh_keyword(self) -> None:
        """Before a search (one revision lookup): see what other processes committed since, and
        catch the index up first when it is behind the store. While another process is writing, the
        index as committed is used and the next search tries again."""
        revision = self.revision()
        with self._refresh_lock:
            if revision == self._seen_revision:
                return
            caught_up = self.keyword.synced_revision() == revision or self.try_sync_keyword(revision)
            self.keyword.reload()
            if caught_up:
                self._seen_revision = revision

    def try_sync_keyword(self, revision: str) -> bool:
        with self.keyword.writing(wait=False) as mine:
            if not mine:
                return False
            if not self.ledger_in_step(revision):  # someone may have caught up meanwhile
                self.sync_keyword(revision)
            return True

    def sync_keyword(self, revision: str) -> None:
        """Within the keyword writer: make the index hold exactly the complete sources' chunks as
        the store has them, and the catalog every record. Only sources whose stamp differs are read
        again (all of them for a new index); pending ones are left to the ingest that finishes them."""
        records = self.list_sources()
        held = self.keyword.stamps()
        known = {r.source for r in records}
        gone = [source for source in held if source not in known]
        stale = [r for r in records if r.status == STATUS_COMPLETE and held.get(r.source) != r.stamp]
        if gone:
            self.keyword.remove_sources(gone)
            self.keyword.commit()
        for _, page in pages_of(stale, SOURCES_PER_READ):
            rows = self.keyword_rows([r.source for r in page])
            for record in page:
                self.keyword.replace_source(record.source, rows.get(record.source, []), record.stamp)
            self.keyword.commit()  # a sync cut short keeps what it finished
        self.keyword.mark(revision)
        self.catalog.fill(records, revision)

    def ledger_in_step(self, revision: str) -> bool:
        """Whether the keyword index and the catalog both hold the store as of ``revision``."""
        return self.keyword.synced_revision() == revision and self.catalog.revision() == revision

    def mark_in_step(self, revision: str) -> None:
        """The index, then the catalog, hold the store as of ``revision`` (the catalog is trusted only
        when its key matches the index's: vectorstore/catalog.py)."""
        self.keyword.mark(revision)
        self.catalog.mark(revision)

    def keyword_rows(self, sources: list[str]) -> dict[str, list[tuple[str, int, str]]]:
        """(chunk id, date, text) of these sources' stored chunks, by source."""
        got = self.chunks.get(where={"source": {"$in": sources}}, include=CHUNK_FIELDS)
        rows: dict[str, list[tuple[str, int, str]]] = {}
        for cid, meta, text in zip(got["ids"], got["metadatas"], got["documents"]):
            rows.setdefault(meta["source"], []).append((cid, int(meta.get("date_int") or 0), text))
        return rows

    def keyword_differences(self) -> tuple[set[str], set[str]]:
        """(chunk ids of complete sources the index lacks, ids it holds that the store does not):
        both empty when the two agree. Reads every id of both (for checks, not queries), and repairs
        nothing: what it compares is the index as committed."""
        self.keyword.reload()
        complete = {r.source for r in self.list_sources() if r.status == STATUS_COMPLETE}
        stored = dict(self.iter_chunk_metadata())
        wanted = {cid for cid, meta in stored.items() if meta.get("source") in complete}
        held = self.keyword.chunk_ids()
        return wanted - held, held - set(stored)

    # --- reading chunks ------------------------------------------------------------------------
    def nearest(
        self, vector: np.ndarray, k: int, where: ChunkFilter = ChunkFilter()
    ) -> tuple[ChunkRows, list[float]]:
        """The ``k`` nearest chunks (HNSW, filter pushed down) with their texts and vectors, and their
        cosine similarities, best first (fewer when fewer match)."""
        got = self.chunks.query(
            query_embeddings=[vector.tolist()],
            n_results=k,
            where=where.chroma_where(),
            include=[*CHUNK_FIELDS, "embeddings", "distances"],
        )
        rows = ChunkRows.from_chroma(
            got["ids"][0], got["metadatas"][0], got["documents"][0], got["embeddings"][0], self.shape.dim
        )
        return rows, [1.0 - float(d) for d in got["distances"][0]]

    def get_chunks(self, ids: list[str]) -> ChunkRows:
        """These chunks with their vectors, in the order asked (ids the store lacks are left out)."""
        if not ids:
            return ChunkRows([], np.zeros((0, self.shape.dim), dtype=np.float32))
        got = self.chunks.get(ids=list(ids), include=[*CHUNK_FIELDS, "embeddings"])
        rows = ChunkRows.from_chroma(
            got["ids"], got["metadatas"], got["documents"], got["embeddings"], self.shape.dim
        )
        return rows.pick(list(ids))

    def closest_sources(self, vector: np.ndarray, n: int, where: ChunkFilter = ChunkFilter()) -> list[str]:
        """The ``n`` sources whose best chunk is nearest to ``vector``, nearest first: HNSW results
        read a few chunks per source wanted, then twice as deep until n sources turn up or none are left."""
        total, depth = self.count(), n * FIRST_LOOK_PER_SOURCE
        while True:
            got = self.chunks.query(
                query_embeddings=[vector.tolist()],
                n_results=min(depth, max(total, 1)),
                where=where.chroma_where(),
                include=["metadatas"],
            )
            found = list(dict.fromkeys(meta["source"] for meta in got["metadatas"][0]))
            if len(found) >= n or depth >= total:
                return found[:n]
            depth *= 2

    def mean_vectors(self, sources: set[str]) -> dict[str, np.ndarray]:
        """Each of these sources' mean chunk vector, unnormalised; streams the collection a page at a
        time, so memory holds one page and the sums (a whole-corpus briefing without a topic)."""
        sums: dict[str, np.ndarray] = {}
        for page in self.pages_with_vectors():
            for chunk, vector in zip(page.chunks, page.vectors):
                if chunk.source in sources:
                    sums.setdefault(chunk.source, np.zeros(self.shape.dim, dtype=np.float64))
                    sums[chunk.source] += vector
        return {source: total.astype(np.float32) for source, total in sums.items()}

    def pages_with_vectors(self) -> Iterator[ChunkRows]:
        """Every chunk with its vector, a page at a time (a whole-store read, for briefings without
        a topic and the benchmark; never on a question's path)."""
        for got in self._pages(include=[*CHUNK_FIELDS, "embeddings"]):
            yield ChunkRows.from_chroma(
                got["ids"], got["metadatas"], got["documents"], got["embeddings"], self.shape.dim
            )

    def iter_chunk_metadata(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for got in self._pages(include=["metadatas"]):
            yield from zip(got["ids"], got["metadatas"])

    def all_chunks(self) -> list[StoredChunk]:
        """Every chunk's text and place (a whole-store read: checks, tests and the benchmark only)."""
        chunks: list[StoredChunk] = []
        for got in self._pages(include=CHUNK_FIELDS):
            chunks.extend(
                to_stored(i, m, d) for i, m, d in zip(got["ids"], got["metadatas"], got["documents"])
            )
        return chunks

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

    def revision(self) -> str:
        """Changes whenever any source is added, changed or removed (keys caches of derived indexes).

        A token rewritten after every write, read with one lookup by id: queries check it, and
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


def pages_of(items: list, size: int = PAGE_SIZE) -> Iterator[tuple[int, list]]:
    """(offset, slice) pairs of at most ``size`` items: one Chroma call each."""
    for lo in range(0, len(items), size):
        yield lo, items[lo : lo + size]

"""Ingest files: load, clean, chunk, embed (only what changed) and store; report what was skipped."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vectorstore.chunk import Chunk, chunk_text
from vectorstore.clean import CleanedDocument, clean_document
from vectorstore.embed import Embedder
from vectorstore.errors import SkipFile
from vectorstore.loaders import FetchedDocument, RawDocument, read_document
from vectorstore.store import STATUS_COMPLETE, ChunkStore, SourceRecord

Progress = Callable[[int, int, str], None]  # (files done, files total, current file name)


@dataclass(frozen=True)
class IngestOptions:
    chunk_size: int
    chunk_overlap: int
    max_bytes: int
    allowed_extensions: list[str]
    write_batch_chunks: int  # chunks embedded and written together
    date: str | None = None  # publication date set by the user for every file of this run (yyyy-mm-dd)


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class IngestReport:
    files: int = 0
    new_sources: int = 0
    updated_sources: int = 0
    unchanged_sources: int = 0
    new_chunks: int = 0
    removed_chunks: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [
            f"{self.files} files",
            f"{self.new_chunks} new chunks",
            f"{self.new_sources} new, {self.updated_sources} updated, {self.unchanged_sources} unchanged sources",
        ]
        if self.removed_chunks:
            parts.append(f"{self.removed_chunks} old chunks removed")
        if self.pruned:
            parts.append(f"{len(self.pruned)} pruned")
        parts.append(f"{len(self.skipped)} skipped")
        return ", ".join(parts) + f" in {self.seconds:.1f}s"


@dataclass(frozen=True)
class FileInput:
    """A file on disk to ingest; fetched pages (loaders.FetchedDocument) go the same way."""

    path: Path

    @property
    def source(self) -> str:
        return self.path.name

    @property
    def label(self) -> str:
        return str(self.path)

    def locations(self) -> tuple[str, str]:
        """(path, url) as the source record keeps them: a file is found again by its path."""
        return str(self.path.resolve()), ""

    def read_within(self, options: IngestOptions) -> RawDocument:
        return read_document(self.path, options.max_bytes, options.allowed_extensions)


@dataclass(frozen=True)
class FetchedInput:
    """A page fetched from a link: its record keeps the link instead of a path."""

    document: FetchedDocument

    @property
    def source(self) -> str:
        return self.document.source

    @property
    def label(self) -> str:
        return self.document.url

    def locations(self) -> tuple[str, str]:
        return "", self.document.url

    def read_within(self, options: IngestOptions) -> RawDocument:
        return self.document.read()  # its size was limited while it was fetched


Input = FileInput | FetchedInput


@dataclass
class Prepared:
    """A file loaded, cleaned and chunked, waiting for its vectors."""

    record: SourceRecord
    chunks: list[Chunk]
    is_update: bool
    old_chunks: int


def collect_files(paths: list[Path], report: IngestReport) -> list[Path]:
    """Expand folders (recursively, sorted); symlinks leading outside a given folder are skipped."""
    found: list[Path] = []
    for given in paths:
        if not given.exists():
            report.skipped.append(Skipped(str(given), "no such file or folder"))
        elif given.is_dir():
            found.extend(walk_folder(given, report))
        else:
            found.append(given)
    return list(dict.fromkeys(found))


def walk_folder(folder: Path, report: IngestReport) -> list[Path]:
    root = folder.resolve()
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                report.skipped.append(Skipped(str(path), "symlink pointing outside the folder"))
                continue
            files.append(path)
    return files


def ingest(
    paths: list[Path],
    store: ChunkStore,
    embedder: Embedder,
    options: IngestOptions,
    prune: bool = False,
    progress: Progress | None = None,
    fetched: Sequence[FetchedDocument] = (),
) -> IngestReport:
    """Ingest files and folders, and pages already fetched from links (read like files of their kind)."""
    started = time.perf_counter()
    report = IngestReport()
    files = [FileInput(p) for p in collect_files(paths, report)] + [FetchedInput(d) for d in fetched]
    report.files = len(files)
    with store.writing():  # one writer for the whole run: the keyword index is opened for writing once
        known = {r.source: r for r in store.list_sources()}
        batch: list[Prepared] = []
        claimed: dict[str, str] = {}  # source name -> the file or link that claimed it
        for done, item in enumerate(files, 1):
            prepared = prepare_file(item, known, claimed, options, report)
            if prepared:
                batch.append(prepared)
            if sum(len(p.chunks) for p in batch) >= options.write_batch_chunks:
                write_batch(batch, store, embedder, report)
                batch = []
            if progress:
                progress(done, len(files), item.source)
        write_batch(batch, store, embedder, report)
        if prune:
            prune_missing(store, report)
    report.seconds = time.perf_counter() - started
    return report


def prepare_file(
    item: Input,
    known: dict[str, SourceRecord],
    claimed: dict[str, str],
    options: IngestOptions,
    report: IngestReport,
) -> Prepared | None:
    """A new or changed file, cleaned and chunked with its source record; None (and counted in the
    report) for a repeated name, an unreadable or unchanged file, or one empty after cleaning."""
    raw = read_once(item, claimed, options, report)
    if raw is None:
        return None
    old = known.get(item.source)
    if is_unchanged(old, raw.content_hash, options.date):
        report.unchanged_sources += 1
        return None
    cleaned = clean_document(raw.text, raw.hints)
    chunks = chunk_text(cleaned.text, item.source, options.chunk_size, options.chunk_overlap)
    if not chunks:
        report.skipped.append(Skipped(item.label, "nothing left after removing page boilerplate"))
        return None
    record = source_record(item, raw, cleaned, options.date, len(chunks))
    return Prepared(record, chunks, is_update=old is not None, old_chunks=old.n_chunks if old else 0)


def read_once(
    item: Input, claimed: dict[str, str], options: IngestOptions, report: IngestReport
) -> RawDocument | None:
    """The file as read, unless a file of the same name was given earlier in this run or it cannot be
    read (either is noted in the report). Source names are file names, so they must be unique."""
    source = item.source
    if source in claimed:
        reason = f"another file named {source} was given ({claimed[source]}); names must be unique"
        report.skipped.append(Skipped(item.label, reason))
        return None
    claimed[source] = item.label
    try:
        return item.read_within(options)
    except SkipFile as skip:
        report.skipped.append(Skipped(item.label, skip.reason))
        return None


def is_unchanged(old: SourceRecord | None, content_hash: str, date: str | None) -> bool:
    """Stored completely with the same content, and no new date given for it."""
    return bool(
        old
        and old.content_hash == content_hash
        and old.status == STATUS_COMPLETE
        and date in (None, old.date)
    )


def source_record(
    item: Input, raw: RawDocument, cleaned: CleanedDocument, date: str | None, n_chunks: int
) -> SourceRecord:
    """The record of a file about to be written (its status is set once all its chunks are stored)."""
    path, url = item.locations()
    return SourceRecord(
        source=item.source,
        path=path,
        url=url,
        title=cleaned.title,
        date=date or cleaned.date,
        outlet=cleaned.outlet,
        content_hash=raw.content_hash,
        n_chunks=n_chunks,
        status="",
        ingested_at=time.time(),
        text=cleaned.text,
    )


def write_batch(batch: list[Prepared], store: ChunkStore, embedder: Embedder, report: IngestReport) -> None:
    if not batch:
        return
    vectors = embedder.embed([c.text for p in batch for c in p.chunks])
    before = store.replace_sources([(p.record, p.chunks, p.is_update) for p in batch], vectors)
    for prepared in batch:
        old, new_ids = before[prepared.record.source], {c.chunk_id for c in prepared.chunks}
        report.new_chunks += len(new_ids - old)
        report.removed_chunks += len(old - new_ids)
        if prepared.is_update:
            report.updated_sources += 1
        else:
            report.new_sources += 1


def prune_missing(store: ChunkStore, report: IngestReport) -> None:
    for record in store.list_sources():
        if not record.url and not Path(record.path).exists():  # fetched pages have no file to miss
            report.removed_chunks += store.delete_source(record.source)
            report.pruned.append(record.source)
    store.delete_orphans()

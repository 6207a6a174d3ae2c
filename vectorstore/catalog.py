"""The catalog of source records beside the keyword index: what `brief sources` lists, read without
opening Chroma.

Listing the records from Chroma meant importing chromadb (about 1 s) and reading every record's
metadata (3-4 s at 19,000 articles). The catalog is a table in the keyword index's ledger
(vectorstore/keyword.py) holding each source record as Chroma holds it (its metadata as JSON, so a
field added to SourceRecord needs no migration), written right after Chroma in the same steps
(vectorstore/store.py). It lists only complete records, and it is trusted only while it is in step:
its own revision key equals the ledger's revision, which every write sets to DIRTY before it touches
the store and to the store's new revision when it ends (then the catalog's key follows). A write cut
short, a store written before the catalog existed (or by code that does not keep it) and, with a
Chroma server, another client's write all leave the two apart; the listing then comes from Chroma
until the next catch-up (ChunkStore.sync_keyword) writes the whole catalog again.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from vectorstore.keyword import DIRTY, LEDGER_FILE, REVISION_KEY, KeywordIndex, read_ledger
from vectorstore.records import STATUS_COMPLETE, SourceRecord

CATALOG_KEY = "catalog_revision"  # the ledger state row naming the store revision the catalog matches
CATALOG_TABLE = (
    "CREATE TABLE IF NOT EXISTS catalog (source TEXT PRIMARY KEY, status TEXT NOT NULL, meta TEXT NOT NULL)"
)


def row_of(record: SourceRecord) -> tuple[str, str, str]:
    return record.source, record.status, json.dumps(record.to_metadata(), ensure_ascii=False)


def ledger_state(db: sqlite3.Connection) -> dict[str, str]:
    """The revisions the ledger says the keyword index and the catalog hold (missing keys: none)."""
    return dict(db.execute("SELECT key, value FROM state WHERE key IN (?, ?)", (REVISION_KEY, CATALOG_KEY)))


def listed_in(db: sqlite3.Connection, store_revision: str | None) -> list[SourceRecord] | None:
    """The complete records, by name, when the catalog is in step with the ledger (and with
    ``store_revision`` when one is given); None when it is not."""
    state = ledger_state(db)
    ledger = state.get(REVISION_KEY)
    if ledger in (None, DIRTY) or state.get(CATALOG_KEY) != ledger:
        return None
    if store_revision is not None and ledger != store_revision:
        return None
    rows = db.execute(
        "SELECT source, meta FROM catalog WHERE status = ? ORDER BY source", (STATUS_COMPLETE,)
    ).fetchall()  # SQLite orders text by its UTF-8 bytes: the order of Python's sorted()
    return [SourceRecord.from_chroma(source, json.loads(meta), None) for source, meta in rows]


def read_catalog(folder: Path) -> list[SourceRecord] | None:
    """The complete records of an embedded store, from the catalog in its keyword index ``folder``
    alone (no chromadb, no tantivy); None when there is none or it is not in step. Only an embedded
    store's writers all go through this folder's ledger: with a Chroma server, ask the store
    (SourceCatalog.listed with its revision)."""
    return read_ledger(folder, lambda db: listed_in(db, None), None)


class SourceCatalog:
    """The catalog of one store, kept in its keyword index's ledger."""

    def __init__(self, keyword: KeywordIndex):
        self.keyword = keyword

    def put(self, records: list[SourceRecord]) -> None:
        """Within a store write, after Chroma: these records, as Chroma now holds them."""
        with self.keyword.transaction() as db:
            db.execute(CATALOG_TABLE)
            db.executemany("INSERT OR REPLACE INTO catalog VALUES (?, ?, ?)", [row_of(r) for r in records])

    def remove(self, sources: list[str]) -> None:
        with self.keyword.transaction() as db:
            db.execute(CATALOG_TABLE)
            db.executemany("DELETE FROM catalog WHERE source = ?", [(s,) for s in sources])

    def fill(self, records: list[SourceRecord], revision: str) -> bool:
        """Every record of the store as of ``revision`` (a catch-up, or the first fill of a store older
        than the catalog), marked in step; only while the ledger says the index holds ``revision``,
        checked in the same transaction. Every write marks the ledger DIRTY before it touches the
        store, so a write since ``revision`` was read leaves the catalog as it was (False)."""
        if not (self.keyword.folder / LEDGER_FILE).is_file():
            return False  # no index here yet: nothing to be in step with
        with self.keyword.transaction() as db:
            if ledger_state(db).get(REVISION_KEY) != revision:
                return False
            db.execute(CATALOG_TABLE)
            db.execute("DELETE FROM catalog")
            db.executemany("INSERT INTO catalog VALUES (?, ?, ?)", [row_of(r) for r in records])
            self.mark_in(db, revision)
        return True

    def mark(self, revision: str) -> None:
        """The catalog holds the store as of ``revision`` (set after the ledger's own revision)."""
        with self.keyword.transaction() as db:
            self.mark_in(db, revision)

    @staticmethod
    def mark_in(db: sqlite3.Connection, revision: str) -> None:
        db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (CATALOG_KEY, revision))

    def revision(self) -> str | None:
        with self.keyword.transaction(write=False) as db:
            row = db.execute("SELECT value FROM state WHERE key = ?", (CATALOG_KEY,)).fetchone()
        return row[0] if row else None

    def listed(self, store_revision: str) -> list[SourceRecord] | None:
        """The complete records when the catalog and the keyword ledger are in step with the store's
        ``store_revision``; None when they are not (read-only: a missing ledger is not created)."""
        return read_ledger(self.keyword.folder, lambda db: listed_in(db, store_revision), None)

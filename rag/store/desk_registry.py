"""The desk registry and how desks are named (rag/store/desks.py says what a desk is).

Naming keeps an existing store working with no migration: the 'default' desk uses the configured
collection prefix as it always has, so its collections and keyword index keep the names they had
before desks existed; desk NAME uses '<prefix>-desk-NAME'. Every collection name ends in '_' and the
shape's hash, so the names of one desk never match another desk's (vectorstore/store.py prefix_pattern).
A desk's history and uploads live in <data_dir>/desks/<name>/.

The registry (<data_dir>/desks.sqlite3) records which desks exist and where each one's keyword index
is; `brief desks` counts articles, chunks and dates from that index's ledger (one small SQLite read per
desk), so listing desks opens neither Chroma nor tantivy.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config.settings_desks import DEFAULT_DESK, check_desk_name
from rag.errors import BriefError
from rag.store.sqlite_files import transaction
from vectorstore.keyword import held_stamps
from vectorstore.records import read_stamp
from vectorstore.store import keyword_folders

if TYPE_CHECKING:
    from rag.config.settings import Settings

DESK_MARK = "-desk-"  # between the collection prefix and a desk's name; the default desk has none
REGISTRY_FILE = "desks.sqlite3"
DESKS_FOLDER = "desks"
REGISTRY_SCHEMA = """
CREATE TABLE IF NOT EXISTS desks (
    name TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    keyword_folder TEXT  -- the keyword index the desk's store last opened (NULL until it has one)
);
"""


def collection_prefix(prefix: str, desk: str) -> str:
    """The prefix of a desk's collection names: the configured one for 'default', so a store written
    before desks existed is the default desk; '<prefix>-desk-<name>' for every other desk."""
    return prefix if desk == DEFAULT_DESK else f"{prefix}{DESK_MARK}{desk}"


def desk_folder(data_dir: Path, desk: str) -> Path:
    """Where a desk keeps its history and uploads (the name is checked, so it stays inside)."""
    return Path(data_dir) / DESKS_FOLDER / check_desk_name(desk)


def count_of(n: int, noun: str) -> str:
    """'1 article', '2 articles': the counts people read in `brief desks` and the UI."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def no_such_desk(name: str, known: list[str]) -> BriefError:
    return BriefError(
        f"no desk named '{name}' (desks: {', '.join(known)})",
        fix=f"`brief ingest --desk {name} PATH` creates it with its first articles",
    )


@dataclass(frozen=True)
class DeskSummary:
    """One line of `brief desks`: what a desk holds, as its keyword index's ledger records it."""

    name: str
    articles: int
    chunks: int
    first_date: str | None
    last_date: str | None
    undated: int

    @classmethod
    def of(cls, name: str, stamps: dict[str, str]) -> DeskSummary:
        read = [read_stamp(stamp) for stamp in stamps.values()]
        dates = sorted(date for date, _ in read if date)
        return cls(
            name=name,
            articles=len(read),
            chunks=sum(n for _, n in read),
            first_date=dates[0] if dates else None,
            last_date=dates[-1] if dates else None,
            undated=len(read) - len(dates),
        )

    def to_json(self) -> dict:
        return asdict(self)

    def to_text(self) -> str:
        span = f"{self.first_date} .. {self.last_date}" if self.first_date else "no dates"
        counts = f"{count_of(self.articles, 'article')}\t{count_of(self.chunks, 'chunk')}"
        return f"{self.name}\t{counts}\t{span}" + (f" ({self.undated} undated)" if self.undated else "")


class DeskRegistry:
    """Which desks exist and where each one's keyword index is."""

    def __init__(self, data_dir: Path, prefix: str):
        self.data_dir, self.prefix = Path(data_dir), prefix
        self.path = self.data_dir / REGISTRY_FILE

    @classmethod
    def of(cls, settings: Settings) -> DeskRegistry:
        return cls(Path(settings.data_dir), settings.collection_prefix)

    def _rows(self) -> dict[str, str | None]:
        with transaction(self.path, REGISTRY_SCHEMA, write=False) as db:
            return dict(db.execute("SELECT name, keyword_folder FROM desks").fetchall()) if db else {}

    def names(self) -> list[str]:
        """Every desk, 'default' first (it always exists, if only empty)."""
        return [DEFAULT_DESK, *sorted(set(self._rows()) - {DEFAULT_DESK})]

    def exists(self, name: str) -> bool:
        return name == DEFAULT_DESK or name in self._rows()

    def require(self, name: str) -> str:
        if not self.exists(name):
            raise no_such_desk(name, self.names())
        return name

    def create(self, name: str) -> str:
        """Register a desk (no articles yet); an existing one is left as it is."""
        name = check_desk_name(name)
        with transaction(self.path, REGISTRY_SCHEMA, write=True) as db:
            db.execute("INSERT OR IGNORE INTO desks (name, created_at) VALUES (?, ?)", (name, time.time()))
        return name

    def remember(self, name: str, folder: Path) -> None:
        """Record the desk (registering it if new) with the keyword index its store just opened."""
        with transaction(self.path, REGISTRY_SCHEMA, write=True) as db:
            db.execute(
                "INSERT INTO desks (name, created_at, keyword_folder) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET keyword_folder = excluded.keyword_folder",
                (name, time.time(), str(folder)),
            )

    def forget(self, name: str) -> None:
        with transaction(self.path, REGISTRY_SCHEMA, write=True) as db:
            db.execute("DELETE FROM desks WHERE name = ?", (name,))

    def index_folder(self, name: str) -> Path | None:
        """The desk's keyword index: the one its store last opened, else (a store older than the
        registry) the most recently written index under its prefix."""
        recorded = self._rows().get(name)
        if recorded and Path(recorded).is_dir():
            return Path(recorded)
        found = keyword_folders(self.data_dir, collection_prefix(self.prefix, name))
        return max(found, key=lambda p: p.stat().st_mtime) if found else None

    def summary(self, name: str) -> DeskSummary:
        folder = self.index_folder(name)
        return DeskSummary.of(name, held_stamps(folder) if folder else {})

    def summaries(self) -> list[DeskSummary]:
        return [self.summary(name) for name in self.names()]

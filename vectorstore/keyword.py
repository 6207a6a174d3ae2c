"""Keyword matching: the word helpers the pipeline shares, and the persistent BM25 index beside the store.

The index is tantivy's (Okapi BM25, top-k by block-max WAND), one folder per Chroma collection, kept
on disk and updated by every write to the store (vectorstore/store.py says in which order). SQLite
FTS5 was measured first (`python -m bench.keyword_engines`): its bm25() scores every document that
matches any word of the question, so at 200,000 chunks a question of common words took 100-500 ms,
where tantivy answers in a few.

A ledger (SQLite, in the same folder) records which version of each source the index holds (its
stamp: content hash, date, chunk count) and which store revision it last matched, so a process can
tell that it is behind and bring in only the sources that changed. tantivy itself lets one process
write at a time (a lock file that dies with its holder); any number read.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from vectorstore.errors import StoreError

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
    and 'advanced' meets 'advance'; short words and names stay intact. The verifier and the reader's
    checks compare words with it; the keyword index stems with tantivy's Snowball stemmer instead."""
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


# --- the persistent index --------------------------------------------------------------------------
INDEX_VERSION = 1  # in the folder name: a change of schema or analyzer builds a fresh index
ANALYZER = "news"
# A number keeps its separators ("30,000" is one word, not "30" and a "000" found everywhere).
WORD_PATTERN = r"\d+(?:[.,]\d+)*|\w+"
DIRTY = "dirty"  # the ledger's revision while a write is under way: a crash leaves it, so it gets checked
LOCK_RETRY_S = 0.1  # how often a writer waiting for another process's lock tries again
NO_DATE_LIMIT = 99_991_231  # yyyymmdd above every real date
LEDGER_FILE = "ledger.sqlite3"
REVISION_KEY = "revision"  # the ledger state row naming the store revision the index matches
T = TypeVar("T")


def read_ledger(folder: Path, read: Callable[[sqlite3.Connection], T], empty: T) -> T:
    """``read`` run on an index folder's ledger alone (read-only, one snapshot, without tantivy), so
    `brief desks` and `brief sources` open nothing else; ``empty`` when the index has no ledger yet or
    it cannot be read."""
    path = Path(folder) / LEDGER_FILE
    if not path.is_file():
        return empty
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error:
        return empty
    try:
        db.execute("BEGIN")  # what ``read`` sees is one committed state of the ledger
        return read(db)
    except sqlite3.Error:  # a ledger being created right now has no table yet
        return empty
    finally:
        db.close()


def held_stamps(folder: Path) -> dict[str, str]:
    """Source -> stamp of what an index folder holds, read from its ledger alone, so `brief desks` can
    count a desk's articles without opening anything."""
    return read_ledger(
        folder, lambda db: dict(db.execute("SELECT source, stamp FROM sources").fetchall()), {}
    )


def import_tantivy():
    try:
        import tantivy
    except ImportError:
        raise StoreError(
            "the keyword index needs the tantivy package", fix="run `make install` (pip install -e .)"
        ) from None
    return tantivy


def news_analyzer(tantivy):
    """Words as in WORD_PATTERN, lowercased, accents folded, stopwords dropped, Snowball-stemmed:
    'López expanding programmes' and 'Lopez expands the programme' meet."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(WORD_PATTERN))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.custom_stopword(sorted(STOPWORDS)))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def build_schema(tantivy):
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("chunk_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("source", tokenizer_name="raw")
    builder.add_integer_field("date_int", indexed=True, fast=True)
    builder.add_text_field("text", tokenizer_name=ANALYZER, index_option="freq")
    return builder.build()


class KeywordIndex:
    """BM25 over chunk texts, on disk in ``folder``; opened on first use (tantivy is imported then)."""

    def __init__(self, folder: Path, writer_memory_mb: int, lock_timeout_s: float):
        self.folder = Path(folder)
        self.writer_memory = writer_memory_mb * 1_000_000
        self.lock_timeout_s = lock_timeout_s
        self._lock = threading.RLock()  # opening, reloading and the ledger: held briefly
        self._write_lock = threading.RLock()  # held through a writing() block; searches go on meanwhile
        self._opened: tuple | None = None  # (tantivy module, index, schema, analyzer)
        self._searcher = None
        self._ledger: sqlite3.Connection | None = None
        self._writer = None
        self._depth = 0  # nested writing() blocks share one writer
        self._staged: dict[str, str | None] = {}  # ledger changes waiting for the next commit

    # --- opening -----------------------------------------------------------------------------------
    def _open(self) -> tuple:
        with self._lock:
            if self._opened is None:
                tantivy = import_tantivy()
                self.folder.mkdir(parents=True, exist_ok=True)
                schema = build_schema(tantivy)
                try:
                    index = tantivy.Index(schema, path=str(self.folder), reuse=True)
                except (OSError, ValueError) as exc:
                    raise StoreError(
                        f"the keyword index at {self.folder} cannot be opened ({str(exc)[:120]})",
                        fix=f"delete {self.folder}: it is rebuilt from the store on the next question",
                    ) from None
                analyzer = news_analyzer(tantivy)
                index.register_tokenizer(ANALYZER, analyzer)
                self._opened = (tantivy, index, schema, analyzer)
            return self._opened

    def ledger(self) -> sqlite3.Connection:
        with self._lock:
            if self._ledger is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.folder / LEDGER_FILE, check_same_thread=False, timeout=30)
                db.isolation_level = None  # transactions are explicit
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS sources (source TEXT PRIMARY KEY, stamp TEXT NOT NULL)"
                )
                db.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                self._ledger = db
            return self._ledger

    # --- reading -----------------------------------------------------------------------------------
    def reload(self) -> None:
        """See what has been committed since (by this process or another)."""
        with self._lock:
            _, index, _, _ = self._open()
            index.reload()
            self._searcher = index.searcher()

    def searcher(self):
        with self._lock:
            if self._searcher is None:
                self.reload()
            return self._searcher

    def query_terms(self, text: str) -> list[str]:
        """The question's words as the index holds them, each once; no query syntax is parsed, so
        quotes, operators or punctuation in a question are only words or nothing."""
        _, _, _, analyzer = self._open()
        return list(dict.fromkeys(analyzer.analyze(text)))

    def search(
        self, text: str, k: int, sources: tuple[str, ...] = (), dates: tuple[int, int] | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` best chunk ids for any of the words, with BM25 scores, best first; ``sources``
        and ``dates`` (yyyymmdd, inclusive) restrict which chunks may match."""
        terms = self.query_terms(text)
        if not terms or k < 1:
            return []
        tantivy, _, schema, _ = self._open()
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "text", t)) for t in terms]
        )
        filters = []
        if sources:
            filters.append(tantivy.Query.term_set_query(schema, "source", list(sources)))
        if dates:
            filters.append(
                tantivy.Query.range_query(schema, "date_int", tantivy.FieldType.Integer, dates[0], dates[1])
            )
        if filters:  # scored 0: they restrict, the words rank
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, query)]
                + [(tantivy.Occur.Must, tantivy.Query.const_score_query(f, 0.0)) for f in filters]
            )
        searcher = self.searcher()
        hits = searcher.search(query, k, count=False).hits
        return [(searcher.doc(address)["chunk_id"][0], float(score)) for score, address in hits]

    def count(self) -> int:
        return self.searcher().num_docs

    def chunk_ids(self) -> set[str]:
        """Every chunk id the index holds (for checks; reads the whole index)."""
        tantivy, _, _, _ = self._open()
        searcher = self.searcher()
        hits = searcher.search(tantivy.Query.all_query(), max(searcher.num_docs, 1), count=False).hits
        return {searcher.doc(address)["chunk_id"][0] for _, address in hits}

    def stamps(self) -> dict[str, str]:
        """Source -> the stamp of the version the index holds."""
        with self._lock:
            return dict(self.ledger().execute("SELECT source, stamp FROM sources").fetchall())

    def synced_revision(self) -> str | None:
        """The store revision the index last matched (DIRTY while, or after, an unfinished write)."""
        with self._lock:
            row = self.ledger().execute("SELECT value FROM state WHERE key = ?", (REVISION_KEY,)).fetchone()
            return row[0] if row else None

    # --- writing -----------------------------------------------------------------------------------
    @contextmanager
    def writing(self, wait: bool = True) -> Iterator[bool]:
        """Hold the index's writer for a block (nested blocks share it): yields True, or False when
        ``wait`` is off and another process or thread is writing. Changes count only once committed;
        a block that fails drops what it did not commit."""
        if not self._write_lock.acquire(blocking=wait):  # another thread of this process is writing
            yield False
            return
        try:
            if self._writer is None:
                self._writer = self._take_writer(wait)
                if self._writer is None:
                    yield False
                    return
            self._depth += 1
            try:
                yield True
            except BaseException:
                self._writer.rollback()
                self._staged.clear()
                raise
            finally:
                self._depth -= 1
                if self._depth == 0:
                    writer, self._writer = self._writer, None
                    writer.wait_merging_threads()  # finishes merges and frees the lock
        finally:
            self._write_lock.release()

    def _take_writer(self, wait: bool):
        _, index, _, _ = self._open()
        deadline = time.monotonic() + (self.lock_timeout_s if wait else 0)
        while True:
            try:
                return index.writer(heap_size=self.writer_memory, num_threads=1)
            except ValueError as exc:
                if "LockBusy" not in str(exc):
                    raise StoreError(f"cannot write the keyword index at {self.folder} ({exc})") from None
                if time.monotonic() >= deadline:
                    if not wait:
                        return None
                    raise StoreError(
                        f"another process is writing the store's keyword index ({self.folder})",
                        fix="wait until its ingest finishes, then try again",
                    ) from None
                time.sleep(LOCK_RETRY_S)

    def replace_source(self, source: str, rows: list[tuple[str, int, str]], stamp: str) -> None:
        """Within writing(): the source's chunks become ``rows`` (chunk id, yyyymmdd date, text)."""
        tantivy, _, _, _ = self._open()
        self._writer.delete_documents_by_term("source", source)
        for chunk_id, date_int, text in rows:
            self._writer.add_document(
                tantivy.Document(chunk_id=chunk_id, source=source, date_int=date_int, text=text)
            )
        self._staged[source] = stamp

    def remove_sources(self, sources: list[str]) -> None:
        """Within writing(): forget these sources and all their chunks."""
        for source in sources:
            self._writer.delete_documents_by_term("source", source)
            self._staged[source] = None

    def commit(self) -> None:
        """Within writing(): publish the changes, then record in the ledger which versions they hold
        (in that order, so the ledger never claims more than the index has)."""
        self._writer.commit()
        staged, self._staged = self._staged, {}
        with self._lock, self.transaction() as db:
            db.executemany(
                "DELETE FROM sources WHERE source = ?", [(s,) for s, v in staged.items() if v is None]
            )
            db.executemany(
                "INSERT OR REPLACE INTO sources (source, stamp) VALUES (?, ?)",
                [(s, v) for s, v in staged.items() if v is not None],
            )

    def mark(self, revision: str) -> None:
        """Record the store revision the index matches (DIRTY: a write is starting)."""
        with self._lock, self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (REVISION_KEY, revision))

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A ledger transaction (also for what is kept beside the index: vectorstore/catalog.py);
        ``write`` off: a read of one committed state that never waits for a writer. The process shares
        one connection, so the lock is held throughout."""
        with self._lock:
            db = self.ledger()
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

"""The small SQLite files beside the store (a desk's history, the desk registry).

One connection per file per process, behind a lock, each call one short transaction: the UI's
concurrent requests take turns for a millisecond each, and other processes (`brief ask` while the UI
runs) share the file through SQLite's own locking. Opening a connection per call was measured at
~35 ms a write on these machines (a new connection's first write in WAL mode), a kept one at ~1 ms.
The file is in WAL mode, so readers never wait for a writer.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_S = 10.0  # these rows are a few KB: a writer waits for another process for milliseconds
MAX_OPEN = 32  # files kept open at once (3 descriptors each); the least recently used is closed first

_files: OrderedDict[Path, SmallFile] = OrderedDict()
_files_lock = threading.Lock()


class SmallFile:
    def __init__(self, path: Path, schema: str):
        self.path, self.schema = path, schema
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        """The kept connection, opened again when the file was deleted meanwhile (a desk removed and
        made anew must not write into the removed file)."""
        if self._db is not None and not self.path.is_file():
            self._db.close()
            self._db = None
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            # WAL's usual setting: a commit waits for no disk flush; a power cut can lose the last
            # few rows but never damages the file (these rows are a record, not the articles)
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(self.schema)
            self._db = db
        return self._db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    @contextmanager
    def transaction(self, write: bool) -> Iterator[sqlite3.Connection | None]:
        """One transaction, committed when the block ends well and rolled back when it raises. A
        read of a file never written gets None (and creates nothing)."""
        if not write and not self.path.is_file():
            yield None
            return
        with self._lock:
            db = self._connection()
            with db:
                yield db


def small_file(path: Path, schema: str) -> SmallFile:
    """The process's one SmallFile for this path."""
    key = Path(path).resolve()
    with _files_lock:
        if key not in _files:
            _files[key] = SmallFile(key, schema)
            if len(_files) > MAX_OPEN:
                _files.popitem(last=False)[1].close()
        _files.move_to_end(key)
        return _files[key]


def transaction(path: Path, schema: str, write: bool):
    """A transaction on the file at ``path`` (see SmallFile.transaction)."""
    return small_file(path, schema).transaction(write)

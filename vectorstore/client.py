"""Opening Chroma: the embedded PersistentClient under the data folder by default, an HttpClient when
a server host is set; damaged or foreign stores are one-line errors saying how to rebuild."""

from __future__ import annotations

import json
import time
from pathlib import Path

from vectorstore.errors import BackendUnavailable, StoreError

SCHEMA_VERSION = 1  # of what this code writes into a store; store.json records it


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
CHROMA_DB = "chroma.sqlite3"  # the embedded store's database, in <data_dir>/chroma/
SQLITE_HEADER = b"SQLite format 3\x00"  # how every SQLite database file begins


def embedded_store_readable(data_dir: Path) -> bool:
    """Without importing chromadb: whether the embedded store in ``data_dir`` looks readable (this
    version's schema, else the same one-line error as opening it; a database file that begins as one).
    A command that answers from beside the store (`brief sources`) checks this instead of opening it."""
    check_store_marker(Path(data_dir))
    try:
        with (Path(data_dir) / "chroma" / CHROMA_DB).open("rb") as db:
            return db.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


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

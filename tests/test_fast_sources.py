"""`brief sources` from the catalog beside the keyword index (vectorstore/catalog.py): the same records
Chroma holds as complete, after every kind of write and after writes cut short, read without opening
Chroma while the catalog is in step, and filled once for a store older than it. Hash embedder: no model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rag.store.desk import Desk
from vectorstore.catalog import CATALOG_KEY, SourceCatalog, read_catalog
from vectorstore.keyword import DIRTY, KeywordIndex
from vectorstore.store import ChunkStore

SOURCE = "003_ab779828a3a3face.txt"
CRANES = "Harbour report. The harbour authority approved 42 new cranes for the east quay."
LISTED_KEYS = ["source", "title", "date", "outlet", "chunks", "status", "url"]  # `brief sources --json`


class Killed(Exception):
    """Stands for the process dying at this point of a write."""


def complete_in_chroma(desk: Desk) -> list:
    """What `brief sources` must list: Chroma's complete records, by name (their text left out)."""
    return [r for r in desk.store.list_sources() if r.status == "complete"]


def listed_by_a_new_process(desk: Desk) -> tuple[list, bool]:
    """(what a fresh Desk lists, whether it had to open the store to list it)."""
    fresh = Desk(desk.settings)
    listed = fresh.listed_sources()
    return listed, "store" in fresh.__dict__


def a_file(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def test_after_ingest_the_catalog_lists_the_complete_records_without_opening_the_store(fake_desk):
    listed, opened = listed_by_a_new_process(fake_desk)
    assert listed == complete_in_chroma(fake_desk) and len(listed) == 5
    assert not opened
    assert [r.source for r in listed] == sorted(r.source for r in listed)


def test_a_removal_and_a_new_date_are_listed_as_chroma_has_them(fake_desk):
    fake_desk.remove_source(SOURCE)
    fake_desk.set_source_date("001_144ff8e1c6f8de48.txt", "2019-03-04")
    listed, opened = listed_by_a_new_process(fake_desk)
    assert listed == complete_in_chroma(fake_desk) and not opened
    assert SOURCE not in {r.source for r in listed}
    assert {r.source: r.date for r in listed}["001_144ff8e1c6f8de48.txt"] == "2019-03-04"


def test_an_ingest_killed_mid_write_lists_no_pending_record_and_repairs_the_catalog(
    fake_desk, tmp_path, monkeypatch
):
    before = complete_in_chroma(fake_desk)

    def killed(*args, **kwargs):
        raise Killed

    with monkeypatch.context() as patch, pytest.raises(Killed):
        patch.setattr(ChunkStore, "upsert_chunks", killed)  # after the pending record, before its chunks
        fake_desk.ingest([a_file(tmp_path / "new", "cranes.txt", CRANES)])
    assert {r.source: r.status for r in fake_desk.store.list_sources()}["cranes.txt"] == "pending"
    assert read_catalog(fake_desk.store.keyword.folder) is None  # the ledger says DIRTY: not trusted
    listed, opened = listed_by_a_new_process(fake_desk)
    assert opened and listed == complete_in_chroma(fake_desk) == before  # the pending one is not listed
    assert read_catalog(fake_desk.store.keyword.folder) is None  # listing repairs nothing...
    fake_desk.store.refresh_keyword()  # ...the next search catches the index and the catalog up
    assert read_catalog(fake_desk.store.keyword.folder) == before  # in step again: fast from now on


def test_a_write_killed_between_chroma_and_the_catalog_lists_what_chroma_holds(
    fake_desk, tmp_path, monkeypatch
):
    put = SourceCatalog.put

    def dies_when_complete(self, records):
        if any(r.status == "complete" for r in records):
            raise Killed  # Chroma has just marked the records complete; the catalog never hears of it
        put(self, records)

    with monkeypatch.context() as patch, pytest.raises(Killed):
        patch.setattr(SourceCatalog, "put", dies_when_complete)
        fake_desk.ingest([a_file(tmp_path / "new", "cranes.txt", CRANES)])
    assert fake_desk.store.get_source("cranes.txt").status == "complete"
    listed, _ = listed_by_a_new_process(fake_desk)
    assert listed == complete_in_chroma(fake_desk) and "cranes.txt" in {r.source for r in listed}
    fake_desk.ingest([tmp_path / "new"])  # the next write catches up first (the file is unchanged)
    assert read_catalog(fake_desk.store.keyword.folder) == listed


def forget_the_catalog(store: ChunkStore) -> None:
    """Leave the ledger as code older than the catalog left it: no catalog, the index in step."""
    with store.keyword.transaction() as db:
        db.execute("DROP TABLE catalog")
        db.execute("DELETE FROM state WHERE key = ?", (CATALOG_KEY,))


def test_a_store_older_than_the_catalog_is_filled_once_then_read_without_the_store(fake_desk):
    store = fake_desk.store
    stamps = store.keyword.stamps()
    forget_the_catalog(store)
    assert read_catalog(store.keyword.folder) is None
    listed, opened = listed_by_a_new_process(fake_desk)
    assert opened and listed == complete_in_chroma(fake_desk)
    assert store.keyword.stamps() == stamps and store.keyword_differences() == (set(), set())
    again, opened = listed_by_a_new_process(fake_desk)
    assert again == listed and not opened


def test_a_store_without_a_catalog_is_filled_by_its_next_write_too(fake_desk, tmp_path):
    forget_the_catalog(fake_desk.store)
    fake_desk.ingest([a_file(tmp_path / "new", "cranes.txt", CRANES)])  # touches one source only
    assert read_catalog(fake_desk.store.keyword.folder) == complete_in_chroma(fake_desk)
    assert len(complete_in_chroma(fake_desk)) == 6


def test_a_listing_while_another_process_writes_is_chromas_and_fills_nothing(fake_desk):
    forget_the_catalog(fake_desk.store)
    fake_desk.store.keyword.mark(DIRTY)  # a write under way elsewhere
    listed, opened = listed_by_a_new_process(fake_desk)
    assert opened and listed == complete_in_chroma(fake_desk)
    assert read_catalog(fake_desk.store.keyword.folder) is None


def test_a_damaged_store_is_reported_not_listed_from_the_catalog(cli_store, capsys):
    from rag.commands.cli import main

    (cli_store / "chroma" / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    assert main(["sources"]) == 2
    assert "cannot be opened" in capsys.readouterr().err


@pytest.mark.parametrize("ledger_revision", [DIRTY, "written-by-code-without-the-catalog"])
def test_a_catalog_out_of_step_with_its_ledger_is_not_trusted(fake_desk, ledger_revision):
    fake_desk.store.keyword.mark(ledger_revision)
    assert read_catalog(fake_desk.store.keyword.folder) is None
    listed, opened = listed_by_a_new_process(fake_desk)
    assert opened and listed == complete_in_chroma(fake_desk)


def test_a_client_whose_catalog_is_behind_the_store_lists_what_the_store_holds(fake_desk, tmp_path):
    """With a Chroma server each client keeps its own ledger: another client's write makes it stale,
    and the store's revision (not the ledger alone) decides."""
    store = fake_desk.store
    index = KeywordIndex(tmp_path / "other-index", writer_memory_mb=16, lock_timeout_s=5)
    other = ChunkStore(store.client, store.shape, fake_desk.settings.collection_prefix, index)
    assert other.listed_sources() == complete_in_chroma(fake_desk)
    fake_desk.remove_source(SOURCE)  # through the first client only
    assert other.listed_sources() == complete_in_chroma(fake_desk)
    assert SOURCE not in {r.source for r in other.listed_sources()}


@pytest.fixture
def cli_store(monkeypatch, tmp_path, seeds_dir):
    """A data folder with the seeds ingested by `brief ingest` (hash embedder), as the environment says."""
    from rag.commands.cli import main

    monkeypatch.setenv("BRIEF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BRIEF_EMBEDDER", "hash")
    assert main(["ingest", "--quiet", str(seeds_dir)]) == 0
    return tmp_path / "data"


def test_brief_sources_json_keeps_its_shape_and_does_not_import_chromadb(cli_store, capsys):
    code = (
        "import sys; from rag.commands.cli import main; main(['sources', '--json'])\n"
        "print('chromadb' in sys.modules, 'tantivy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    listed, imported = out.splitlines()
    assert imported == "False False"
    rows = json.loads(listed)
    assert len(rows) == 5 and all(list(row) == LISTED_KEYS for row in rows)
    from rag.config.settings import load_settings

    desk = Desk(load_settings())
    expected = [
        [r.source, r.title, r.date, r.outlet, r.n_chunks, r.status, r.url or None]
        for r in complete_in_chroma(desk)
    ]
    assert [list(row.values()) for row in rows] == expected

"""The keyword index beside the store: rebuilt when missing, caught up from the store's complete sources
when it is behind (another client of a Chroma server wrote, or a write was cut short), reading only the
sources that changed."""

from __future__ import annotations

import shutil

import pytest

from rag.questions.retrieve import Retriever, Scope
from rag.store.desk import Desk
from vectorstore.keyword import DIRTY, KeywordIndex
from vectorstore.store import ChunkStore

SOURCE = "003_ab779828a3a3face.txt"


class CountingStore(ChunkStore):
    """A ChunkStore that notes which sources' chunks it reads to catch its keyword index up."""

    def __init__(self, *args):
        super().__init__(*args)
        self.read_sources: list[str] = []

    def keyword_rows(self, sources: list[str]):
        self.read_sources += sources
        return super().keyword_rows(sources)


def second_client(desk: Desk, folder) -> CountingStore:
    """Another client of the same Chroma data with its own keyword index, as each process using a
    Chroma server has (BRIEF_CHROMA_HOST, separate data folders)."""
    store = desk.store
    index = KeywordIndex(folder, writer_memory_mb=16, lock_timeout_s=5)
    return CountingStore(store.client, store.shape, desk.settings.collection_prefix, index)


def test_a_missing_index_is_rebuilt_from_the_store_on_the_next_search(make_settings, seeds_dir):
    desk = Desk(make_settings())
    desk.ingest([seeds_dir])
    folder = desk.store.keyword.folder
    expected = desk.store.keyword_search("Harris aid", 5)
    later = Desk(make_settings())  # a new process: the folder is gone
    shutil.rmtree(folder)
    assert later.store.keyword_search("Harris aid", 5) == expected
    assert later.store.keyword_differences() == (set(), set())


def test_another_clients_writes_are_brought_in_source_by_source(fake_desk, tmp_path):
    other = second_client(fake_desk, tmp_path / "other-index")
    assert other.keyword_search("Harris aid", 3)  # built from the store: every source read once
    assert sorted(other.read_sources) == sorted(r.source for r in fake_desk.sources())
    other.read_sources.clear()

    fake_desk.set_source_date(SOURCE, "2019-03-04")  # written through the first client only
    in_2019 = Scope.parse(since="2019-01-01", until="2019-12-31").chunk_filter()
    hits = other.keyword_search("Harris aid", 5, in_2019)
    assert hits and other.read_sources == [SOURCE]  # only the changed source was read again

    other.read_sources.clear()
    fake_desk.remove_source(SOURCE)
    assert other.keyword_search("Harris aid", 5, in_2019) == [] and other.read_sources == []
    assert other.keyword_differences() == (set(), set())


def test_a_write_cut_short_is_noticed_and_repaired_by_the_next_search(fake_desk):
    store = fake_desk.store
    record = store.get_source(SOURCE)
    lost = sorted(store.chunk_ids_of(SOURCE))[0]
    with pytest.raises(RuntimeError), store.writing():
        store.chunks.delete(ids=[lost])  # the store moved on...
        record.n_chunks -= 1
        store.put_statuses([record])
        raise RuntimeError("killed before the keyword index was written")  # ...the index did not
    assert store.keyword.synced_revision() == DIRTY
    assert store.keyword_differences() == (set(), {lost})
    Retriever(fake_desk).retrieve("How much aid did Harris announce?")  # any search catches up
    assert store.keyword_differences() == (set(), set())
    assert store.keyword.synced_revision() == store.revision()


def test_a_reader_behind_a_busy_writer_searches_what_is_committed_then_catches_up(fake_desk, tmp_path):
    other = second_client(fake_desk, tmp_path / "other-index")
    removed = fake_desk.store.chunk_ids_of(SOURCE)
    other.keyword_search("aid", 1)  # built and in step
    fake_desk.remove_source(SOURCE)  # through the first client
    holder = KeywordIndex(other.keyword.folder, writer_memory_mb=16, lock_timeout_s=5)
    with holder.writing():  # another process is writing the second client's index
        stale = {cid for cid, _ in other.keyword_search("Harris aid", 50)}
        assert stale & removed  # answered at once from what is committed
        assert other.keyword.synced_revision() != other.revision()
    fresh = {cid for cid, _ in other.keyword_search("Harris aid", 50)}
    assert fresh and not fresh & removed
    assert other.keyword.synced_revision() == other.revision()


def test_a_search_does_not_wait_for_a_write_in_another_thread(fake_desk):
    """A UI process answers while one of its threads ingests an upload: the question is answered from
    what is committed, without waiting for the write to end."""
    import threading

    store = fake_desk.store
    store.keyword_search("aid", 1)
    holding, release = threading.Event(), threading.Event()

    def ingest_in_progress() -> None:
        with store.writing():
            store.bump_revision()  # the store moved on: a search will want to catch up
            holding.set()
            release.wait(timeout=10)
        holding.clear()

    writer = threading.Thread(target=ingest_in_progress)
    writer.start()
    holding.wait(timeout=10)
    try:
        assert store.keyword_search("Harris aid", 5)
        assert holding.is_set()  # answered while the write was still going on
    finally:
        release.set()
        writer.join()
    assert store.keyword_search("Harris aid", 5) and store.keyword.synced_revision() == store.revision()

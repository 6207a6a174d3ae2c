"""Setting or correcting a source's publication date after ingest: metadata only, nothing else lost,
clear errors for bad input; from the core service and from the UI's Library tab (no browser)."""

from __future__ import annotations

import pytest

from rag.errors import BriefError
from rag.questions.retrieve import Retriever, Scope

SOURCE = "003_ab779828a3a3face.txt"
NEW_DATE = "2019-03-04"


def snapshot(desk, source: str) -> tuple:
    """Everything stored about a source except its date: record fields, chunk texts, offsets, vectors."""
    record = desk.store.get_source(source)
    got = desk.store.chunks.get(where={"source": source}, include=["documents", "metadatas", "embeddings"])
    order = sorted(range(len(got["ids"])), key=lambda i: got["ids"][i])
    chunks = [
        (
            got["ids"][i],
            got["documents"][i],
            {k: v for k, v in got["metadatas"][i].items() if k not in ("date", "date_int")},
        )
        for i in order
    ]
    vectors = [list(got["embeddings"][i]) for i in order]
    fields = {k: v for k, v in vars(record).items() if k != "date"}
    return fields, chunks, vectors


def test_a_new_date_relabels_the_source_and_its_chunks_and_keeps_everything_else(fake_desk):
    before = snapshot(fake_desk, SOURCE)
    others = {r.source: r.date for r in fake_desk.sources() if r.source != SOURCE}
    record = fake_desk.set_source_date(SOURCE, NEW_DATE)

    assert record.date == NEW_DATE and fake_desk.store.get_source(SOURCE).date == NEW_DATE
    assert snapshot(fake_desk, SOURCE) == before
    metas = fake_desk.store.chunks.get(where={"source": SOURCE}, include=["metadatas"])["metadatas"]
    assert metas and all(m["date"] == NEW_DATE and m["date_int"] == 20190304 for m in metas)
    assert {r.source: r.date for r in fake_desk.sources() if r.source != SOURCE} == others


def test_date_filters_see_the_new_date_at_once(fake_desk):
    retriever = Retriever(fake_desk)
    in_2019 = Scope.parse(since="2019-01-01", until="2019-12-31")
    assert retriever.retrieve("aid", in_2019) == []  # nothing dated 2019 yet, and the index is warm
    fake_desk.set_source_date(SOURCE, NEW_DATE)
    assert {hit.chunk.source for hit in retriever.retrieve("aid", in_2019)} == {SOURCE}
    keyword = fake_desk.store.keyword_search("aid", 50, in_2019.chunk_filter())
    assert keyword and {cid for cid, _ in keyword} <= fake_desk.store.chunk_ids_of(SOURCE)
    dense = fake_desk.store.chunks.get(where=in_2019.chroma_where(), include=["metadatas"])["metadatas"]
    assert dense and {m["source"] for m in dense} == {SOURCE}


def test_an_unchanged_file_ingested_again_keeps_the_date_set(fake_desk, seeds_dir):
    fake_desk.set_source_date(SOURCE, NEW_DATE)
    report = fake_desk.ingest([seeds_dir / SOURCE])
    assert report.unchanged_sources == 1 and fake_desk.store.get_source(SOURCE).date == NEW_DATE


@pytest.mark.parametrize(
    "source, stated, message",
    [
        ("nope.txt", NEW_DATE, "no source named 'nope.txt'"),
        (None, NEW_DATE, "no source chosen"),
        (SOURCE, "04/03/2019", "'04/03/2019' is not a date"),
        (SOURCE, "2019-02-30", "is not a date"),
        (SOURCE, "", "no publication date given"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(fake_desk, source, stated, message):
    before = fake_desk.store.get_source(SOURCE).date
    with pytest.raises(BriefError, match=message) as raised:
        fake_desk.set_source_date(source, stated)
    assert raised.value.fix
    assert fake_desk.store.get_source(SOURCE).date == before


# --- the Library tab, called as Gradio calls it ---------------------------------------------------------
@pytest.fixture
def handlers(fake_desk):
    pytest.importorskip("gradio")
    from ui.app import build_app

    app = build_app(fake_desk)
    return {block_fn.name: block_fn.fn for block_fn in app.fns.values()}


def test_the_library_tab_sets_a_date_and_shows_it_in_the_table(handlers, fake_desk):
    status, table = handlers["set_date"]("default", SOURCE, f" {NEW_DATE} ")
    assert status == f"{SOURCE} is now dated {NEW_DATE}."
    assert [row for row in table if row[0] == SOURCE][0][2] == NEW_DATE
    # choosing the source again shows its date to correct
    assert handlers["date_of"]("default", SOURCE) == NEW_DATE


def test_the_library_tab_reports_a_bad_date_in_one_line(handlers, fake_desk):
    status, _ = handlers["set_date"]("default", SOURCE, "yesterday")
    assert status.startswith("Error: publication date 'yesterday' is not a date") and "\n" not in status
    status, _ = handlers["set_date"]("default", None, NEW_DATE)
    assert status.startswith("Error: no source chosen")

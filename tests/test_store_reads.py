"""What the pipeline reads from the store instead of a whole-corpus snapshot: the nearest chunks with
their texts and vectors, chunks by id, articles nearest a topic, articles' mean vectors, and source
records by name; each checked against the same thing computed from every stored chunk."""

from __future__ import annotations

import numpy as np

from rag.questions.retrieve import Scope

SOURCE = "003_ab779828a3a3face.txt"


def every_chunk(desk):
    """(chunks, vectors) of the whole store, the way the old snapshot held them."""
    pages = list(desk.store.pages_with_vectors())
    return [c for p in pages for c in p.chunks], np.concatenate([p.vectors for p in pages])


def test_nearest_brings_texts_vectors_and_similarities_and_honours_the_filter(fake_desk):
    chunks, vectors = every_chunk(fake_desk)
    query = fake_desk.embedder.embed(["How much aid did Harris announce?"])[0]
    rows, similarity = fake_desk.store.nearest(query, 5)
    best = np.argsort(-(vectors @ query))[:5]
    assert [c.chunk_id for c in rows.chunks] == [chunks[i].chunk_id for i in best]
    assert np.allclose(rows.vectors @ query, similarity, atol=1e-4)
    assert all(c.text and c.end > c.start for c in rows.chunks)
    only = Scope.parse(sources=[SOURCE]).chunk_filter()
    assert {c.source for c in fake_desk.store.nearest(query, 50, only)[0].chunks} == {SOURCE}


def test_chunks_by_id_come_in_the_order_asked_and_unknown_ids_are_left_out(fake_desk):
    chunks, vectors = every_chunk(fake_desk)
    asked = [chunks[3].chunk_id, "no-such-chunk", chunks[0].chunk_id]
    rows = fake_desk.store.get_chunks(asked)
    assert [c.chunk_id for c in rows.chunks] == [chunks[3].chunk_id, chunks[0].chunk_id]
    assert np.allclose(rows.vectors, vectors[[3, 0]])
    assert fake_desk.store.get_chunks([]).vectors.shape == (0, fake_desk.embedder.dim)


def test_articles_nearest_a_topic_are_ranked_by_their_nearest_chunk(fake_desk):
    chunks, vectors = every_chunk(fake_desk)
    topic = fake_desk.embedder.embed(["kidnapping of migrants on a bus to Matamoros"])[0]
    best: dict[str, float] = {}
    for chunk, score in zip(chunks, vectors @ topic):
        best[chunk.source] = max(best.get(chunk.source, -1.0), float(score))
    expected = sorted(best, key=lambda s: -best[s])
    assert fake_desk.store.closest_sources(topic, 3) == expected[:3]
    assert fake_desk.store.closest_sources(topic, 10) == expected  # fewer articles than asked: all of them


def test_mean_vectors_are_each_articles_mean_chunk_vector(fake_desk):
    chunks, vectors = every_chunk(fake_desk)
    means = fake_desk.store.mean_vectors({SOURCE})
    rows = [i for i, c in enumerate(chunks) if c.source == SOURCE]
    assert set(means) == {SOURCE} and np.allclose(means[SOURCE], vectors[rows].sum(axis=0), atol=1e-4)


def test_source_records_are_read_by_name_and_forgotten_when_the_store_changes(fake_desk):
    records = fake_desk.source_records([SOURCE, "unknown.txt", SOURCE])
    assert list(records) == [SOURCE] and "Harris" in records[SOURCE].text
    assert fake_desk.source_records([]) == {}
    fake_desk.set_source_date(SOURCE, "2019-03-04")
    assert fake_desk.source_records([SOURCE])[SOURCE].date == "2019-03-04"  # not the cached record

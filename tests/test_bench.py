"""The benchmark's own logic: a repeatable corpus, the runtime choice rule, the table, and the
retrieval timing on a small real store (the full run is `make bench`, not a test)."""

from __future__ import annotations

from bench.corpus import generate
from bench.run import TARGETS, FirstToken, bench_retrieval, judge_runtimes, table


def test_corpus_is_repeatable_and_varied(tmp_path):
    first = generate(tmp_path / "a", 5)
    again = generate(tmp_path / "b", 5)
    other_seed = generate(tmp_path / "c", 5, seed=99)
    texts = [p.read_text(encoding="utf-8") for p in first]
    assert texts == [p.read_text(encoding="utf-8") for p in again]
    assert texts != [p.read_text(encoding="utf-8") for p in other_seed]
    assert len(set(texts)) == 5 and all(len(t) > 1000 for t in texts)


def test_the_fastest_runtime_that_keeps_quality_is_chosen():
    runs = {
        "torch": {"chunks_per_s": 50.0, "source_hit_at_k": 1.0, "answer_recall": 0.86},
        "onnx": {
            "chunks_per_s": 84.0,
            "source_hit_at_k": 1.0,
            "answer_recall": 0.85,
        },  # one point lower: allowed
        "int8": {"chunks_per_s": 130.0, "source_hit_at_k": 1.0, "answer_recall": 0.84},  # two points: not
    }
    assert judge_runtimes(runs, "torch") == "onnx"
    assert runs["int8"]["within_one_point"] is False and round(runs["onnx"]["speedup_vs_torch"], 2) == 1.68


def results(**changes) -> dict:
    base = {
        "machine": {"date": "2026-11-23 14:00", "cpus": 2, "cpu": "test cpu", "python": "3.11"},
        "took_s": 600.0,
        "embedders": {
            "default": "minilm",
            "fastest_within_one_point": "minilm",
            "runs": {
                "minilm": {
                    "chunks_per_s": 84.0,
                    "speedup_vs_torch": 1.6,
                    "source_hit_at_k": 1.0,
                    "answer_recall": 0.86,
                    "within_one_point": True,
                }
            },
        },
        "ingest": {
            "articles": 400,
            "ours_chunks": 4000,
            "naive_chunks": 3500,
            "ours_s": 60.0,
            "naive_s": 100.0,
            "bare_embed_s": 54.0,
            "ours_chunks_per_s": 66.7,
            "naive_chunks_per_s": 35.0,
            "speedup_vs_naive_articles": 1.67,
            "overhead_vs_bare_embedding": 1.11,
        },
        "scale": {"articles": 2000, "chunks": 21000, "chunks_per_s": 70.0},
        "retrieval": {
            "chunks": 21000,
            "p50_ms": 7.0,
            "p95_ms": 11.0,
            "embed_query_p50_ms": 3.0,
            "dense_chroma_p50_ms": 1.0,
            "keyword_bm25_p50_ms": 0.7,
        },
        "answers": {"p50_ms": 700.0, "p95_ms": 900.0, "ttft_p50_ms": 450.0},
        "cold": {"sources_s": 0.9, "ask_cold_s": 5.0, "sources_imports_torch": False},
        "memory": {"peak_rss_mb": 1100.0},
    }
    for key, value in changes.items():
        section, field = key.split("__")
        base[section][field] = value
    return base


def test_table_marks_each_target_met_or_missed():
    rows = [line for line in table(results()).splitlines() if line.startswith("| ingest: ours vs naive")]
    assert rows and rows[0].endswith("| no |")  # 1.67x < 2x
    assert table(results(ingest__speedup_vs_naive_articles=2.1)).count("| no |") == 0
    missed = table(results(retrieval__p50_ms=25.0, memory__peak_rss_mb=1600.0))
    assert missed.count("| no |") == 3 and "21,000 chunks" in missed
    assert len(TARGETS) == 7


def test_retrieval_timing_reports_every_stage(fake_desk):
    timing = bench_retrieval(fake_desk)
    assert timing["chunks"] == fake_desk.store.count() > 0
    for stage in ("", "embed_query_", "dense_chroma_", "keyword_bm25_"):
        assert 0 < timing[f"{stage}p50_ms"] <= timing[f"{stage}p95_ms"]


def test_first_token_time_is_the_first_tokens():
    first = FirstToken()
    assert first.at is None
    first("The")
    noted = first.at
    first(" aid")
    assert noted is not None and first.at == noted

"""`make bench`: ours against the naive LangChain chain and the bare embedding floor, in one run, then
the same measurements on a 200,000-chunk store (bench/scale.py: built once, kept between runs).

Results go to bench/results/<name>.json and bench/results/latest.md. Timings on a shared 2-core machine
are noisy, so the targets that matter are ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.measure import (
    ROOT,
    SEED_QUESTIONS,
    WARM_QUESTION,
    FirstToken,
    bench_cold,
    bench_memory,
    bench_retrieval,
    machine,
    settings_for,
)
from bench.report import table
from bench.scale import SCALE_ARTICLES, bench_scale_store
from eval.metrics import percentile

if TYPE_CHECKING:  # for annotations only: the models load inside each benchmark, after HF_HUB_OFFLINE is set
    from rag.store.desk import Desk

os.environ.setdefault("HF_HUB_OFFLINE", "1")
EMBEDDER_CANDIDATES = ["minilm-torch", "minilm", "minilm-int8"]  # the reference first
EMBED_SAMPLE_CHUNKS = 1000  # chunks each embedder runtime embeds for its speed
QUALITY_TOLERANCE = 0.01  # a faster runtime may lose at most one point of hit@k or answer recall
RESULTS = ROOT / "bench" / "results"


def bench_embedders(corpus: Path, work: Path, models: Path) -> dict:
    """Each MiniLM runtime: speed on benchmark chunks, and source hit@k / answer recall on the eval set.

    The default may only be the fastest runtime whose eval numbers stay within one point of PyTorch's.
    """
    from eval.runner import run_eval
    from eval.sets_io import eval_set_path
    from rag.store.desk import Desk

    texts = corpus_chunk_texts(corpus, EMBED_SAMPLE_CHUNKS)
    runs = {}
    for name in EMBEDDER_CANDIDATES:
        desk = Desk(settings_for(work / f"eval-{name}", models, embedder=name))
        desk.embedder.embed(["warm up"])  # export and load are not throughput
        started = time.perf_counter()
        desk.embedder.encode(texts)
        speed = len(texts) / (time.perf_counter() - started)
        desk.ingest([ROOT / "seeds"])
        metrics = run_eval(desk, eval_set_path(desk.settings)).ours
        runs[name] = {
            "chunks_per_s": speed,
            "source_hit_at_k": metrics["source_hit_at_k"],
            "answer_recall": metrics["answer_em_recall"],
        }
    from rag.config.settings import Settings

    fastest_ok = judge_runtimes(runs, EMBEDDER_CANDIDATES[0])
    return {
        "runs": runs,
        "fastest_within_one_point": fastest_ok,
        "default": Settings.model_fields["embedder"].default,
        "chunks": len(texts),
    }


def judge_runtimes(runs: dict[str, dict], reference_name: str) -> str:
    """Marks each run's speedup and whether it keeps quality; returns the fastest that does."""
    reference = runs[reference_name]
    for run in runs.values():
        run["speedup_vs_torch"] = run["chunks_per_s"] / reference["chunks_per_s"]
        run["within_one_point"] = all(
            reference[k] - run[k] <= QUALITY_TOLERANCE + 1e-9 for k in ("source_hit_at_k", "answer_recall")
        )
    return max((n for n, r in runs.items() if r["within_one_point"]), key=lambda n: runs[n]["chunks_per_s"])


def corpus_chunk_texts(corpus: Path, limit: int) -> list[str]:
    from rag.config.settings import Settings
    from rag.toolkit import chunk_text, clean_document

    size, overlap = (
        Settings.model_fields["chunk_size"].default,
        Settings.model_fields["chunk_overlap"].default,
    )
    texts: list[str] = []
    for path in sorted(corpus.glob("*.txt")):
        text = clean_document(path.read_text(encoding="utf-8")).text
        texts += [c.text for c in chunk_text(text, path.name, size, overlap)]
        if len(texts) >= limit:
            return texts[:limit]
    return texts


def bench_ingest(sample: Path, work: Path, models: Path) -> tuple[dict, Desk]:
    """Ours vs the naive chain vs embedding our chunks bare, on the same sample of the corpus."""
    from rag.store.desk import Desk

    desk = Desk(settings_for(work / "ours", models))
    desk.embedder.embed(["warm up"])  # model load is not ingest throughput
    started = time.perf_counter()
    report = desk.ingest([sample])
    ours_s = time.perf_counter() - started
    texts = [c.text for c in desk.store.all_chunks()]
    started = time.perf_counter()
    desk.embedder.encode(texts)
    bare_s = time.perf_counter() - started
    naive_s, naive_chunks = naive_ingest(sample)
    n_files = report.files
    return {
        "articles": n_files,
        "ours_chunks": len(texts),
        "naive_chunks": naive_chunks,
        "embedder": desk.embedder.name,
        "ours_s": ours_s,
        "bare_embed_s": bare_s,
        "naive_s": naive_s,
        "ours_chunks_per_s": len(texts) / ours_s,
        "naive_chunks_per_s": naive_chunks / naive_s,
        "ours_articles_per_s": n_files / ours_s,
        "naive_articles_per_s": n_files / naive_s,
        "speedup_vs_naive_articles": naive_s / ours_s,
        "overhead_vs_bare_embedding": ours_s / bare_s,
    }, desk


def bench_scale(desk, corpus: Path) -> dict:
    """Grow the sample's store to the whole corpus (the sample's files are unchanged, so skipped)."""
    started = time.perf_counter()
    report = desk.ingest([corpus])
    took = time.perf_counter() - started
    return {
        "articles": len(desk.sources()),
        "chunks": desk.store.count(),
        "added_chunks": report.new_chunks,
        "seconds": took,
        "chunks_per_s": report.new_chunks / took,
    }


BRIEFING_TOPIC = "aid to address the root causes of migration"


def bench_briefing(desk, work: Path, models: Path) -> dict:
    """`brief summarize --topic` over the full corpus (embedded default), and a briefing of the seeds."""
    from rag.briefings.summarize import Summarizer
    from rag.store.desk import Desk

    desk.llm.warm_up()
    started = time.perf_counter()
    corpus = Summarizer(desk).summarize(topic=BRIEFING_TOPIC)
    corpus_s = time.perf_counter() - started
    seeds_desk = Desk(settings_for(work / "briefing-seeds", models))
    seeds_desk.ingest([ROOT / "seeds"])
    seeds_desk.llm.warm_up()
    started = time.perf_counter()
    seeds = Summarizer(seeds_desk).summarize()
    seeds_s = time.perf_counter() - started
    return {
        "topic": BRIEFING_TOPIC,
        "corpus_s": corpus_s,
        "corpus_sources_cited": len(corpus.sources),
        "corpus_scope": corpus.scope,
        "corpus_rewrites": corpus.rewrites,
        "seeds_s": seeds_s,
        "seeds_rewrites": seeds.rewrites,
    }


def naive_ingest(corpus: Path) -> tuple[float, int]:
    from eval.naive import build_naive_store, naive_embeddings

    embeddings = naive_embeddings()
    embeddings.embed_query("warm up")
    started = time.perf_counter()
    documents = {p.name: p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*.txt"))}
    _, n_chunks = build_naive_store(documents, embeddings)
    return time.perf_counter() - started, n_chunks


def bench_answers(work: Path, models: Path) -> dict:
    from rag.questions.answer import Answerer
    from rag.store.desk import Desk

    desk = Desk(settings_for(work / "seeds-store", models))
    desk.ingest([ROOT / "seeds"])
    answerer = Answerer(desk)
    answerer.ask(WARM_QUESTION)  # warm: models loaded, prompt caches filled; not one of the timed
    totals, first_token = [], []
    for question in SEED_QUESTIONS:
        started = time.perf_counter()
        first = FirstToken()
        answerer.ask(question, on_token=first)
        totals.append((time.perf_counter() - started) * 1000)
        if first.at is not None:
            first_token.append((first.at - started) * 1000)
    return {
        "p50_ms": percentile(totals, 50),
        "p95_ms": percentile(totals, 95),
        "ttft_p50_ms": percentile(first_token, 50) if first_token else None,
    }


QUICK_ARTICLES, QUICK_SAMPLE = 200, 60  # --quick: a smoke run
RESULT_KEYS = (
    "embedders",
    "ingest",
    "scale",
    "retrieval",
    "answers",
    "cold",
    "cold_seeds",
    "memory",
    "briefing",
    "scale200k",
)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    n, sample_n = (
        (QUICK_ARTICLES, QUICK_SAMPLE) if args.quick else (args.articles, min(args.sample, args.articles))
    )
    scale_articles = (
        args.scale_articles if args.scale_articles is not None else (0 if args.quick else SCALE_ARTICLES)
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="brief-bench-") as tmp:
        results = run_benchmarks(Path(tmp), n, sample_n, scale_articles, args.scale_store)
    results["took_s"] = time.perf_counter() - started
    write_results(results)
    print(table(results))
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--articles", type=int, default=2000, help="corpus size (2,000 articles is about 21k chunks)"
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=400,
        help="articles on which ours, the naive chain and bare embedding are compared",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a smoke run: {QUICK_ARTICLES} articles, {QUICK_SAMPLE} of them compared, no big store",
    )
    parser.add_argument(
        "--scale-articles",
        type=int,
        help=f"articles of the big store (default {SCALE_ARTICLES:,}, about 200,000 chunks; 0 skips it)",
    )
    parser.add_argument(
        "--scale-store", type=Path, help="where the big store is kept (default bench/results/stores/scale-N)"
    )
    return parser.parse_args(argv)


def make_corpus(work: Path, n: int, sample_n: int) -> Path:
    """The corpus of n articles under work/corpus, and a copy of its first sample_n in the returned folder."""
    from bench.corpus import generate

    paths = generate(work / "corpus", n)
    sample = work / "sample"
    sample.mkdir()
    for path in paths[:sample_n]:
        shutil.copy(path, sample / path.name)
    return sample


def run_benchmarks(work: Path, n: int, sample_n: int, scale_articles: int, scale_store: Path | None) -> dict:
    models = work / "models"
    sample = make_corpus(work, n, sample_n)
    results: dict = {"machine": machine()}
    step("embedder runtimes: speed and eval quality")
    results["embedders"] = bench_embedders(sample, work, models)
    step(f"ingest {sample_n} articles: ours, the naive chain, bare embedding")
    results["ingest"], big = bench_ingest(sample, work, models)
    step(f"grow the store to {n} articles")
    results["scale"] = bench_scale(big, work / "corpus")
    step("retrieval")
    results["retrieval"] = bench_retrieval(big)
    step("answers")
    results["answers"] = bench_answers(work, models)
    step("briefings: a topic over the corpus, and the seeds")
    results["briefing"] = bench_briefing(big, work, models)
    step("cold start, on the full store and on the seeds")
    results["cold"] = bench_cold(work / "ours", models)
    results["cold_seeds"] = bench_cold(work / "seeds-store", models)
    step("ui memory")
    results["memory"] = bench_memory(work / "ours", models)
    if scale_articles:
        step(
            f"a {scale_articles:,}-article store: build (or reuse), cold start, memory, another process's write, retrieval"
        )
        results["scale200k"] = bench_scale_store(big, scale_articles, models, scale_store)
    return results


def step(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}...", file=sys.stderr, flush=True)


def write_results(results: dict) -> None:
    for key in (k for k in RESULT_KEYS if k in results):
        (RESULTS / f"{key}.json").write_text(
            json.dumps({"machine": results["machine"], **results[key]}, indent=2), encoding="utf-8"
        )
    (RESULTS / "latest.md").write_text(table(results) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())

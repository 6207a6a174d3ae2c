"""The `make bench` report: each target with its measured value and whether it is met, the embedder
runtimes, and one sentence per benchmark (bench/results/latest.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BRIEFING_TARGET_S = 600  # issue 14: a topic briefing over the 2,000-article corpus in under 10 minutes
LISTING_TARGET_S = 1  # issue 32: `brief sources` and `brief desks` cold in under a second, at 200k chunks too


def at(*path: str) -> Callable[[dict], Any]:
    """A getter of results[path[0]][path[1]]...; None when a benchmark did not run."""

    def get(results: dict) -> Any:
        value: Any = results
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value

    return get


def listing_time(*path: str, command: str) -> Callable[[dict], Any]:
    """The cold `brief sources`/`brief desks` time at results[path...]; infinite when the command failed
    (a failure must not count as fast)."""

    def get(results: dict) -> Any:
        cold = at(*path)(results)
        if cold is None or f"{command}_s" not in cold:
            return None
        return cold[f"{command}_s"] if cold.get(f"{command}_ok", True) else float("inf")

    return get


def is_default_runtime(results: dict) -> float:
    return float(results["embedders"]["default"] == results["embedders"]["fastest_within_one_point"])


# (label, getter, target as shown, test)
TARGETS: list[tuple[str, Callable[[dict], Any], str, Callable[[float], bool]]] = [
    ("ingest: ours vs naive chain (articles/s)", at("ingest", "speedup_vs_naive_articles"), ">= 2x", lambda v: v >= 2),
    ("ingest: ours / bare embedding time", at("ingest", "overhead_vs_bare_embedding"), "<= 1.25x", lambda v: v <= 1.25),
    ("embedding: default runtime is the fastest within 1 point of PyTorch", is_default_runtime, "yes", lambda v: v == 1.0),
    ("warm retrieval p50 at full size (ms)", at("retrieval", "p50_ms"), "< 20", lambda v: v < 20),
    ("warm answer p50 (ms)", at("answers", "p50_ms"), "< 2500", lambda v: v < 2500),
    ("`brief sources` cold (s)", listing_time("cold", command="sources"), f"< {LISTING_TARGET_S}", lambda v: v < LISTING_TARGET_S),
    ("`brief desks` cold (s)", listing_time("cold", command="desks"), f"< {LISTING_TARGET_S}", lambda v: v < LISTING_TARGET_S),
    ("cold `brief ask` on the full store, end to end (s)", at("cold", "ask_cold_s"), "< 3", lambda v: v < 3),
    ("`brief ui` peak RSS with the full store (MB)", at("memory", "peak_rss_mb"), "< 1536", lambda v: v < 1536),
    ("200k chunks: warm retrieval p50 (ms)", at("scale200k", "retrieval", "p50_ms"), "< 50", lambda v: v < 50),
    ("200k chunks: cold `brief ask`, end to end (s)", at("scale200k", "cold", "ask_cold_s"), "< 4", lambda v: v < 4),
    ("200k chunks: `brief sources` cold (s)", listing_time("scale200k", "cold", command="sources"), f"< {LISTING_TARGET_S}", lambda v: v < LISTING_TARGET_S),
    ("200k chunks: `brief desks` cold (s)", listing_time("scale200k", "cold", command="desks"), f"< {LISTING_TARGET_S}", lambda v: v < LISTING_TARGET_S),
    ("200k chunks: `brief ui` peak RSS after answering (MB)", at("scale200k", "memory", "peak_rss_mb"), "< 2048", lambda v: v < 2048),
    ("200k chunks: another process's write seen after (s)", at("scale200k", "notice_shared", "notice_s"), "< 1", lambda v: v < 1),
    ("briefing on a topic over the full corpus, embedded default (s)", at("briefing", "corpus_s"), f"< {BRIEFING_TARGET_S}", lambda v: v < BRIEFING_TARGET_S),
]  # fmt: skip


def table(results: dict) -> str:
    m, i, sc = (results[k] for k in ("machine", "ingest", "scale"))
    lines = [
        f"Measured {m['date']} on {m['cpus']} x {m['cpu']}, Python {m['python']}; corpus {sc['articles']} articles / {sc['chunks']} chunks, "
        f"ingest ratios on a {i['articles']}-article sample ({i['ours_chunks']} chunks ours, {i['naive_chunks']} naive). Took {results['took_s'] / 60:.1f} min.",
        "",
    ]
    return "\n".join(lines + target_rows(results) + [""] + embedder_rows(results) + [""] + details(results))


def target_rows(results: dict) -> list[str]:
    """The targets table: each benchmark's target, measured value and whether it is met."""
    lines = ["| benchmark | target | measured | met |", "| --- | --- | --- | --- |"]
    for label, get, target, ok in TARGETS:
        value = get(results)
        if value is None:
            lines.append(f"| {label} | {target} | not run | - |")
            continue
        shown = ("yes" if value else "no") if target == "yes" else f"{value:,.2f}"
        lines.append(f"| {label} | {target} | {shown} | {'yes' if ok(value) else 'no'} |")
    return lines


def embedder_rows(results: dict) -> list[str]:
    lines = [
        "| embedder runtime | chunks/s | vs PyTorch | source hit@5 | answer recall | within 1 point |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, run in results["embedders"]["runs"].items():
        lines.append(
            f"| {name} | {run['chunks_per_s']:.1f} | {run['speedup_vs_torch']:.2f}x | {run['source_hit_at_k']:.1%} | {run['answer_recall']:.1%} | {'yes' if run['within_one_point'] else 'no'} |"
        )
    return lines


def retrieval_sentence(rt: dict) -> str:
    return (
        f"Retrieval at {rt['chunks']:,} chunks: p50 {rt['p50_ms']:.1f} ms, p95 {rt['p95_ms']:.1f} ms; of which query embedding p50 {rt['embed_query_p50_ms']:.1f} ms, "
        f"Chroma HNSW with texts and vectors p50 {rt['dense_chroma_p50_ms']:.1f} ms, keyword index (BM25) p50 {rt['keyword_bm25_p50_ms']:.1f} ms."
    )


def listing_words(c: dict) -> str:
    """How the cold `brief sources` and `brief desks` runs went (older results lack the newer fields)."""
    runs = ", ".join(f"{s:.2f}" for s in c.get("sources_runs_s", []))
    listed = c.get("sources_listed")
    return (
        f"`brief sources` {c['sources_s']:.2f} s"
        + (
            f" (runs {runs} s; on a store built before the source catalog, the first fills it)"
            if runs
            else ""
        )
        + (f", {listed:,} sources listed" if listed is not None else "")
        + f"; imports torch: {c['sources_imports_torch']}, chromadb: {c.get('sources_imports_chromadb', '-')}"
        + (f"; `brief desks` {c['desks_s']:.2f} s" if "desks_s" in c else "")
    )


def cold_sentence(c: dict, where: str) -> str:
    stages = ", ".join(f"{k} {v:,} ms" for k, v in c.get("ask_stages_ms", {}).items())
    return (
        f"Cold on {where}: {listing_words(c)}; `brief ask` {c['ask_cold_s']:.1f} s, "
        f"of which start-up (imports, opening the store, loading models) {c['ask_outside_stages_s']:.1f} s and the answer's stages {stages or 'not reported'}."
    )


def details(results: dict) -> list[str]:
    """The measurements behind the targets, one sentence per benchmark."""
    i, sc, rt, a = (results[k] for k in ("ingest", "scale", "retrieval", "answers"))
    lines = [
        f"Ingest (sample): ours {i['ours_s']:.1f} s ({i['ours_chunks_per_s']:.1f} chunks/s), naive chain {i['naive_s']:.1f} s ({i['naive_chunks_per_s']:.1f} chunks/s), "
        f"bare embedding of our chunks {i['bare_embed_s']:.1f} s. Growing the store to {sc['chunks']:,} chunks: {sc['chunks_per_s']:.1f} chunks/s.",
        retrieval_sentence(rt),
        f"Answers (embedded Gemma 270M, warm): p50 {a['p50_ms']:.0f} ms, p95 {a['p95_ms']:.0f} ms, first token p50 {a['ttft_p50_ms'] or 0:.0f} ms.",
        cold_sentence(results["cold"], f"the {sc['chunks']:,}-chunk store"),
    ]
    if c := results.get("cold_seeds"):
        lines.append(cold_sentence(c, "the five seeds"))
    if b := results.get("briefing"):
        lines.append(
            f'Briefing on "{b["topic"]}" over the corpus: {b["corpus_s"]:.0f} s, {b["corpus_sources_cited"]} articles cited ({b["corpus_scope"]}). '
            f"Seeds briefing: {b['seeds_s']:.0f} s, {b['seeds_rewrites']['kept']} of {b['seeds_rewrites']['attempted']} LLM rewrites kept."
        )
    if big := results.get("scale200k"):
        lines += scale_sentences(big)
    return lines


def scale_sentences(big: dict) -> list[str]:
    built = big["build"]
    how = "reused from an earlier run" if built["reused"] else "built in this run"
    shared, own = (seconds(big[key]["notice_s"]) for key in ("notice_shared", "notice_own_index"))
    return [
        f"The {built['chunks']:,}-chunk store ({built['articles']:,} articles, vectors derived from the 21k store's): {how}; building took {built['build_s'] / 60:.1f} min.",
        retrieval_sentence(big["retrieval"]),
        cold_sentence(big["cold"], f"the {built['chunks']:,}-chunk store"),
        f"`brief ui` peak RSS after answering: {big['memory']['peak_rss_mb']:,.0f} MB. A write by another process (Chroma server) was found by the keyword "
        f"index after {shared} with the index shared, {own} with each client's own copy (caught up source by source).",
    ]


def seconds(value: float | None) -> str:
    return "never (gave up)" if value is None else f"{value:.2f} s"

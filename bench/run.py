"""`make bench`: ours against the naive LangChain chain and the bare embedding floor, in one run.

Results go to bench/results/<name>.json and bench/results/latest.md. Timings on a shared 2-core machine
are noisy, so the targets that matter are ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
QUERIES = [
    "How much aid did Harris announce?", "Who met López Obrador at the National Palace?", "How many migrants were kidnapped?",
    "What did the caravan ask for?", "When will the summit take place?", "Which policy ended in May?", "Who is the interior minister?",
    "How many encounters were recorded at the border?", "What did Mexico agree to receive each month?", "What is Sembrando Vida?",
]
SEED_QUESTIONS = [
    "How much additional aid did Harris announce for the region?", "How many migrants were kidnapped on the bus to Matamoros?",
    "Who is Mexico's interior minister?", "Where will the 2023 APEC summit be held?", "How many non-Mexicans did Mexico agree to receive each month?",
    "Which tree-planting program did López Obrador propose expanding?", "How many encounters were there at the southern border in December?",
    "Who led the U.S. delegation that met López Obrador?", "What share of economic growth benefited the poor?", "What did López Obrador ask the U.S. to suspend regarding Cuba?",
]


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "date": time.strftime("%Y-%m-%d %H:%M")}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    return ordered[lo] + (ordered[min(lo + 1, len(ordered) - 1)] - ordered[lo]) * (k - lo)


def settings_for(data_dir: Path, **extra):
    from rag.settings import load_settings

    return load_settings(data_dir=data_dir, **extra)


def bench_ingest(corpus: Path, work: Path) -> dict:
    """Ours vs the naive chain vs embedding our chunks bare, on the same corpus."""
    from rag.desk import Desk

    desk = Desk(settings_for(work / "ours"))
    desk.embedder.embed(["warm up"])  # model load is not ingest throughput
    started = time.perf_counter()
    report = desk.ingest([corpus])
    ours_s = time.perf_counter() - started
    texts = [c.text for c in desk.store.all_chunks()]
    started = time.perf_counter()
    desk.embedder.encode(texts)
    bare_s = time.perf_counter() - started
    naive_s, naive_chunks = naive_ingest(corpus)
    n_files = report.files
    return {
        "articles": n_files, "ours_chunks": len(texts), "naive_chunks": naive_chunks,
        "ours_s": ours_s, "bare_embed_s": bare_s, "naive_s": naive_s,
        "ours_chunks_per_s": len(texts) / ours_s, "naive_chunks_per_s": naive_chunks / naive_s,
        "ours_articles_per_s": n_files / ours_s, "naive_articles_per_s": n_files / naive_s,
        "speedup_vs_naive_articles": naive_s / ours_s, "overhead_vs_bare_embedding": ours_s / bare_s,
    }, desk


def naive_ingest(corpus: Path) -> tuple[float, int]:
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from eval.naive import minilm_path

    embeddings = HuggingFaceEmbeddings(model_name=minilm_path(), model_kwargs={"device": "cpu"})
    embeddings.embed_query("warm up")
    started = time.perf_counter()
    docs = [Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": p.name}) for p in sorted(corpus.glob("*.txt"))]
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    Chroma.from_documents(splits, embeddings, collection_name=f"naive_{uuid.uuid4().hex[:8]}")
    return time.perf_counter() - started, len(splits)


def bench_retrieval(desk) -> dict:
    from rag.retrieve import Retriever

    retriever = Retriever(desk)
    retriever.retrieve("warm up the index")
    times = []
    for i in range(50):
        started = time.perf_counter()
        retriever.retrieve(QUERIES[i % len(QUERIES)] + ("" if i < 10 else f" {i}"))
        times.append((time.perf_counter() - started) * 1000)
    return {"chunks": desk.store.count(), "p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95)}


def bench_answers(work: Path) -> dict:
    from rag.answer import Answerer
    from rag.desk import Desk

    desk = Desk(settings_for(work / "seeds-store"))
    desk.ingest([ROOT / "seeds"])
    answerer = Answerer(desk)
    answerer.ask(SEED_QUESTIONS[0])  # warm: model loaded, caches filled
    totals, first_token = [], []
    for question in SEED_QUESTIONS:
        started = time.perf_counter()
        seen: list[float] = []
        answerer.ask(question, on_token=lambda t: seen.append(time.perf_counter()) if not seen else None)
        totals.append((time.perf_counter() - started) * 1000)
        if seen:
            first_token.append((seen[0] - started) * 1000)
    return {"p50_ms": percentile(totals, 50), "p95_ms": percentile(totals, 95), "ttft_p50_ms": percentile(first_token, 50) if first_token else None}


def run_cli(args: list[str], data_dir: Path) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "BRIEF_DATA_DIR": str(data_dir)}
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "rag.cli", *args], env=env, capture_output=True, text=True, timeout=600)
    return time.perf_counter() - started, out


def bench_cold(work: Path) -> dict:
    store = work / "seeds-store"
    sources_s = min(run_cli(["sources"], store)[0] for _ in range(3))
    probe = subprocess.run([sys.executable, "-c", "import sys; from rag.cli import main; import io, contextlib\n"
                            "with contextlib.redirect_stdout(io.StringIO()): main(['sources'])\nprint('torch' in sys.modules)"],
                           env={**os.environ, "BRIEF_DATA_DIR": str(store)}, capture_output=True, text=True, timeout=120)
    ask_s, _ = run_cli(["ask", SEED_QUESTIONS[0], "--json"], store)
    return {"sources_s": sources_s, "sources_imports_torch": probe.stdout.strip().endswith("True"), "ask_cold_s": ask_s}


def bench_memory(store: Path) -> dict:
    """Peak RSS of `brief ui` serving the big store, after it has answered through the real page API."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "BRIEF_DATA_DIR": str(store)}
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "ui", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from gradio_client import Client

        deadline = time.monotonic() + 180
        client = None
        while time.monotonic() < deadline and client is None:
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            except Exception:
                time.sleep(1)
        answered = False
        if client is not None:
            for question in SEED_QUESTIONS[:3]:
                client.predict(question, [], "", "", [], api_name="/ask")
            answered = True
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
        return {"peak_rss_mb": peak_kb / 1024, "answered": answered}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


TARGETS = [
    ("ingest: ours vs naive chain (articles/s)", lambda r: r["ingest"]["speedup_vs_naive_articles"], ">= 2x", lambda v: v >= 2),
    ("ingest: ours / bare embedding time", lambda r: r["ingest"]["overhead_vs_bare_embedding"], "<= 1.25x", lambda v: v <= 1.25),
    ("warm retrieval p50 (ms)", lambda r: r["retrieval"]["p50_ms"], "< 20", lambda v: v < 20),
    ("warm answer p50 (ms)", lambda r: r["answers"]["p50_ms"], "< 2500", lambda v: v < 2500),
    ("`brief sources` cold (s)", lambda r: r["cold"]["sources_s"], "< 1.5", lambda v: v < 1.5),
    ("`brief ui` peak RSS with the big store (MB)", lambda r: r["memory"]["peak_rss_mb"], "< 1536", lambda v: v < 1536),
]


def table(results: dict) -> str:
    lines = [f"Measured {results['machine']['date']} on {results['machine']['cpus']} x {results['machine']['cpu']}, "
             f"{results['ingest']['articles']} articles ({results['ingest']['ours_chunks']} chunks ours, {results['ingest']['naive_chunks']} naive)", "",
             "| benchmark | target | measured | met |", "| --- | --- | --- | --- |"]
    for label, get, target, ok in TARGETS:
        value = get(results)
        lines.append(f"| {label} | {target} | {value:,.2f} | {'yes' if ok(value) else 'no'} |")
    i = results["ingest"]
    lines += ["", f"Ingest: ours {i['ours_s']:.1f}s ({i['ours_chunks_per_s']:.1f} chunks/s), naive {i['naive_s']:.1f}s ({i['naive_chunks_per_s']:.1f} chunks/s), "
              f"bare embedding of our chunks {i['bare_embed_s']:.1f}s. Retrieval p95 {results['retrieval']['p95_ms']:.1f} ms. "
              f"Answer p95 {results['answers']['p95_ms']:.0f} ms, first token p50 {results['answers']['ttft_p50_ms'] or 0:.0f} ms. "
              f"`brief ask` cold {results['cold']['ask_cold_s']:.1f}s; `brief sources` imports torch: {results['cold']['sources_imports_torch']}."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="200 articles: a smoke run")
    args = parser.parse_args(argv)
    n = 200 if args.quick else args.articles
    from bench.corpus import generate

    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="brief-bench-") as tmp:
        work = Path(tmp)
        generate(work / "corpus", n)
        results: dict = {"machine": machine()}
        print(f"ingesting {n} articles (ours, naive, bare embedding)...", file=sys.stderr)
        results["ingest"], big = bench_ingest(work / "corpus", work)
        print("retrieval...", file=sys.stderr)
        results["retrieval"] = bench_retrieval(big)
        print("answers...", file=sys.stderr)
        results["answers"] = bench_answers(work)
        print("cold start...", file=sys.stderr)
        results["cold"] = bench_cold(work)
        print("ui memory...", file=sys.stderr)
        results["memory"] = bench_memory(work / "ours")
    for key in ("ingest", "retrieval", "answers", "cold", "memory"):
        (RESULTS / f"{key}.json").write_text(json.dumps({"machine": results["machine"], **results[key]}, indent=2), encoding="utf-8")
    (RESULTS / "latest.md").write_text(table(results) + "\n", encoding="utf-8")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

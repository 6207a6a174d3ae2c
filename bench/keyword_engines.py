"""Why the keyword index is tantivy: SQLite FTS5 (bm25(), in Python's standard library) and tantivy on the
same benchmark chunks, at the sizes the store must reach.

`python -m bench.keyword_engines --chunks 21000 --chunks 200000`: both engines index the chunks of the
benchmark corpus (bench/corpus.py) with the same folding, stemming and stopwords, then answer the
benchmark's questions (top 24 by BM25, as retrieval asks). FTS5's bm25() scores every document that
matches any of the question's words, so its time grows with the corpus; tantivy's block-max WAND skips
the documents that cannot reach the top k.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import QUERIES, SEED_QUESTIONS
from eval.metrics import percentile

TOP_K = 24  # fetch_k: what retrieval asks of the keyword side
FTS5_TOKENIZER = "porter unicode61 remove_diacritics 2"


def corpus_chunks(folder: Path, n_chunks: int) -> list[tuple[str, str, str]]:
    """(chunk id, article, text) of the first ``n_chunks`` chunks of the benchmark corpus."""
    from bench.corpus import generate
    from rag.config.settings import Settings
    from rag.toolkit import chunk_text, clean_document

    size, overlap = (
        Settings.model_fields["chunk_size"].default,
        Settings.model_fields["chunk_overlap"].default,
    )
    chunks: list[tuple[str, str, str]] = []
    for article in generate(folder, n_chunks // 8 + 1):  # about ten chunks an article
        text = clean_document(article.read_text(encoding="utf-8")).text
        chunks += [(c.chunk_id, article.name, c.text) for c in chunk_text(text, article.name, size, overlap)]
        if len(chunks) >= n_chunks:
            break
    return chunks[:n_chunks]


def fts5_match(question: str) -> str | None:
    """The question's words, each quoted (no FTS syntax gets through), stopwords dropped, OR-ed."""
    from rag.toolkit import STOPWORDS, fold

    words = [w for w in dict.fromkeys(re.findall(r"\w+", fold(question))) if w not in STOPWORDS]
    return " OR ".join(f'"{w}"' for w in words) or None


def time_fts5(chunks, questions: list[str], folder: Path) -> dict:
    db = sqlite3.connect(folder / "fts5.sqlite3")
    db.execute(f"CREATE VIRTUAL TABLE fts USING fts5(text, chunk_id UNINDEXED, tokenize='{FTS5_TOKENIZER}')")
    started = time.perf_counter()
    with db:
        db.executemany(
            "INSERT INTO fts (chunk_id, text) VALUES (?, ?)", [(cid, text) for cid, _, text in chunks]
        )
    built = time.perf_counter() - started
    sql = "SELECT chunk_id, bm25(fts) FROM fts WHERE fts MATCH ? ORDER BY bm25(fts) LIMIT ?"
    return {
        "build_s": built,
        **timed(lambda q: db.execute(sql, (fts5_match(q), TOP_K)).fetchall(), questions),
    }


def time_tantivy(chunks, questions: list[str], folder: Path) -> dict:
    from rag.toolkit import KeywordIndex

    index = KeywordIndex(folder / "tantivy", writer_memory_mb=256, lock_timeout_s=10)
    by_article: dict[str, list[tuple[str, int, str]]] = {}
    for cid, article, text in chunks:
        by_article.setdefault(article, []).append((cid, 0, text))
    started = time.perf_counter()
    with index.writing():
        for article, rows in by_article.items():
            index.replace_source(article, rows, stamp=article)
        index.commit()
    built = time.perf_counter() - started
    index.reload()
    return {"build_s": built, **timed(lambda q: index.search(q, TOP_K), questions)}


def timed(search, questions: list[str]) -> dict:
    search(questions[0])  # warm
    times = []
    for question in questions:
        started = time.perf_counter()
        search(question)
        times.append((time.perf_counter() - started) * 1000)
    return {"query_p50_ms": percentile(times, 50), "query_p95_ms": percentile(times, 95)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--chunks", type=int, action="append", help="corpus sizes (repeatable; default 21000)"
    )
    parser.add_argument("--out", type=Path, help="JSON file for the results")
    args = parser.parse_args(argv)
    questions = QUERIES + SEED_QUESTIONS
    runs = []
    for size in args.chunks or [21_000]:
        with tempfile.TemporaryDirectory(prefix="brief-engines-") as tmp:
            chunks = corpus_chunks(Path(tmp) / "corpus", size)
            run = {"chunks": len(chunks), "questions": len(questions)}
            run["fts5"] = time_fts5(chunks, questions, Path(tmp))
            run["tantivy"] = time_tantivy(chunks, questions, Path(tmp))
        print(json.dumps(run), file=sys.stderr, flush=True)
        runs.append(run)
    text = json.dumps({"measured": time.strftime("%Y-%m-%d %H:%M"), "runs": runs}, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

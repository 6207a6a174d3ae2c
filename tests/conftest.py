"""Shared fixtures: every test gets its own data dir under tmp_path; no network, no hub."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No BRIEF_* from the developer's shell and no brief.toml from the working folder leak in."""
    for key in list(os.environ):
        if key.startswith("BRIEF_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("BRIEF_CONFIG", str(tmp_path / "no-brief.toml"))


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def seeds_dir_session() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def models_root(tmp_path_factory) -> Path:
    """One model folder per test session: the ONNX embedder is exported into it once, the GGUF assembled once."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def make_settings(tmp_path, models_root):
    """Settings with a temp data dir; defaults to the deterministic hash embedder and no LLM."""
    from rag.config.settings import load_settings

    def build(**overrides):
        base = {
            "data_dir": tmp_path / "data",
            "model_dir": models_root,
            "embedder": "hash",
            "llm_backend": "extractive",
            "span_scorer": "none",  # tests of the Gemma scorer ask for it
            "llm_sentence": "always",  # the scripted LLMs of the tests write; the real one is asked per test
        }
        base.update(overrides)
        return load_settings(**base)

    return build


@pytest.fixture
def fake_desk(make_settings):
    """A Desk over the hash embedder (fast, deterministic) with the seeds ingested; its refusal model
    is a fixed rule (fakes.RuleRefusal): the fitted one judges MiniLM's similarities, not the hash
    embedder's."""
    from fakes import RuleRefusal
    from rag.store.desk import Desk

    desk = Desk(make_settings())
    desk.refusal_model = RuleRefusal()
    desk.ingest([SEEDS])
    return desk


@pytest.fixture(scope="session")
def model_dir(models_root) -> Path:
    """The packaged GGUF is assembled once per test session and shared by the model tests."""
    from rag.models.llm import packaged_gguf_path

    packaged_gguf_path(models_root)
    return models_root


@pytest.fixture(scope="session")
def real_desk(tmp_path_factory, model_dir):
    """A Desk on the real packaged models (MiniLM + Gemma GGUF) with the seeds ingested; shared by
    the model tests of one session because loading them costs seconds."""
    from rag.config.settings import load_settings
    from rag.store.desk import Desk

    data = tmp_path_factory.mktemp("real-data")
    desk = Desk(load_settings(data_dir=data, model_dir=model_dir))
    desk.ingest([SEEDS])
    return desk


@pytest.fixture
def run_brief(monkeypatch, tmp_path, capsys):
    """`brief ARGS...` run in this process on a temp data dir with the hash embedder and no LLM:
    returns (exit code, stdout, stderr). Keyword arguments set BRIEF_* settings for this run on."""
    from types import SimpleNamespace

    from rag.commands.cli import main

    monkeypatch.setenv("BRIEF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BRIEF_EMBEDDER", "hash")
    monkeypatch.setenv("BRIEF_LLM_BACKEND", "extractive")

    def run(*argv: str, **settings) -> SimpleNamespace:
        for key, value in settings.items():
            monkeypatch.setenv(f"BRIEF_{key.upper()}", str(value))
        capsys.readouterr()
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return SimpleNamespace(code=code, out=out, err=err)

    return run


@pytest.fixture
def cli_env(monkeypatch, tmp_path, models_root):
    """`brief` as a user runs it, on the hash embedder and no LLM, in a temp data folder."""
    for key, value in {
        "BRIEF_DATA_DIR": tmp_path / "data",
        "BRIEF_MODEL_DIR": models_root,
        "BRIEF_EMBEDDER": "hash",
        "BRIEF_LLM_BACKEND": "extractive",
    }.items():
        monkeypatch.setenv(key, str(value))
    return tmp_path

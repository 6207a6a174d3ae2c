"""Presets: a named JSON file of settings, applied under everything the user sets explicitly."""

from __future__ import annotations

import json

import pytest

from rag.config.settings import Settings, default_settings, load_preset, load_settings, preset_names
from rag.errors import BriefError

FAST = {"retrieval_k": 4, "fetch_k": 12, "evidence_sentences": 3, "llm_max_tokens": 64, "span_scorer": "none"}


@pytest.fixture
def toml_file(tmp_path, monkeypatch):
    """Writes a brief.toml and points BRIEF_CONFIG at it."""

    def write(text: str):
        path = tmp_path / "brief.toml"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("BRIEF_CONFIG", str(path))
        return path

    return write


def test_fast_preset_file_holds_what_these_tests_expect():
    assert load_preset("fast") == FAST
    assert load_settings().retrieval_k == 6  # the default the preset changes


def test_preset_argument_applies_the_preset():
    settings = load_settings(preset="fast")
    assert {key: getattr(settings, key) for key in FAST} == FAST
    assert settings.preset == "fast"


def test_preset_in_brief_toml_applies_the_preset(toml_file):
    toml_file('preset = "fast"\n')
    assert load_settings().retrieval_k == 4


def test_preset_in_the_environment_applies_the_preset(monkeypatch):
    monkeypatch.setenv("BRIEF_PRESET", "fast")
    assert load_settings().fetch_k == 12


def test_explicit_arguments_win_over_the_preset():
    settings = load_settings(preset="fast", retrieval_k=9)
    assert settings.retrieval_k == 9 and settings.fetch_k == 12


def test_environment_wins_over_the_preset(monkeypatch):
    monkeypatch.setenv("BRIEF_RETRIEVAL_K", "7")
    settings = load_settings(preset="fast")
    assert settings.retrieval_k == 7 and settings.evidence_sentences == 3


def test_brief_toml_values_win_over_its_preset(toml_file):
    toml_file('preset = "fast"\nretrieval_k = 5\n')
    settings = load_settings()
    assert settings.retrieval_k == 5 and settings.llm_max_tokens == 64


def test_the_highest_source_names_the_preset(monkeypatch, toml_file):
    """An explicit preset replaces the environment's, which replaces brief.toml's (not merged)."""
    toml_file('preset = "server"\n')
    monkeypatch.setenv("BRIEF_PRESET", "extractive")
    assert load_settings().llm_backend == "extractive" and load_settings().retrieval_k == 6
    settings = load_settings(preset="fast")
    assert settings.retrieval_k == 4 and settings.llm_backend == auto_backend()  # not the env's preset


def auto_backend() -> str:
    from rag.config.settings import embedded_llm_installed

    return "llamacpp" if embedded_llm_installed() else "extractive"


def test_the_default_backend_is_the_embedded_gemma_only_when_it_is_installed(monkeypatch):
    import rag.config.settings as settings_module

    monkeypatch.setattr(settings_module, "EMBEDDED_LLM_MODULES", ("json",))
    assert load_settings().llm_backend == "llamacpp"
    monkeypatch.setattr(settings_module, "EMBEDDED_LLM_MODULES", ("json", "no_such_module_here"))
    assert load_settings().llm_backend == "extractive"
    assert load_settings(llm_backend="ollama").llm_backend == "ollama"  # an explicit choice stays


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(BriefError, match="unknown preset 'turbo'") as caught:
        load_settings(preset="turbo")
    assert "fast" in caught.value.fix and "extractive" in caught.value.fix


@pytest.mark.parametrize("name", ["extractive", "fast", "server"])
def test_every_shipped_preset_is_valid(name):
    assert name in preset_names()
    values = load_preset(name)
    settings = load_settings(preset=name)
    assert {key: json.loads(json.dumps(getattr(settings, key))) for key in values} == values


def test_default_settings_are_the_fields_defaults_whatever_the_environment(monkeypatch, toml_file):
    toml_file('preset = "fast"\nevidence_type_bonus = 0.5\n')
    monkeypatch.setenv("BRIEF_EVIDENCE_KEYWORD_WEIGHT", "0.9")
    loaded, defaults = load_settings(), default_settings()
    assert (loaded.evidence_type_bonus, loaded.evidence_keyword_weight, loaded.retrieval_k) == (0.5, 0.9, 4)
    assert defaults.evidence_type_bonus == Settings.model_fields["evidence_type_bonus"].default
    assert defaults.evidence_keyword_weight == Settings.model_fields["evidence_keyword_weight"].default
    assert defaults.retrieval_k == Settings.model_fields["retrieval_k"].default

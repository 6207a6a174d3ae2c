"""The chain with the real packaged models (MiniLM embeddings, Gemma 3 270M GGUF via llama.cpp)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag.questions.answer import Answerer

pytestmark = pytest.mark.model
AID_Q = "How much additional aid did Harris announce for the region?"


def test_real_chain_cites_the_aid_passage(real_desk):
    tokens: list[str] = []
    answerer = Answerer(real_desk)  # the embedded Gemma writes its sentence only when asked to
    answerer.settings = real_desk.settings.model_copy(update={"llm_sentence": "always"})
    answer = answerer.ask(AID_Q, on_token=tokens.append)
    assert answer.backend == "llamacpp:gemma-3-270m"
    assert not answer.refused
    assert any(c.source == "003_ab779828a3a3face.txt" and "$310 million" in c.quote for c in answer.citations)
    assert "310 million" in answer.short_answer and len(answer.short_answer.split()) <= 8
    assert answer.answer.startswith(answer.short_answer + " [1].")
    assert answer.short_answer in answer.citations[0].quote
    assert tokens and "".join(tokens).strip() == answer.draft


def test_by_default_the_embedded_model_writes_nothing_and_the_source_sentence_is_quoted(real_desk):
    tokens: list[str] = []
    answer = Answerer(real_desk).ask(AID_Q, on_token=tokens.append)
    assert real_desk.settings.llm_sentence == "auto" and tokens == [] and answer.answer_kind == "extractive"
    assert answer.answer.startswith(answer.short_answer + " [1].") and "310 million" in answer.short_answer


def test_real_chain_refuses_what_the_articles_do_not_say(real_desk):
    answer = Answerer(real_desk).ask("What did Canadian Prime Minister Justin Trudeau say about remittances?")
    assert answer.refused and answer.citations == []


def test_cli_ask_json_on_the_embedded_default(tmp_path, model_dir, seeds_dir):
    env = {
        **os.environ,
        "BRIEF_DATA_DIR": str(tmp_path / "data"),
        "BRIEF_MODEL_DIR": str(model_dir),
        "HF_HUB_OFFLINE": "1",
    }
    brief = [sys.executable, "-m", "rag.commands.cli"]
    subprocess.run(
        brief + ["ingest", str(seeds_dir), "--quiet"], env=env, check=True, capture_output=True, timeout=300
    )
    out = subprocess.run(
        brief + ["ask", AID_Q, "--json"], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["refused"] is False and "310 million" in answer["short_answer"]
    assert any(
        c["source"] == "003_ab779828a3a3face.txt" and "$310 million" in c["quote"]
        for c in answer["citations"]
    )

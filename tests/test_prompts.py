"""Every prompt file renders with its declared variables, and only with them."""

from __future__ import annotations

import pytest

from rag.models.prompts import PromptError, all_prompt_names, load_prompt

SAMPLE_VALUES = {
    "question": "Who met?",
    "evidence": ["A met B."],
    "history": ["Earlier question?"],
    "context": "Some context.",
    "contexts": ["Numbered context."],
}


@pytest.mark.parametrize("name", all_prompt_names())
def test_every_prompt_renders_its_declared_variables(name):
    prompt = load_prompt(name)
    assert prompt.variables, f"{name} declares no variables"
    values = {v: SAMPLE_VALUES.get(v, f"<{v}>") for v in prompt.variables}
    text = prompt.render(**values)
    for value in values.values():
        shown = value[0] if isinstance(value, list) else value
        assert shown in text


def test_missing_variable_fails_loudly():
    with pytest.raises(PromptError, match="missing variables \\['evidence'\\]"):
        load_prompt("answer").render(question="Who?")


def test_undeclared_variable_fails_loudly():
    with pytest.raises(PromptError, match="undeclared variables \\['extra'\\]"):
        load_prompt("answer").render(question="Who?", evidence=[], extra="x")


def test_evidence_is_numbered_from_one():
    text = load_prompt("answer").render(question="Q?", evidence=["first", "second"])
    assert "[1] first\n[2] second" in text
    assert text.rstrip().endswith("Answer:")


def test_unknown_prompt_is_an_error():
    with pytest.raises(PromptError, match="no prompt file"):
        load_prompt("does-not-exist")

"""The chat tab's handlers, called as Gradio calls them (no browser): one answers record per turn,
and each answer shows its own warning."""

from __future__ import annotations

import pytest

from fakes import FailingLLM, ScriptedLLM
from rag.errors import BackendTimeout

AID_Q = "How much additional aid did Harris announce for the region?"
OTHER_Q = "What will López Obrador present to Biden at their November meeting?"

gr = pytest.importorskip("gradio")


@pytest.fixture
def handlers(fake_desk):
    """The app's event handlers by function name, as registered with Gradio."""
    from ui.app import build_app

    app = build_app(fake_desk)
    return {block_fn.name: block_fn.fn for block_fn in app.fns.values()}


def final(outputs):
    """What the user sees once a streaming handler is done: its last yield."""
    *_, last = outputs
    return last


def ask(handlers, question, history, answers, since=""):
    return final(handlers["ask"](question, history, answers, since, "", []))


def select(handlers, answers, message_index):
    event = gr.SelectData(None, {"index": message_index, "value": "", "selected": True})
    return handlers["select_answer"](answers, event)


def test_an_error_turn_keeps_later_answers_with_their_own_sources(handlers):
    history, answers, first_panel, first_copy, _ = ask(handlers, AID_Q, [], [])
    history, answers, *_ = ask(handlers, AID_Q, history, answers, since="not a date")  # fails: bad --since
    assert "Error:" in history[-1]["content"]
    history, answers, third_panel, third_copy, _ = ask(handlers, OTHER_Q, history, answers)
    assert len(history) == 6 and len(answers) == 3  # one record per turn, the failed one included
    assert third_copy != first_copy

    assert select(handlers, answers, 1) == (first_panel, first_copy)
    error_panel, error_copy = select(handlers, answers, 3)
    assert "No sources for this answer" in error_panel and error_copy.startswith("Error:")
    assert select(handlers, answers, 5) == (third_panel, third_copy)


def test_an_internal_error_also_ends_its_turn_with_a_record(handlers, fake_desk):
    fake_desk.llm = FailingLLM(RuntimeError("boom"))
    history, answers, panel, copy, _ = ask(handlers, AID_Q, [], [])
    assert len(history) == 2 and len(answers) == 1
    assert "internal error: RuntimeError: boom" in history[-1]["content"] and "No sources" in panel


def test_the_answer_shows_its_own_warning(handlers, fake_desk):
    fake_desk.llm = FailingLLM(BackendTimeout("LLM server at http://x did not answer in time"), tokens_first=3)
    history, answers, *_ = ask(handlers, AID_Q, [], [])
    assert "bd-warning" in history[-1]["content"] and "did not answer in time" in history[-1]["content"]
    assert "$310 million" in history[-1]["content"]

    fake_desk.llm = ScriptedLLM("Harris recently announced US $310 million in additional aid for the region [1].")
    history, answers, *_ = ask(handlers, AID_Q, [], [])  # a new conversation: no condensing step to script
    assert "bd-warning" not in history[-1]["content"]

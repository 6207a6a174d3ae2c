"""The chat tab's handlers, called as Gradio calls them (no browser): one answers record per turn,
and each answer shows its own warning."""

from __future__ import annotations

import threading

import pytest

from fakes import FailingLLM, ScriptedLLM, ScriptedReader
from rag.errors import BackendTimeout

AID_Q = "How much additional aid did Harris announce for the region?"
OTHER_Q = "What will López Obrador present to Biden at their November meeting?"
# What the scripted reader finds, first matching key wins: a follow-up is condensed (with no LLM) to
# "<question> (<previous question>)", so the newer question's key comes first.
READS = {"present to biden": "November", "additional aid": "US $310 million"}
DESK, CONVERSATION = "default", "c-test"  # the desk control's value and the session's conversation

gr = pytest.importorskip("gradio")


@pytest.fixture
def reading_desk(fake_desk):
    fake_desk.reader = ScriptedReader(READS)
    return fake_desk


@pytest.fixture
def handlers(reading_desk):
    """The app's event handlers by function name, as registered with Gradio."""
    from ui.app import build_app

    app = build_app(reading_desk)
    return {block_fn.name: block_fn.fn for block_fn in app.fns.values()}


def final(outputs):
    """What the user sees once a streaming handler is done: its last yield."""
    *_, last = outputs
    return last


def ask(handlers, question, history, answers, since=""):
    return final(handlers["ask"](DESK, CONVERSATION, question, history, answers, since, "", []))


def select(handlers, answers, message_index):
    event = gr.SelectData(None, {"index": message_index, "value": "", "selected": True})
    return handlers["select_answer"](DESK, answers, event)


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


def test_an_internal_error_also_ends_its_turn_with_a_record(handlers, reading_desk):
    reading_desk.llm = FailingLLM(RuntimeError("boom"))
    history, answers, panel, copy, _ = ask(handlers, AID_Q, [], [])
    assert len(history) == 2 and len(answers) == 1
    assert "internal error: RuntimeError: boom" in history[-1]["content"] and "No sources" in panel


def test_the_answer_shows_its_own_warning(handlers, reading_desk):
    reading_desk.llm = FailingLLM(
        BackendTimeout("LLM server at http://x did not answer in time"), tokens_first=3
    )
    history, answers, *_ = ask(handlers, AID_Q, [], [])
    assert "bd-warning" in history[-1]["content"] and "did not answer in time" in history[-1]["content"]
    assert "$310 million" in history[-1]["content"]

    reading_desk.llm = ScriptedLLM(
        "Harris recently announced US $310 million in additional aid for the region [1]."
    )
    history, answers, *_ = ask(handlers, AID_Q, [], [])  # a new conversation: no condensing step to script
    assert "bd-warning" not in history[-1]["content"]


class GatedLLM:
    """Streams a clean answer for one question, but only after the gate opens; fails with a
    timeout for any other question. Lets two requests interleave in a chosen order."""

    name = "fake:gated"

    def __init__(self, clean_question: str):
        self.clean_question = clean_question
        self.started = threading.Event()
        self.gate = threading.Event()

    def warm_up(self) -> None:
        pass

    def stream(self, prompt: str, max_tokens: int, stop: list[str]):
        if self.clean_question not in prompt:
            yield "partial "
            raise BackendTimeout("LLM server at http://x did not answer in time")
        yield "Harris "
        self.started.set()
        assert self.gate.wait(timeout=30)
        yield from "recently announced US $310 million in additional aid for the region [1].".split(" ")


def test_concurrent_requests_on_one_app_keep_their_own_warnings(handlers, reading_desk):
    """The clean answer is generating while another request on the same app (one shared Answerer)
    times out."""
    reading_desk.llm = llm = GatedLLM(AID_Q)
    results: dict = {}

    def answer_of(question: str) -> None:
        history, *_ = ask(handlers, question, [], [])
        results[question] = history[-1]["content"]

    clean = threading.Thread(target=answer_of, args=(AID_Q,))
    clean.start()
    assert llm.started.wait(timeout=30)
    answer_of(OTHER_Q)  # times out while the clean answer is still being written
    llm.gate.set()
    clean.join(timeout=30)
    assert "did not answer in time" in results[OTHER_Q]
    assert "bd-warning" not in results[AID_Q] and "$310 million" in results[AID_Q]


def test_the_draft_streams_into_the_chat_before_the_verified_answer(handlers, reading_desk):
    reading_desk.llm = ScriptedLLM(
        "Harris recently announced US $310 million in additional aid for the region [1]."
    )
    shown = [
        history[-1]["content"]
        for history, *_ in handlers["ask"](DESK, CONVERSATION, AID_Q, [], [], "", "", [])
    ]
    drafts = [s for s in shown if "not yet verified" in s]
    assert (
        len(drafts) > 1
        and "Harris" in drafts[0]
        and "Harris recently announced US $310 million" in drafts[-1]
    )
    assert (
        "not yet verified" not in shown[-1]
        and '<strong class="bd-short">US $310 million</strong>' in shown[-1]
    )


def test_a_warning_is_escaped_and_shown_above_its_answer():
    from ui import render

    html = render.answer_html(
        "Aid rose [1].", refused=False, warning="server <b>down</b>; answered from the quoted evidence"
    )
    assert html.startswith('<div class="bd-warning">server &lt;b&gt;down&lt;/b&gt;') and "<b>" not in html
    assert 'class="bd-chip"' in html
    assert render.answer_html("x", refused=True, warning="late").count("bd-warning") == 1
    assert "bd-warning" not in render.answer_html("Aid rose [1].", refused=False)

"""The UI's desks and history in headless Chromium: switch desks, ask, create a desk, reopen a past
conversation with its citations. The models are the fakes of tests/fakes.py (hash embedder, scripted
reader, rule refusal, no LLM), so the test is about the UI and the desks, not about answer quality."""

from __future__ import annotations

import re

import pytest
from test_ui import ask, browser  # noqa: F401 - `browser` is a fixture used below

from fakes import RuleRefusal, ScriptedReader, free_port
from ui import render

CRANES = "Harbour report. The harbour authority of Valdora approved 42 new cranes for the east quay."
VIOLINS = "Orchestra notes. The Melvik orchestra hired 17 violinists for its winter season."
VIOLINS_Q = "How many violinists did the Melvik orchestra hire?"


@pytest.fixture(scope="module")
def desks_server(tmp_path_factory, models_root):
    """'default' holds the cranes article, 'music' the violins one."""
    from rag.config.settings import load_settings
    from rag.store.desk import Desk
    from ui.app import build_app

    root = tmp_path_factory.mktemp("ui-desks")
    for folder, name, text in (("a", "cranes.txt", CRANES), ("b", "violins.txt", VIOLINS)):
        (root / folder).mkdir()
        (root / folder / name).write_text(text, encoding="utf-8")
    settings = load_settings(
        data_dir=root / "data", model_dir=models_root, embedder="hash", llm_backend="extractive"
    )
    desk = Desk(settings)
    desk.reader, desk.refusal_model = ScriptedReader({"violinists": "17"}), RuleRefusal()
    desk.ingest([root / "a"])
    desk.sibling("music").ingest([root / "b"])
    port, app = free_port(), build_app(desk)
    app.queue(default_concurrency_limit=2)
    app.launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, css=render.CSS
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


def choose(page, dropdown: str, option) -> None:
    page.click(f"{dropdown} input")
    page.get_by_role("option", name=option).click()


def wait_for_text(page, selector: str, text: str) -> None:
    page.wait_for_function(
        "([s, t]) => document.querySelector(s) && document.querySelector(s).innerText.includes(t)",
        arg=[selector, text],
        timeout=60_000,
    )


@pytest.mark.browser
def test_switch_desks_ask_create_and_reopen_a_past_conversation(browser, desks_server):  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(desks_server, wait_until="domcontentloaded")  # never networkidle: Gradio keeps a heartbeat
    page.wait_for_selector("#bd-question textarea", timeout=60_000)
    try:
        wait_for_text(page, "#bd-desk-status", "Desk default: 1 article")
        ask(page, VIOLINS_Q)  # the answer is on the other desk
        assert "do not say" in page.inner_text("#bd-chat")

        choose(page, "#bd-desk", "music")
        wait_for_text(page, "#bd-desk-status", "Desk music: 1 article")
        assert "do not say" not in page.inner_text("#bd-chat")  # a new conversation on the new desk
        ask(page, VIOLINS_Q)
        assert "17" in page.inner_text("#bd-chat")
        assert "violins.txt" in page.inner_text("#bd-sources")

        page.fill("#bd-new-desk textarea", "Elections-2024")
        page.click("#bd-create-desk")
        wait_for_text(page, "#bd-desk-status", "Desk elections-2024: 0 articles")
        assert page.input_value("#bd-desk input") == "elections-2024"
        page.wait_for_function(  # choosing the new desk started a new conversation on it
            "!document.querySelector('#bd-chat').innerText.includes('violinists')", timeout=60_000
        )

        choose(page, "#bd-desk", "music")
        wait_for_text(page, "#bd-desk-status", "Desk music")
        choose(page, "#bd-past", re.compile(r"^How many violinists"))
        wait_for_text(page, "#bd-chat", "17")
        page.wait_for_selector("#bd-sources mark", timeout=60_000)
        marks = page.locator("#bd-sources mark").all_inner_texts()
        assert any("hired 17 violinists" in m for m in marks)
        assert "[1] violins.txt" in page.input_value("#bd-copy textarea")
    finally:
        page.close()

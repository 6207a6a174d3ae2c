"""The chat UI: render helpers (escaping, chips, highlighting) and end-to-end in headless Chromium."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from fakes import free_port
from rag.errors import BriefError
from ui import render
from ui.app import safe_upload_name

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
AID_Q = "How much additional aid did Harris announce for the region?"
PAYLOAD = "Border memo. <script>window.__pwned=1;document.title='PWNED'</script> <img src=x onerror=\"window.__pwned=2\"> The caravan memo lists 4,321 volunteers at the Tapachula shelter."


# --- render helpers --------------------------------------------------------------------------------
def test_answer_html_escapes_and_turns_markers_into_chips():
    html = render.answer_html('Aid <b>rose</b> "a lot" [1][2].', refused=False)
    assert "<b>" not in html and "&lt;b&gt;rose&lt;/b&gt;" in html
    assert html.count('class="bd-chip"') == 2 and 'href="#bd-src-2"' in html


def test_a_withheld_short_answer_shows_the_note_and_nothing_in_bold():
    html = render.answer_html(
        "\u201cHarris announced US $310 million.\u201d [1].", refused=False, withheld_note="No short <answer>"
    )
    assert '<div class="bd-withheld">No short &lt;answer&gt;</div>' in html and "bd-short" not in html


def test_short_answer_is_shown_first_in_bold_and_escaped():
    html = render.answer_html(
        "<i>US</i> $310 million [1]. \u201cHarris announced <i>US</i> $310 million.\u201d [1].",
        refused=False,
        short_answer="<i>US</i> $310 million",
    )
    assert html.startswith(
        '<strong class="bd-short">&lt;i&gt;US&lt;/i&gt; $310 million</strong> <a class="bd-chip"'
    )
    assert "<i>" not in html


def test_refused_answer_has_its_own_state():
    assert "do not say" in render.answer_html("whatever", refused=True)


def test_refused_answer_lists_closest_passages_escaped_under_a_not_an_answer_heading():
    closest = [{"n": 1, "source": "a.txt", "date": None, "quote": "Aid <b>rose</b>", "start": 0, "end": 15}]
    html = render.answer_html("The articles do not say.", refused=True, closest=closest)
    assert "not an answer" in html and "Aid &lt;b&gt;rose&lt;/b&gt;" in html and "<b>rose" not in html
    assert 'href="#bd-src-1"' in html and "undated" in html
    text = render.copy_text({"answer": "The articles do not say.", "citations": [], "closest": closest})
    assert "not an answer" in text and '[1] a.txt (undated): "Aid <b>rose</b>"' in text


def test_highlight_marks_exactly_the_quote_and_escapes_the_rest():
    text = "Intro <i>x</i>. Harris announced $310 million. After."
    start = text.index("Harris")
    end = text.index(" After")
    html = render.highlighted_passage(text, start, end, context=100)
    assert "<mark>Harris announced $310 million.</mark>" in html
    assert "&lt;i&gt;x&lt;/i&gt;" in html


def test_copy_text_lists_references():
    text = render.copy_text(
        {"answer": "A [1].", "citations": [{"n": 1, "source": "s.txt", "date": None, "quote": "q"}]}
    )
    assert text == 'A [1].\n\n[1] s.txt (undated): "q"'


@pytest.mark.parametrize(
    "name, expected",
    [("../../etc/passwd", "passwd"), ("C:\\temp\\a b.txt", "a b.txt"), ("x<script>.md", "x_script_.md")],
)
def test_upload_names_cannot_escape_the_uploads_folder(name, expected):
    assert safe_upload_name(name) == expected


def test_upload_name_that_becomes_empty_is_refused():
    with pytest.raises(BriefError):
        safe_upload_name("../..")


# --- in the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ui_desk(real_desk, tmp_path_factory, seeds_dir_session):
    """Its own store (uploads must not leak into other tests), sharing the loaded models."""
    from rag.store.desk import Desk

    desk = Desk(real_desk.settings.model_copy(update={"data_dir": tmp_path_factory.mktemp("ui-data")}))
    desk.embedder, desk.llm = real_desk.embedder, real_desk.llm
    desk.ingest([seeds_dir_session])
    return desk


@pytest.fixture(scope="module")
def server(ui_desk):
    from ui.app import build_app

    port = free_port()
    app = build_app(ui_desk)
    app.queue(default_concurrency_limit=2)
    app.launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, css=render.CSS
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (`make browser` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server, wait_until="domcontentloaded")  # never networkidle: Gradio keeps a heartbeat open
    page.wait_for_selector("#bd-question textarea", timeout=60_000)
    yield page
    page.close()


def ask(page, question: str) -> None:
    page.fill("#bd-question textarea", question)
    page.click("#bd-ask")
    page.wait_for_function(
        "document.querySelector('#bd-sources') && (document.querySelector('#bd-sources mark') || document.querySelector('#bd-chat').innerText.includes('do not say'))",
        timeout=120_000,
    )


@pytest.mark.browser
@pytest.mark.model
def test_ask_shows_cited_answer_and_highlighted_source(page, tmp_path):
    ask(page, AID_Q)
    assert "310 million" in page.inner_text("#bd-chat")
    assert page.locator("#bd-chat .bd-chip").count() >= 1
    marks = page.locator("#bd-sources mark").all_inner_texts()
    assert any("$310 million" in m for m in marks)
    assert "003_ab779828a3a3face.txt" in page.inner_text("#bd-sources")
    assert "[1] 003_ab779828a3a3face.txt" in page.input_value("#bd-copy textarea")
    shot = tmp_path / "screenshot-chat.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("BRIEF_UPDATE_SCREENSHOT"):  # refreshes the README's picture
        shutil.copyfile(shot, Path(__file__).resolve().parents[1] / "docs" / "screenshot-chat.png")


@pytest.mark.browser
@pytest.mark.model
def test_a_refused_question_shows_its_closest_passages_in_the_browser(page):
    ask(page, "What colour is the moon's ocean according to the treaty annex?")
    chat = page.inner_text("#bd-chat")
    assert "do not say" in chat and "not an answer" in chat
    assert page.locator("#bd-chat .bd-closest-list li").count() >= 1
    assert "not an answer" in page.inner_text("#bd-sources")
    assert page.locator("#bd-sources mark").count() >= 1  # each closest passage highlighted in its article


@pytest.mark.browser
@pytest.mark.model
def test_uploaded_document_with_script_renders_as_text_and_can_be_asked_about(page, tmp_path):
    doc = tmp_path / "memo <script>.txt"
    doc.write_text(PAYLOAD, encoding="utf-8")
    page.get_by_role("tab", name="Library").click()
    page.set_input_files("#bd-upload input[type=file]", str(doc))
    page.wait_for_function(
        "document.querySelector('#bd-upload-status textarea').value.includes('new chunks')", timeout=120_000
    )
    page.get_by_role("tab", name="Chat").click()
    ask(page, "How many volunteers does the caravan memo list at the Tapachula shelter?")
    assert "4,321" in page.inner_text("#bd-chat")
    sources = page.inner_text("#bd-sources")
    assert "<script>" in sources or "onerror" in sources or "4,321 volunteers" in sources
    assert page.evaluate("window.__pwned") is None and page.title() != "PWNED"
    assert page.locator("#bd-sources script, #bd-sources img").count() == 0


@pytest.mark.browser
@pytest.mark.model
def test_generate_a_briefing_in_the_browser(page):
    page.get_by_role("tab", name="Briefing").click()
    page.click("#bd-brief")
    # the briefing asks the embedded LLM for the lines a trim cannot make standalone (a few calls, capped)
    page.wait_for_function(
        "document.querySelector('#bd-briefing') && document.querySelector('#bd-briefing').innerText.includes('Timeline')",
        timeout=300_000,
    )
    text = page.inner_text("#bd-briefing")
    assert "Briefing: all sources" in text and "Who's who" in text and "003_ab779828a3a3face.txt" in text
    links = page.locator("#bd-briefing-files a[download]")
    links.nth(2).wait_for()
    assert [links.nth(i).get_attribute("download") for i in range(3)] == [
        "briefing.md",
        "briefing.html",
        "briefing.json",
    ]


@pytest.mark.browser
@pytest.mark.model
def test_set_a_sources_date_in_the_library_tab(page, ui_desk):
    source = "000_df1640d7f614f3c2.txt"  # dated in its text; not a source the other browser tests cite
    stated = next(r.date for r in ui_desk.sources() if r.source == source)
    page.get_by_role("tab", name="Library").click()
    page.fill("#bd-date-source input", source)
    page.get_by_role("option", name=source).click()
    # choosing a source shows its current date, ready to correct (wait, or it would overwrite ours)
    page.wait_for_function(
        f"document.querySelector('#bd-date textarea').value === '{stated}'", timeout=30_000
    )
    page.fill("#bd-date textarea", "2001-02-03")
    page.click("#bd-set-date")
    page.wait_for_function(
        "document.querySelector('#bd-upload-status textarea').value.includes('is now dated')", timeout=60_000
    )
    assert page.input_value("#bd-upload-status textarea") == f"{source} is now dated 2001-02-03."
    page.wait_for_function(
        "document.querySelector('#bd-library').innerText.includes('2001-02-03')", timeout=30_000
    )
    assert ui_desk.store.get_source(source).date == "2001-02-03"


def test_markdown_safe_neutralises_html():
    assert (
        render.markdown_safe("- point <img src=x onerror=alert(1)> [1]")
        == "- point &lt;img src=x onerror=alert(1)&gt; [1]"
    )

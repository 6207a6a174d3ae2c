"""`summarize --changes-since`: on a small corpus whose right diff is known, from a date and from a
saved briefing; in the JSON, Markdown and HTML outputs and the CLI."""

from __future__ import annotations

import json
import re

import pytest

from rag.briefings.briefing_changes import changes_reference, summarize_changes
from rag.briefings.summarize import Summarizer
from rag.errors import BriefError
from rag.questions.retrieve import Scope
from rag.store.desk import Desk

# Before 2024-02-01: 120 families evacuated; the Water Agency inspects; the governor will visit.
# From 2024-02-01: 450 families evacuated; the governor visited; Mayor Tom Harris appears; the
# first article's opening sentence is repeated (so it is not new).
EARLIER = {
    "a1.txt": (
        "2024-01-10",
        "Heavy rain flooded the river valley on Monday, officials said.\n"
        "The regional government said 120 families were evacuated from their homes.\n"
        "Governor Maria Lopez will visit the flooded towns next week.\n"
        "Engineers from the Water Agency inspected the old dam above the valley.",
    ),
    "a2.txt": (
        "2024-01-12",
        "Rescue crews worked through the night across the flooded valley.\n"
        "Volunteers opened two shelters for the evacuated families in the school.",
    ),
}
LATER = {
    "b1.txt": (
        "2024-02-02",
        "Governor Maria Lopez visited the flooded towns on Thursday and met the families.\n"
        "The regional government said 450 families were evacuated from their homes.\n"
        "Mayor Tom Harris announced a reconstruction fund for the damaged bridges.",
    ),
    "b2.txt": (
        "2024-02-05",
        "Heavy rain flooded the river valley on Monday, officials said.\n"
        "Farmers began clearing mud from their fields on Sunday after the water receded.",
    ),
}


def write(folder, articles: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (day, text) in articles.items():
        (folder / name).write_text(f"---\ndate: {day}\ntitle: {name[:-4]}\n---\n{text}\n", encoding="utf-8")


@pytest.fixture
def flood_desk(make_settings, tmp_path):
    from fakes import RuleRefusal

    desk = Desk(make_settings(changes_answer_similarity=0.5, summary_rewrite=False))
    desk.refusal_model = RuleRefusal()
    write(tmp_path / "docs", {**EARLIER, **LATER})
    desk.ingest([tmp_path / "docs"])
    return desk


def cited_sources(entries: list[dict]) -> set[str]:
    return {c["source"] for e in entries for c in e["citations"]}


def check_changes(briefing, desk, against_saved: bool) -> dict:
    data = briefing.to_json()
    changes = data["changes"]
    figures = {f["what"]: (f["old"]["figure"], f["new"]["figure"]) for f in changes["changed_figures"]}
    assert figures == {"families": ("120", "450")}
    old_cited = {c["source"] for f in changes["changed_figures"] for c in f["old"]["citations"]}
    assert old_cited == {"a1.txt"} and cited_sources([f["new"] for f in changes["changed_figures"]]) == {
        "b1.txt"
    }
    assert [a["name"] for a in changes["actors_new"]] == ["Tom Harris"]
    assert [a["name"] for a in changes["actors_gone"]] == ["Water Agency"]
    assert cited_sources(changes["actors_gone"]) == {"a1.txt"}
    answered = changes["questions_answered"]
    assert len(answered) == 1 and "visit" in answered[0]["question"]
    assert "visited the flooded towns" in answered[0]["answer"]["text"]
    repeated = "Heavy rain flooded the river valley on Monday, officials said."
    assert changes["new_points"] and all(repeated not in p["text"] for p in changes["new_points"])
    # every [n] of the page has its citation, and every quote is exact
    texts = {r.source: r.text for r in desk.store.list_sources(with_text=True)}
    numbers = {c.n for c in briefing.citations}
    assert {int(n) for n in re.findall(r"\[(\d+)\]", briefing.to_markdown())} == numbers
    for c in briefing.citations:
        assert texts[c.source][c.start : c.end] == c.quote
    return changes


def test_changes_since_a_date(flood_desk):
    briefing = summarize_changes(Summarizer(flood_desk), "2024-02-01")
    changes = check_changes(briefing, flood_desk, against_saved=False)
    assert changes["since"] == "2024-02-01"
    later = {"b1.txt", "b2.txt"}
    # what is new, and the timeline since, come only from articles on or after the date
    assert cited_sources(changes["new_points"]) <= later and cited_sources(changes["timeline"]) <= later
    assert changes["timeline"] and all(t["date"] >= "2024-02-01" for t in changes["timeline"])
    assert {s["source"] for s in briefing.to_json()["sources"]} >= later
    markdown, page = briefing.to_markdown(), briefing.to_html()
    for text in ("What changed since 2024-02-01", "Figures that changed", "Tom Harris", "Water Agency"):
        assert text in markdown and text in page
    assert "120" in markdown.split("Figures that changed")[1].split("###")[0]


@pytest.mark.parametrize("lists_what_it_read", [True, False])  # False: a file from before "read" existed
def test_changes_since_a_saved_briefing(flood_desk, tmp_path, lists_what_it_read):
    saved = tmp_path / "earlier.json"
    old = Summarizer(flood_desk).summarize(scope=Scope(until="2024-01-31")).to_json()
    if not lists_what_it_read:
        old.pop("read")
    saved.write_text(json.dumps(old), encoding="utf-8")
    briefing = summarize_changes(Summarizer(flood_desk), str(saved))
    changes = check_changes(briefing, flood_desk, against_saved=True)
    assert changes["since"] is None and "earlier.json" in changes["earlier"]
    assert cited_sources(changes["new_points"]) <= {"b1.txt", "b2.txt"}  # the articles it did not read
    assert "What changed since the briefing in earlier.json" in briefing.to_markdown()


def test_nothing_before_the_date_means_everything_is_new(flood_desk):
    changes = summarize_changes(Summarizer(flood_desk), "2024-01-01").to_json()["changes"]
    assert not changes["changed_figures"] and not changes["actors_gone"] and not changes["questions_answered"]
    assert changes["new_points"]


@pytest.mark.parametrize(
    "value, message",
    [("2024-13-40", "not a date"), ("no-such-briefing.json", "neither a date nor a readable briefing")],
)
def test_bad_reference_is_one_clear_error(flood_desk, value, message):
    with pytest.raises(BriefError, match=message):
        summarize_changes(Summarizer(flood_desk), value)


def test_no_article_after_the_date(flood_desk):
    with pytest.raises(BriefError, match="no ingested article"):
        summarize_changes(Summarizer(flood_desk), "2030-01-01")


def test_form_takes_a_date_or_a_file_not_both():
    assert changes_reference(" 2024-02-01 ", None) == "2024-02-01"
    assert changes_reference("", "/tmp/b.json") == "/tmp/b.json"
    assert changes_reference(None, None) is None
    with pytest.raises(BriefError, match="not both"):
        changes_reference("2024-02-01", "/tmp/b.json")


def test_cli_changes_since(flood_desk, capsys, monkeypatch, tmp_path):
    from rag.commands import cli

    monkeypatch.setattr(cli, "make_desk", lambda settings: flood_desk, raising=False)
    monkeypatch.setattr("rag.store.desks.open_desk", lambda settings, *a, **k: flood_desk, raising=False)
    out = tmp_path / "changes.html"
    code = cli.main(["summarize", "--changes-since", "2024-02-01", "--json", "--out", str(out)])
    assert code == 0
    data = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert data["changes"]["actors_new"][0]["name"] == "Tom Harris"
    assert "What changed since 2024-02-01" in out.read_text(encoding="utf-8")
    assert cli.main(["summarize", "--changes-since", "someday"]) == cli.EXIT_USAGE


def test_briefing_tab_passes_the_date_or_the_file_through(flood_desk, tmp_path):
    from ui.app import BriefingDeskUI

    ui = BriefingDeskUI(flood_desk)
    ui.pool.get = lambda name: flood_desk  # the desk control is another test's concern
    quiet = lambda *a, **k: None  # noqa: E731
    markdown, files = ui.brief(None, "", "", "", [], "2024-02-01", None, progress=quiet)
    assert "What changed since 2024-02-01" in markdown and len(files) == 3
    saved = tmp_path / "old.json"
    saved.write_text(
        json.dumps(Summarizer(flood_desk).summarize(scope=Scope(until="2024-01-31")).to_json()),
        encoding="utf-8",
    )
    markdown, _ = ui.brief(None, "", "", "", [], "", str(saved), progress=quiet)
    assert "What changed since the briefing in old.json" in markdown
    markdown, files = ui.brief(None, "", "", "", [], "2024-02-01", str(saved), progress=quiet)
    assert "not both" in markdown and files is None


@pytest.mark.browser
def test_what_changed_in_the_browser(flood_desk):
    """The briefing tab's date box, end to end in headless Chromium (hash embedder: no model loads)."""
    from pathlib import Path

    from fakes import free_port
    from ui import render
    from ui.app import build_app

    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("Debian chromium is not installed (`make browser` installs it)")
    from playwright.sync_api import sync_playwright

    port = free_port()
    app = build_app(flood_desk)
    app.queue(default_concurrency_limit=2)
    app.launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, css=render.CSS
    )
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=args)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
            page.get_by_role("tab", name="Briefing").click(
                timeout=90_000
            )  # a busy machine loads Gradio slowly
            page.fill("#bd-changes-since textarea", "2024-02-01")
            page.click("#bd-brief")
            page.wait_for_function(
                "document.querySelector('#bd-briefing') && document.querySelector('#bd-briefing').innerText.includes('Figures that changed')",
                timeout=120_000,
            )
            text = page.inner_text("#bd-briefing")
            browser.close()
    finally:
        app.close()
    assert "What changed since 2024-02-01" in text and "Tom Harris" in text and "Water Agency" in text

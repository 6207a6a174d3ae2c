"""`brief ingest URL`: pages and PDFs fetched from a local server on 127.0.0.1 and ingested as files of
their kind are; every way a link can fail gives a short reason, a non-zero exit, and a store unchanged."""

from __future__ import annotations

import json
import time

import pytest

from fakes import PageServer, article_page, free_port
from vectorstore.fetch import source_name

HARBOUR = "/news/2024/harbour-lock.html"


@pytest.fixture
def pages():
    with PageServer() as server:
        server.page(HARBOUR, article_page("Canal lock opens to larger barges", 7, "2024-03-05"))
        yield server


def sources(run_brief) -> list[dict]:
    result = run_brief("sources", "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def tiny_pdf(text: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


PDF_TEXT = (
    "The regional council approved the new ferry timetable on Tuesday. "
    "Crossings to the northern island will run every forty minutes from May."
)


# --- pages that work -------------------------------------------------------------------------------
def test_article_page_is_ingested_with_title_date_and_url(run_brief, pages):
    result = run_brief("ingest", pages.url(HARBOUR))
    assert result.code == 0, result.err
    assert "1 new" in result.out
    [row] = sources(run_brief)
    assert row["title"] == "Canal lock opens to larger barges"
    assert row["date"] == "2024-03-05"
    assert row["url"] == pages.url(HARBOUR)
    assert row["source"] == source_name(pages.url(HARBOUR))
    assert row["source"].endswith("_news_2024_harbour-lock.html") and row["chunks"] >= 1


def test_the_same_link_again_is_skipped_as_unchanged_and_a_changed_page_is_updated(run_brief, pages):
    assert run_brief("ingest", pages.url(HARBOUR)).code == 0
    again = run_brief("ingest", pages.url(HARBOUR))
    assert again.code == 0 and "0 new chunks" in again.out and "1 unchanged" in again.out
    pages.page(HARBOUR, article_page("Canal lock opens to larger barges", 9, "2024-03-05"))
    changed = run_brief("ingest", pages.url(HARBOUR))
    assert changed.code == 0 and "1 updated" in changed.out
    assert len(sources(run_brief)) == 1


def test_a_path_that_does_not_exist_fails_the_command_after_the_others_are_ingested(run_brief, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("Ferry fares rise by four percent from June, the operator said on Monday.\n")
    result = run_brief("ingest", note, tmp_path / "notes-typo")
    assert result.code == 2 and "no such file or folder" in result.err
    assert [r["source"] for r in sources(run_brief)] == ["note.txt"]


def test_links_and_paths_mix_in_one_command(run_brief, pages, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("Ferry fares rise by four percent from June, the operator said on Monday.\n")
    result = run_brief("ingest", pages.url(HARBOUR), note)
    assert result.code == 0, result.err
    rows = {r["source"]: r for r in sources(run_brief)}
    assert rows["note.txt"]["url"] is None
    assert rows[source_name(pages.url(HARBOUR))]["url"] == pages.url(HARBOUR)


@pytest.mark.parametrize("content_type", ["application/pdf", "application/octet-stream"])
def test_pdf_link_is_ingested_as_the_pdf_file_would_be(run_brief, pages, tmp_path, content_type):
    """By its content type, or by its %PDF magic bytes when the server does not say."""
    data = tiny_pdf(PDF_TEXT)
    pages.page("/docs/timetable", data, content_type=content_type)
    (tmp_path / "timetable.pdf").write_bytes(data)
    assert run_brief("ingest", pages.url("/docs/timetable")).code == 0
    assert run_brief("ingest", tmp_path / "timetable.pdf").code == 0
    from rag.config.settings import load_settings
    from rag.store.desk import Desk

    desk = Desk(load_settings())
    fetched, filed = desk.store.get_sources([source_name(pages.url("/docs/timetable")), "timetable.pdf"])
    assert "ferry timetable" in fetched.text and fetched.text == filed.text
    assert (fetched.title, fetched.date, fetched.n_chunks) == (filed.title, filed.date, filed.n_chunks)


# --- links that fail -------------------------------------------------------------------------------
def slow(handler):
    time.sleep(2)  # past the 0.3 s timeout the test sets
    handler.send_response(200)
    handler.end_headers()


def redirect_to_itself(handler):
    handler.send_response(302)
    handler.send_header("Location", handler.path)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


FAILURES = {
    # name: (link path or full URL, a word the reason must hold)
    "dead link": (None, "cannot connect"),
    "404": ("/gone", "not found (HTTP 404)"),
    "503": ("/broken", "server error (HTTP 503)"),
    "timeout": ("/slow", "timed out"),
    "redirect loop": ("/loop", "redirects"),
    "image": ("/photo.png", "not a web page or PDF"),
    "JSON": ("/data.json", "not a web page or PDF"),
    "malformed (space)": ("http://exa mple.com/story", "malformed URL"),
    "malformed (no host)": ("http:///story", "malformed URL"),
    "malformed (port)": ("http://127.0.0.1:port/story", "malformed URL"),
    "unsupported scheme": ("ftp://127.0.0.1/story.html", "unsupported link scheme"),
    "over the size limit": ("/huge.html", "too large"),
}


def serve_failures(pages: PageServer) -> None:
    pages.page("/broken", "down for maintenance", "text/plain", status=503)
    pages.routes["/slow"] = slow
    pages.routes["/loop"] = redirect_to_itself
    pages.page("/photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")
    pages.page("/data.json", '{"a": 1}', "application/json")
    pages.page("/huge.html", "<html><body>" + "<p>word</p>" * 200_000 + "</body></html>")


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_a_failing_link_gets_a_short_reason_a_nonzero_exit_and_loses_nothing(run_brief, pages, name):
    serve_failures(pages)
    link, reason = FAILURES[name]
    url = f"http://127.0.0.1:{free_port()}/story" if link is None else link
    url = pages.url(url) if url.startswith("/") else url
    assert run_brief("ingest", pages.url(HARBOUR)).code == 0
    before = sources(run_brief)
    result = run_brief("ingest", url, fetch_timeout_s=0.3, fetch_max_mb=1)
    assert result.code != 0
    lines = (result.out + result.err).strip().splitlines()
    assert len(lines) <= 3 and "Traceback" not in result.err, lines
    assert reason in result.err and url in result.err
    assert sources(run_brief) == before


def test_a_body_over_the_size_limit_is_not_read_whole(run_brief, pages):
    """No Content-Length to refuse it by: the download stops once it passes the limit."""
    sent = []

    def endless(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.end_headers()
        try:
            for _ in range(800):  # 50 MB in 64 KB parts, unless the client hangs up first
                handler.wfile.write(b"<p>" + b"x" * 65_530 + b"</p>")
                sent.append(1)
        except OSError:
            pass

    pages.routes["/stream"] = endless
    result = run_brief("ingest", pages.url("/stream"), fetch_max_mb=1)
    assert result.code != 0 and "too large (over 1 MB" in result.err
    time.sleep(0.2)  # let the server's thread notice the closed connection
    assert len(sent) < 800


def test_a_good_link_is_ingested_when_another_fails(run_brief, pages):
    result = run_brief("ingest", pages.url("/gone"), pages.url(HARBOUR))
    assert result.code != 0 and "not found" in result.err
    assert [r["url"] for r in sources(run_brief)] == [pages.url(HARBOUR)]


def test_ingest_json_report_names_the_failed_link(run_brief, pages):
    result = run_brief("ingest", "--json", pages.url("/gone"))
    assert result.code != 0
    report = json.loads(result.out)
    assert report["skipped"] == [
        {"path": pages.url("/gone"), "reason": "not found (HTTP 404) (check the link, or try again later)"}
    ]


# --- names, escaping, UI ---------------------------------------------------------------------------
def test_source_names_are_stable_readable_and_bounded():
    assert source_name("https://www.example.org/world/2024/03/story.html") == (
        "www.example.org_world_2024_03_story.html"
    )
    assert source_name("https://example.org/a?id=3&x=<y>") == "example.org_a_id_3_x_y"
    assert source_name("https://example.org/a?id=3") != source_name("https://example.org/a?id=4")
    long = "https://example.org/" + "section/" * 40 + "story"
    assert len(source_name(long)) == 120 and source_name(long) == source_name(long)
    assert source_name(long) != source_name(long + "2")


def test_fetched_markup_is_shown_escaped_in_source_cards(run_brief, pages):
    from rag.config.settings import load_settings
    from rag.store.desk import Desk
    from ui.render import source_card

    hostile = article_page("Lock <script>alert(1)</script> opens", 3, "2024-03-05")
    pages.page(
        "/hostile.html", hostile.replace("<p>The river", "<p>&lt;img src=x onerror=alert(2)&gt; The river")
    )
    assert run_brief("ingest", pages.url("/hostile.html")).code == 0
    record = Desk(load_settings()).store.get_source(source_name(pages.url("/hostile.html")))
    at = record.text.index("The river")
    card = source_card(
        {
            "n": 1,
            "source": record.source,
            "title": record.title,
            "date": record.date,
            "start": at,
            "end": at + 9,
        },
        record,
    )
    assert "<script>" not in card and "<img" not in card
    assert "&lt;script&gt;" in card and "&lt;img" in card


def test_the_library_tab_fetches_a_link_through_the_core_service(make_settings, pages):
    """The UI's link box: the page lands in the desk's library, and a bad link says why."""
    from rag.store.desk import Desk
    from ui.app import BriefingDeskUI

    ui = BriefingDeskUI(Desk(make_settings()))
    status, table, *_ = ui.add_link("default", "  " + pages.url(HARBOUR) + " ")
    assert status.startswith("✓") and "1 new" in status
    assert [row[1] for row in table] == ["Canal lock opens to larger barges"]
    status, table_after, *_ = ui.add_link("default", pages.url("/gone"))
    assert "✗" in status and "not found (HTTP 404)" in status and table_after == table

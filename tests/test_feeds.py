"""`brief feed add|list|update|remove`: RSS and Atom feeds served from a local server on 127.0.0.1; new
entries only, idempotent, with their dates and titles; bad feeds refused in a line, nothing lost."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape

import pytest

from fakes import PageServer, article_page
from vectorstore.fetch import source_name

FEED = "/feeds/canals.xml"


def entry_date(i: int) -> str:
    return f"2024-02-{i:02d}"


def rss(entries: list[tuple[str, str, str]], title: str = "Canal News") -> str:
    """An RSS 2.0 feed of (title, link, YYYY-MM-DD) entries, the guid being the link."""
    items = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link><guid>{escape(link)}</guid>"
        f"<pubDate>{format_datetime(datetime.fromisoformat(d).replace(hour=9, tzinfo=UTC))}</pubDate></item>"
        for t, link, d in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://example.invalid/</link><description>canals</description>"
        f"{items}</channel></rss>"
    )


def publish(pages: PageServer, first: int, last: int) -> None:
    """Entries first..last: an undated page each (so the feed dates them), and the feed listing them all."""
    entries = []
    for i in range(first, last + 1):
        title = f"Lock {i} reopens after repairs"
        pages.page(f"/story/{i}.html", article_page(title, i))
        entries.append((title, pages.url(f"/story/{i}.html"), entry_date(i)))
    pages.page(FEED, rss(entries), "application/rss+xml")


@pytest.fixture
def pages():
    with PageServer() as server:
        publish(server, 1, 20)
        yield server


def sources(run_brief, *desk: str) -> list[dict]:
    result = run_brief("sources", "--json", *desk)
    assert result.code == 0, result.err
    return json.loads(result.out)


def story_hits(pages: PageServer) -> list[str]:
    return [h for h in pages.hits if h.startswith("/story/")]


# --- following feeds -------------------------------------------------------------------------------
def test_a_feed_of_twenty_entries_is_ingested_with_titles_and_dates(run_brief, pages):
    added = run_brief("feed", "add", pages.url(FEED))
    assert added.code == 0 and "'Canal News'" in added.out and "20 entries" in added.out
    assert story_hits(pages) == []  # add only follows; update ingests
    updated = run_brief("feed", "update")
    assert updated.code == 0, updated.err
    assert "20 new" in updated.out
    rows = {r["url"]: r for r in sources(run_brief)}
    assert len(rows) == 20
    for i in range(1, 21):
        row = rows[pages.url(f"/story/{i}.html")]
        assert (row["title"], row["date"]) == (f"Lock {i} reopens after repairs", entry_date(i))
        assert row["source"] == source_name(row["url"])
    [listed] = json.loads(run_brief("feed", "list", "--json").out)
    assert listed["url"] == pages.url(FEED) and listed["entries_ingested"] == 20
    assert listed["title"] == "Canal News" and listed["updated_at"]


def test_a_second_update_adds_only_the_new_entries_and_a_third_adds_nothing(run_brief, pages):
    run_brief("feed", "add", pages.url(FEED))
    assert run_brief("feed", "update").code == 0
    publish(pages, 1, 23)  # three entries more
    pages.hits.clear()
    second = run_brief("feed", "update", "--json")
    assert second.code == 0
    [outcome] = json.loads(second.out)["feeds"]
    assert (outcome["entries"], outcome["new"], outcome["failed"], outcome["error"]) == (23, 3, [], None)
    assert sorted(story_hits(pages)) == sorted(f"/story/{i}.html" for i in (21, 22, 23))
    assert len(sources(run_brief)) == 23
    pages.hits.clear()
    third = run_brief("feed", "update", "--json")
    assert json.loads(third.out)["feeds"][0]["new"] == 0 and story_hits(pages) == []
    assert len(sources(run_brief)) == 23


def test_atom_feed_with_relative_links(run_brief, pages):
    pages.page("/atom/one.html", article_page("Weir gates replaced", 31))
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Waterways (Atom)</title><id>urn:waterways</id><updated>2024-03-09T10:00:00Z</updated>"
        '<entry><title>Weir gates replaced</title><link href="/atom/one.html"/><id>urn:waterways:1</id>'
        "<updated>2024-03-09T10:00:00Z</updated></entry></feed>"
    )
    pages.page("/atom.xml", atom, "application/atom+xml")
    assert run_brief("feed", "add", pages.url("/atom.xml")).code == 0
    assert run_brief("feed", "update").code == 0
    [row] = [r for r in sources(run_brief) if r["url"] == pages.url("/atom/one.html")]
    assert (row["title"], row["date"]) == ("Weir gates replaced", "2024-03-09")


def test_the_page_s_own_date_wins_and_the_entry_title_fills_a_page_without_one(run_brief, pages):
    dated = article_page("Dredging starts", 41, date="2023-12-01")
    untitled = article_page("", 42).replace("<title></title>", "").replace("<h1></h1>", "")
    pages.page("/dated.html", dated)
    pages.page("/untitled.html", untitled)
    entries = [
        ("Dredging starts", pages.url("/dated.html"), "2024-02-02"),
        ("Towpath closed for a week", pages.url("/untitled.html"), "2024-02-03"),
    ]
    pages.page("/mixed.xml", rss(entries), "text/xml")
    run_brief("feed", "add", pages.url("/mixed.xml"))
    assert run_brief("feed", "update").code == 0
    rows = {r["url"]: r for r in sources(run_brief)}
    assert rows[pages.url("/dated.html")]["date"] == "2023-12-01"
    assert rows[pages.url("/untitled.html")]["title"] == "Towpath closed for a week"
    assert rows[pages.url("/untitled.html")]["date"] == "2024-02-03"


def test_an_entry_whose_page_fails_is_reported_skipped_and_retried_next_time(run_brief, pages):
    del pages.routes["/story/7.html"]
    run_brief("feed", "add", pages.url(FEED))
    first = run_brief("feed", "update")
    assert first.code != 0
    assert f"skipped {pages.url('/story/7.html')}: not found (HTTP 404)" in first.err
    assert "19 new" in first.out and "1 failed of 20" in first.out and "Traceback" not in first.err
    assert len(sources(run_brief)) == 19
    publish(pages, 1, 20)  # the page is back
    second = run_brief("feed", "update")
    assert second.code == 0 and "1 new" in second.out
    assert len(sources(run_brief)) == 20


def test_one_feed_failing_stops_no_other(run_brief, pages):
    pages.page(
        "/other.xml", rss([("Lock 1 reopens after repairs", pages.url("/story/1.html"), "2024-02-01")])
    )
    run_brief("feed", "add", pages.url(FEED))
    run_brief("feed", "add", pages.url("/other.xml"))
    pages.page("/other.xml", "maintenance", "text/plain", status=503)
    result = run_brief("feed", "update")
    assert result.code != 0 and "server error (HTTP 503)" in result.err and "20 new" in result.out
    assert len(sources(run_brief)) == 20


def test_feeds_are_kept_per_desk_and_removed_without_their_articles(run_brief, pages, tmp_path):
    from rag.sources.feeds import feed_state_path

    assert run_brief("feed", "add", "--desk", "canals", pages.url(FEED)).code == 0
    assert json.loads(run_brief("feed", "list", "--json").out) == []  # the default desk follows none
    assert feed_state_path(tmp_path / "data", "canals").is_file()
    assert run_brief("feed", "update", "--desk", "canals").code == 0
    assert len(sources(run_brief, "--desk", "canals")) == 20
    again = run_brief("feed", "add", "--desk", "canals", pages.url(FEED))
    assert again.code == 0 and "already following" in again.out
    removed = run_brief("feed", "remove", "--desk", "canals", pages.url(FEED))
    assert removed.code == 0 and json.loads(run_brief("feed", "list", "--json", "--desk", "canals").out) == []
    assert len(sources(run_brief, "--desk", "canals")) == 20
    leftovers = [p.name for p in feed_state_path(tmp_path / "data", "canals").parent.iterdir()]
    assert not [name for name in leftovers if name.startswith(".feeds-")]  # no temporary file left


# --- feeds refused ---------------------------------------------------------------------------------
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + ']><rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>'
    "<link>http://127.0.0.1:9/x</link></item></channel></rss>"
)
QUADRATIC = (
    f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{"x" * 50_000}">]>'
    f'<rss version="2.0"><channel><title>{"&a;" * 2_000}</title></channel></rss>'
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    '<rss version="2.0"><channel><title>&secret;</title></channel></rss>'
)
REFUSALS = {
    # name: (path served, body, content type, a phrase the reason must hold)
    "web page": ("/page.html", article_page("Not a feed", 1), "text/html", "not an RSS or Atom feed"),
    "plain text": ("/notes.txt", "just some words", "text/plain", "not an RSS or Atom feed"),
    "image": ("/logo.png", b"\x89PNG\r\n\x1a\n", "image/png", "not an RSS or Atom feed"),
    "billion laughs": ("/bomb.xml", BILLION_LAUGHS, "application/rss+xml", "declares XML entities"),
    "quadratic blowup": ("/quad.xml", QUADRATIC, "application/rss+xml", "declares XML entities"),
    "external entity": ("/ext.xml", EXTERNAL, "application/rss+xml", "declares XML entities"),
    "404": ("/missing.xml", None, "", "not found (HTTP 404)"),
    "over the size limit": (
        "/big.xml",
        rss([("x", "http://a.invalid/" + "y" * 2_000_000, "2024-01-01")]),
        "text/xml",
        "too large",
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_feed_add_refuses_what_is_not_a_usable_feed_in_a_line(run_brief, pages, name):
    path, body, content_type, reason = REFUSALS[name]
    if body is not None:
        pages.page(path, body, content_type)
    run_brief("feed", "add", pages.url(FEED))
    before = run_brief("feed", "list", "--json").out
    result = run_brief("feed", "add", pages.url(path), fetch_max_mb=1)
    assert result.code != 0
    lines = (result.out + result.err).strip().splitlines()
    assert len(lines) <= 3 and "Traceback" not in result.err, lines
    assert reason in result.err and pages.url(path) in result.err
    assert run_brief("feed", "list", "--json").out == before


@pytest.mark.parametrize("url", ["http://exa mple.com/feed.xml", "feed.xml", "http://127.0.0.1:1/feed.xml"])
def test_feed_add_of_a_malformed_or_dead_link_says_why(run_brief, url):
    result = run_brief("feed", "add", url)
    assert result.code != 0 and result.err.startswith("error: ") and len(result.err.splitlines()) == 1
    assert "Traceback" not in result.err


def test_a_feed_that_turns_into_a_bomb_is_refused_at_update_and_nothing_is_lost(run_brief, pages):
    run_brief("feed", "add", pages.url(FEED))
    assert run_brief("feed", "update").code == 0
    before = sources(run_brief)
    pages.page(FEED, BILLION_LAUGHS, "application/rss+xml")
    result = run_brief("feed", "update")
    assert result.code != 0 and "declares XML entities" in result.err
    assert len((result.out + result.err).strip().splitlines()) <= 3
    assert sources(run_brief) == before
    assert json.loads(run_brief("feed", "list", "--json").out)[0]["entries_ingested"] == 20


def test_an_unreadable_feed_list_is_one_line_and_left_alone(run_brief, pages, tmp_path):
    from rag.sources.feeds import feed_state_path

    path = feed_state_path(tmp_path / "data", "default")
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    result = run_brief("feed", "list")
    assert result.code != 0 and "cannot read the followed feeds" in result.err
    assert len(result.err.splitlines()) == 1 and path.read_text(encoding="utf-8") == "{not json"


def test_an_rss_091_doctype_is_accepted_and_its_dtd_never_fetched(run_brief, pages):
    doctype = (
        f'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "{pages.url("/rss-0.91.dtd")}">'
    )
    feed = rss([("Lock 1 reopens after repairs", pages.url("/story/1.html"), "2024-02-01")])
    pages.page("/old.xml", feed.replace("<rss", doctype + "<rss", 1), "text/xml")
    assert run_brief("feed", "add", pages.url("/old.xml")).code == 0
    assert run_brief("feed", "update").code == 0
    assert len(sources(run_brief)) == 1 and "/rss-0.91.dtd" not in pages.hits

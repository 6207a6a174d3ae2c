"""Following RSS and Atom feeds: `brief feed add/list/update/remove` and their state.

A desk's feeds live in one JSON file in the desk's folder (feed_state_path), written atomically (a
temporary file renamed over the old one): each followed feed and, for every entry already ingested
from it, the entry's key (its id, else its link) and the source it became. An update fetches each
feed, fetches and ingests the pages of the entries not seen before (their feed title and date used
where a page states none), and records them, so a second update fetches only the feeds themselves.
Feeds are parsed by feedparser after a defusedxml pass that refuses declared XML entities (the stuff
of entity bombs); both see at most fetch_max_mb of the feed.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urljoin

from rag.config.settings import Settings
from rag.config.settings_desks import DEFAULT_DESK
from rag.errors import BriefError
from rag.sources.links import Link, fetch_limits, ingest_links
from rag.store.desks import desk_folder
from vectorstore.fetch import UNTYPED, FetchError, check_url, fetch, open_client, source_name
from vectorstore.ingest import Progress, Skipped

FEEDS_FILE = "feeds.json"
STATE_VERSION = 1  # the shape of the feed state file
PAGES_PER_BATCH = 16  # entry pages fetched and ingested together: bounds the pages held in memory
# and the work an interruption loses (the state is saved after each batch)
FEED_MEDIA_SUFFIXES = ("xml", "+xml", "rss", "atom", "rdf")  # content types a feed may come as


@dataclass
class FollowedFeed:
    url: str
    title: str
    added_at: str  # ISO time
    updated_at: str | None = None  # last update that fetched it
    entries: dict[str, str] = field(default_factory=dict)  # entry key -> the source it was ingested as

    def summary(self) -> dict:
        """The `brief feed list --json` row."""
        row = {k: v for k, v in asdict(self).items() if k != "entries"}
        return {**row, "entries_ingested": len(self.entries)}


@dataclass(frozen=True)
class Entry:
    key: str  # the entry's id, else its link
    link: str
    title: str | None
    date: str | None  # YYYY-MM-DD from its published (else updated) date


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    entries: list[Entry]


@dataclass
class FeedOutcome:
    """What one update did with one feed (a row of `brief feed update --json`)."""

    url: str
    title: str
    entries: int = 0  # entries the feed lists now
    new: int = 0  # entries ingested by this update
    unchanged: int = 0  # new entries whose page was already stored as it is
    new_chunks: int = 0
    failed: list[Skipped] = field(default_factory=list)  # entries whose page failed (retried next time)
    error: str | None = None  # the feed itself could not be fetched or read

    def to_json(self) -> dict:
        failed = [{"link": s.path, "reason": s.reason} for s in self.failed]
        return {**asdict(self), "failed": failed}


# --- state -----------------------------------------------------------------------------------------
def feed_state_path(data_dir: Path, desk: str = DEFAULT_DESK) -> Path:
    """Where a desk's followed feeds are kept: in its own folder, so deleting the desk drops them."""
    return desk_folder(Path(data_dir), desk) / FEEDS_FILE


def desk_state_path(settings: Settings) -> Path:
    return feed_state_path(Path(settings.data_dir), settings.desk)


class FeedBook:
    """The feeds one desk follows, loaded from and saved to its state file."""

    def __init__(self, path: Path):
        self.path = path
        self.feeds: dict[str, FollowedFeed] = self.load()

    def load(self) -> dict[str, FollowedFeed]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {f["url"]: FollowedFeed(**f) for f in data["feeds"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BriefError(
                f"cannot read the followed feeds in {self.path} ({type(exc).__name__})",
                fix="restore the file, or move it away to start a new list",
            ) from None

    def save(self) -> None:
        """Written to a temporary file beside it, then renamed over it: never half written."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": STATE_VERSION, "feeds": [asdict(f) for f in self.feeds.values()]}
        fd, tmp = tempfile.mkstemp(prefix=".feeds-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False, indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# --- reading a feed --------------------------------------------------------------------------------
def accept_feed(content_type: str) -> str | None:
    """Refuse before reading what cannot be a feed (images, PDFs, archives...)."""
    if (
        content_type in UNTYPED
        or content_type.startswith("text/")
        or content_type.endswith(FEED_MEDIA_SUFFIXES)
    ):
        return None
    return f"not an RSS or Atom feed (content type {content_type})"


def fetch_feed(client, url: str, settings: Settings) -> ParsedFeed:
    """The feed at ``url``, fetched within the fetch limits and parsed; BriefError names the link
    and the reason."""
    try:
        fetched = fetch(client, url, fetch_limits(settings), accept_feed)
        return parse_feed(fetched.data, fetched.final_url, fetched.content_type)
    except BriefError as exc:
        raise BriefError(f"{url}: {exc.message}", fix=exc.fix) from None


def parse_feed(data: bytes, base_url: str, content_type: str = "") -> ParsedFeed:
    """RSS or Atom bytes as a feed title and its entries; refuses entity declarations and non-feeds."""
    import feedparser  # only feed commands need it

    refuse_declared_entities(data)
    # a file-like object: given bytes, feedparser would first try them as a local file name
    parsed = feedparser.parse(io.BytesIO(data), response_headers={"content-location": base_url})
    if not parsed.get("version"):
        hint = "it is a web page: `brief ingest URL` ingests it" if "html" in content_type else None
        raise BriefError("not an RSS or Atom feed", fix=hint or "give the address of the feed itself")
    title = (parsed.feed.get("title") or "").strip() or base_url
    entries = [e for e in (to_entry(raw, base_url) for raw in parsed.entries) if e]
    return ParsedFeed(title=title, entries=first_of_each(entries))


def first_of_each(entries: list[Entry]) -> list[Entry]:
    """Entries in the feed's order, without a repeat of an earlier one's key or link."""
    keys: set[str] = set()
    links: set[str] = set()
    unique = []
    for entry in entries:
        if entry.key not in keys and entry.link not in links:
            unique.append(entry)
        keys.add(entry.key)
        links.add(entry.link)
    return unique


def refuse_declared_entities(data: bytes) -> None:
    """An XML entity bomb (billion laughs, quadratic blowup, external entities) is built from entity
    declarations, which real feeds do not need: any is refused before feedparser sees the feed."""
    from xml.sax import SAXException
    from xml.sax.handler import ContentHandler

    import defusedxml.sax
    from defusedxml import DefusedXmlException

    try:
        # forbid_external stays off: the DTD an old RSS 0.91 DOCTYPE names is never fetched anyway (the
        # SAX parser's external entity features are off), and declared entities of any kind are refused
        defusedxml.sax.parseString(data, ContentHandler(), forbid_entities=True, forbid_external=False)
    except DefusedXmlException:
        raise BriefError(
            "refused: the feed declares XML entities, which is how entity bombs are built",
            fix="ask the site for a feed without a DOCTYPE of entities",
        ) from None
    except SAXException:
        pass  # not well-formed XML: feedparser's lenient parser judges it (it expands no declared entities)


def to_entry(raw, base_url: str) -> Entry | None:
    """An entry with a link to fetch (relative links resolved against the feed), else None."""
    link = (raw.get("link") or "").strip()
    if not link:
        return None
    link = urljoin(base_url, link)
    stamp = raw.get("published_parsed") or raw.get("updated_parsed")
    date = time.strftime("%Y-%m-%d", stamp) if stamp else None
    title = (raw.get("title") or "").strip() or None
    return Entry(key=(raw.get("id") or "").strip() or link, link=link, title=title, date=date)


# --- commands --------------------------------------------------------------------------------------
def add_feed(settings: Settings, url: str) -> tuple[FollowedFeed, int, bool]:
    """Follow the feed at ``url``: (the feed, entries it lists now, whether it was followed already)."""
    url = checked(url)
    book = FeedBook(desk_state_path(settings))
    if url in book.feeds:
        return book.feeds[url], 0, True
    with open_client(fetch_limits(settings)) as client:
        parsed = fetch_feed(client, url, settings)
    feed = FollowedFeed(url=url, title=parsed.title, added_at=now())
    book.feeds[url] = feed
    book.save()
    return feed, len(parsed.entries), False


def remove_feed(settings: Settings, url: str) -> FollowedFeed:
    """Stop following a feed; the articles ingested from it stay."""
    book = FeedBook(desk_state_path(settings))
    feed = book.feeds.pop(url.strip(), None)
    if feed is None:
        raise BriefError(f"not following {url}", fix="see `brief feed list`")
    book.save()
    return feed


def list_feeds(settings: Settings) -> list[FollowedFeed]:
    return list(FeedBook(desk_state_path(settings)).feeds.values())


def update_feeds(desk, progress: Progress | None = None) -> list[FeedOutcome]:
    """Fetch every followed feed and ingest its new entries; one feed failing stops no other.
    ``progress`` hears (entries done, new entries, feed title) after each batch."""
    book = FeedBook(desk_state_path(desk.settings))
    outcomes = []
    with open_client(fetch_limits(desk.settings)) as client:
        for feed in book.feeds.values():
            outcome = FeedOutcome(url=feed.url, title=feed.title)
            try:
                parsed = fetch_feed(client, feed.url, desk.settings)
            except BriefError as exc:
                outcome.error = str(exc)
            else:
                update_feed(desk, book, feed, parsed, outcome, progress)
            outcomes.append(outcome)
    return outcomes


def update_feed(
    desk,
    book: FeedBook,
    feed: FollowedFeed,
    parsed: ParsedFeed,
    outcome: FeedOutcome,
    progress: Progress | None,
) -> None:
    """Ingest the entries not yet ingested, a batch at a time, saving the state after each."""
    fresh = [e for e in parsed.entries if e.key not in feed.entries][: desk.settings.feed_max_new_entries]
    outcome.entries, feed.title, outcome.title = len(parsed.entries), parsed.title, parsed.title
    for start in range(0, len(fresh), PAGES_PER_BATCH):
        batch = fresh[start : start + PAGES_PER_BATCH]
        links = [Link(e.link, title=e.title, date=e.date) for e in batch]
        report = ingest_links(desk, links)
        failed = {s.path for s in report.skipped}
        feed.entries.update({e.key: source_name(e.link) for e in batch if e.link not in failed})
        outcome.new += report.new_sources + report.updated_sources
        outcome.unchanged += report.unchanged_sources
        outcome.new_chunks += report.new_chunks
        outcome.failed += report.skipped
        book.save()
        if progress:
            progress(start + len(batch), len(fresh), feed.title)
    feed.updated_at = now()
    book.save()


def checked(url: str) -> str:
    try:
        return check_url(url)
    except FetchError as exc:
        raise BriefError(f"{url.strip()}: {exc.message}", fix=exc.fix) from None


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")

"""Articles from links: pages (HTML or PDF) fetched within the fetch settings and ingested as a file of
their kind would be. The CLI (`brief ingest URL`), the UI's link box and feed updates all come here."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rag.config.settings import Settings
from vectorstore.fetch import (
    FetchError,
    FetchLimits,
    accept_page,
    check_url,
    fetch,
    is_link,
    open_client,
    page_extension,
    source_name,
)
from vectorstore.ingest import IngestReport, Progress, Skipped
from vectorstore.loaders import FetchedDocument

MEGABYTE = 1_000_000


@dataclass(frozen=True)
class Link:
    """A page to fetch, with what a feed entry says of it (used where the page itself says nothing)."""

    url: str
    title: str | None = None
    date: str | None = None


def fetch_limits(settings: Settings) -> FetchLimits:
    return FetchLimits(
        timeout_s=settings.fetch_timeout_s,
        max_redirects=settings.fetch_max_redirects,
        max_bytes=int(settings.fetch_max_mb * MEGABYTE),
        user_agent=settings.fetch_user_agent,
    )


def split_links(items: Sequence[str | Path]) -> tuple[list[str], list[Path]]:
    """The arguments of `brief ingest` parted into links (anything with a scheme: 'https://...') and
    paths, each in the order given."""
    links = [str(i).strip() for i in items if is_link(str(i))]
    paths = [Path(i) for i in items if not is_link(str(i))]
    return list(dict.fromkeys(links)), paths


def fetch_page(client, link: Link, limits: FetchLimits) -> FetchedDocument:
    """One link as a page to ingest; FetchError says why it cannot be."""
    url = check_url(link.url)
    fetched = fetch(client, url, limits, accept_page)
    return FetchedDocument(
        source=source_name(url),
        url=url,
        data=fetched.data,
        extension=page_extension(fetched),
        title=link.title,
        date=link.date,
    )


def fetch_pages(links: Sequence[Link], settings: Settings) -> tuple[list[FetchedDocument], list[Skipped]]:
    """Every link fetched (fetch_concurrency at once): the pages, and a reason for each that failed."""
    if not links:
        return [], []
    limits = fetch_limits(settings)

    def one(link: Link) -> FetchedDocument | Skipped:
        try:
            return fetch_page(client, link, limits)
        except FetchError as exc:
            return Skipped(link.url, str(exc))

    with open_client(limits) as client, ThreadPoolExecutor(settings.fetch_concurrency) as pool:
        results = list(pool.map(one, links))
    return [r for r in results if isinstance(r, FetchedDocument)], [
        r for r in results if isinstance(r, Skipped)
    ]


def ingest_links(
    desk,
    links: Sequence[str | Link],
    paths: Sequence[Path] = (),
    prune: bool = False,
    progress: Progress | None = None,
    date: str | None = None,
) -> IngestReport:
    """Fetch the links, then ingest their pages with the files and folders given: a link that fails
    is reported in ``skipped`` (under its URL) and nothing stored is touched for it."""
    wanted = [link if isinstance(link, Link) else Link(link) for link in links]
    pages, failed = fetch_pages(wanted, desk.settings)
    report = desk.ingest(list(paths), prune=prune, progress=progress, fetched=pages, date=date)
    report.files += len(failed)
    report.skipped = failed + report.skipped
    return report


def failed_links(report: IngestReport, links: Sequence[str]) -> list[Skipped]:
    """The given links that were not ingested (fetching, reading or cleaning failed)."""
    given = set(links)
    return [s for s in report.skipped if s.path in given]

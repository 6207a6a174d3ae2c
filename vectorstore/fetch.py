"""Fetch a page, PDF or feed over HTTP(S) within limits, or say in one line why not.

Limits hold against any server: a timeout on connecting and on each read plus a deadline for the
whole download, a redirect limit, and a size limit checked on the stated Content-Length first and
then while the body streams in (decoded bytes are counted, so a compressed bomb stops at the limit
too). Only http and https links are followed.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from vectorstore.errors import BriefError

LINK_SCHEMES = ("http", "https")
SCHEME_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")  # what marks an argument as a link, not a path
SOURCE_NAME_MAX = 120  # characters of a source name made from a URL; longer ones end in a hash instead
SOURCE_HASH_CHARS = 10  # hex digits of the URL's hash that keep shortened names apart
HTML_TYPES = ("text/html", "application/xhtml+xml")
PDF_TYPES = ("application/pdf", "application/x-pdf")
UNTYPED = ("", "application/octet-stream", "binary/octet-stream")  # sniffed from the first bytes
SNIFF_BYTES = 1024
HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body")
PDF_MAGIC = b"%PDF"

Accept = Callable[[str], str | None]  # content type -> None to go on, or why it is refused


class FetchError(BriefError):
    """A link that cannot be fetched or used; the message says why (callers name the link)."""


@dataclass(frozen=True)
class FetchLimits:
    timeout_s: float
    max_redirects: int
    max_bytes: int
    user_agent: str


@dataclass(frozen=True)
class Fetched:
    url: str  # the link as given
    final_url: str  # where the redirects ended
    content_type: str  # media type only, lower case ('text/html'), '' when the server sent none
    data: bytes


def is_link(text: str) -> bool:
    """An argument with a scheme ('https://...') is a link, anything else a path."""
    return bool(SCHEME_PREFIX.match(text.strip()))


def check_url(text: str) -> str:
    """The link, stripped, if it is a well-formed http(s) URL with a host."""
    url = text.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        raise FetchError(f"malformed URL ({exc})", fix="check the link") from None
    if parts.scheme.lower() not in LINK_SCHEMES:
        raise FetchError(f"unsupported link scheme {parts.scheme!r}", fix="give an http:// or https:// URL")
    if not parts.hostname or re.search(r"\s", url):
        raise FetchError("malformed URL (no host, or a space in it)", fix="check the link")
    return url


def open_client(limits: FetchLimits):
    """One HTTP client for a run of fetches (keeps connections open between pages of one site)."""
    import httpx

    return httpx.Client(
        timeout=httpx.Timeout(limits.timeout_s),
        follow_redirects=True,
        max_redirects=limits.max_redirects,
        headers={"User-Agent": limits.user_agent},
    )


def fetch(client, url: str, limits: FetchLimits, accept: Accept) -> Fetched:
    """GET the link; ``accept`` may refuse its content type before the body is read."""
    import httpx

    url = check_url(url)
    try:
        with client.stream("GET", url) as response:
            check_response(response, limits, accept)
            data = read_capped(response, limits)
            return Fetched(url, str(response.url), media_type(response), data)
    except httpx.HTTPError as exc:
        raise describe_failure(exc, url, limits) from None


def check_response(response, limits: FetchLimits, accept: Accept) -> None:
    """Refuse an error status, an unwanted content type or a stated size over the limit."""
    status = response.status_code
    if status >= 400:
        kind = "not found" if status in (404, 410) else "server error" if status >= 500 else "refused"
        raise FetchError(f"{kind} (HTTP {status})", fix="check the link, or try again later")
    if refusal := accept(media_type(response)):
        raise FetchError(refusal)
    stated = response.headers.get("content-length", "")
    if stated.isdigit() and int(stated) > limits.max_bytes:
        raise too_large(f"{int(stated) / 1e6:.1f} MB stated", limits)


def read_capped(response, limits: FetchLimits) -> bytes:
    """The body, stopped as soon as it passes the size limit or the deadline."""
    deadline = time.monotonic() + limits.timeout_s
    parts, size = [], 0
    for part in response.iter_bytes():
        size += len(part)
        if size > limits.max_bytes:
            raise too_large(f"over {limits.max_bytes / 1e6:g} MB", limits)
        if time.monotonic() > deadline:
            raise FetchError(
                f"timed out (still downloading after {limits.timeout_s:g} s)",
                fix="raise the setting fetch_timeout_s, or try again later",
            )
        parts.append(part)
    return b"".join(parts)


def too_large(size: str, limits: FetchLimits) -> FetchError:
    return FetchError(
        f"too large ({size}; the limit is {limits.max_bytes / 1e6:g} MB)",
        fix="raise the setting fetch_max_mb",
    )


def media_type(response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def describe_failure(exc: Exception, url: str, limits: FetchLimits) -> FetchError:
    """One line for what went wrong on the wire."""
    import httpx

    fix = "check the link, or try again later"
    if isinstance(exc, httpx.TimeoutException):
        reason = f"timed out after {limits.timeout_s:g} s"
        fix = "raise the setting fetch_timeout_s, or try again later"
    elif isinstance(exc, httpx.TooManyRedirects):
        reason = f"more than {limits.max_redirects} redirects (a redirect loop?)"
        fix = "open the link in a browser to see where it leads"
    elif isinstance(exc, httpx.ConnectError):
        reason = f"cannot connect to {urlsplit(url).hostname} ({first_line(exc) or 'unreachable'})"
    elif isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        reason, fix = f"malformed URL ({first_line(exc)})", "check the link"
    else:
        reason = f"download failed ({type(exc).__name__}: {first_line(exc)})"
    return FetchError(reason, fix=fix)


def first_line(exc: Exception) -> str:
    return str(exc).strip().split("\n")[0][:160]


# --- what a fetched page is ------------------------------------------------------------------------
def accept_page(content_type: str) -> str | None:
    """Pages ingest as HTML or PDF; an untyped answer is sniffed once it has arrived."""
    if content_type in HTML_TYPES + PDF_TYPES + UNTYPED:
        return None
    return f"not a web page or PDF (content type {content_type}); only HTML pages and PDFs are ingested"


def page_extension(fetched: Fetched) -> str:
    """The loader a fetched page goes to, by its content type, else by its first bytes."""
    head = fetched.data[:SNIFF_BYTES].lstrip().lower()
    if fetched.content_type in PDF_TYPES or fetched.data.startswith(PDF_MAGIC):
        return ".pdf"
    if fetched.content_type in HTML_TYPES or head.startswith(HTML_MARKERS):
        return ".html"
    shown = fetched.content_type or "none"
    raise FetchError(f"not a web page or PDF (content type {shown})")


def source_name(url: str) -> str:
    """A stable, readable source name for a link: host, port and path (and query), with every
    character that is not a letter, digit, dot or hyphen made '_' ('example.com_news_story.html')."""
    parts = urlsplit(url)
    host = (parts.hostname or "link") + (f"-{parts.port}" if parts.port else "")
    raw = "_".join(p for p in (host, parts.path.strip("/"), parts.query) if p)
    name = re.sub(r"_+", "_", re.sub(r"[^\w.\-]+", "_", raw, flags=re.ASCII)).strip("_.")
    if len(name) <= SOURCE_NAME_MAX:
        return name
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:SOURCE_HASH_CHARS]
    return f"{name[: SOURCE_NAME_MAX - SOURCE_HASH_CHARS - 1]}_{digest}"

"""Turn a file on disk into plain text, or say in one line why it cannot be ingested."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vectorstore.errors import SkipFile

BINARY_SNIFF_BYTES = 8192  # NUL bytes in the first block mark a binary file, as git and grep do


@dataclass
class RawDocument:
    """Text pulled out of a file, before boilerplate cleaning."""

    path: Path | None  # None for a fetched page
    text: str
    content_hash: str
    hints: dict[str, str] = field(default_factory=dict)  # title/date/outlet found in markup


@dataclass(frozen=True)
class FetchedDocument:
    """A page fetched from a link (vectorstore/fetch.py), ingested as a file of its kind would be."""

    source: str  # the name users see and cite, made from the link (fetch.source_name)
    url: str
    data: bytes
    extension: str  # the loader that reads it: ".html" or ".pdf"
    title: str | None = None  # what a feed entry says of the page: used where the page states nothing
    date: str | None = None

    def read(self) -> RawDocument:
        text, hints = extract(self.data, self.extension)
        stated = {key: value for key, value in (("title", self.title), ("date", self.date)) if value}
        hints = {**stated, **hints}  # the page's own markup first
        # the extracted text and metadata decide whether a page changed, not its bytes: the markup
        # around an article (ads, tokens, "most read" boxes) changes on every fetch while it stays
        stamp = "\n".join([text, *(f"{key}={value}" for key, value in sorted(hints.items()))])
        content_hash = hashlib.sha256(stamp.encode("utf-8")).hexdigest()
        return RawDocument(path=None, text=text, content_hash=content_hash, hints=hints)


def read_document(path: Path, max_bytes: int, allowed_extensions: list[str]) -> RawDocument:
    """Load one file; raises SkipFile with a user-readable reason for anything we will not ingest."""
    ext = path.suffix.lower()
    if ext not in allowed_extensions:
        raise SkipFile(
            f"unsupported file type '{ext or '(none)'}' (supported: {', '.join(allowed_extensions)})"
        )
    data = read_bytes(path, max_bytes)
    text, hints = extract(data, ext)
    return RawDocument(path=path, text=text, content_hash=hashlib.sha256(data).hexdigest(), hints=hints)


def extract(data: bytes, ext: str) -> tuple[str, dict[str, str]]:
    """Text and markup hints of a file's bytes, by the loader of its extension."""
    text, hints = LOADERS.get(ext, load_text)(data)
    if not text.strip():
        raise SkipFile("no text could be extracted")
    return text, hints


def read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size == 0:
            raise SkipFile("empty file")
        if size > max_bytes:
            raise SkipFile(
                f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit (setting max_file_mb)"
            )
        with path.open("rb") as fh:
            return fh.read()
    except PermissionError:
        raise SkipFile("permission denied") from None
    except IsADirectoryError:
        raise SkipFile("is a directory") from None
    except OSError as exc:
        raise SkipFile(f"unreadable: {exc.strerror or exc}") from None


def decode_text(data: bytes) -> str:
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        raise SkipFile("binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SkipFile(f"not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8") from None


def load_text(data: bytes) -> tuple[str, dict[str, str]]:
    return decode_text(data), {}


HTML_DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "svg",
    "nav",
    "footer",
    "form",
    "button",
    "aside",
)
HTML_BLOCK_TAGS = (
    "p",
    "div",
    "br",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "section",
    "article",
    "blockquote",
    "header",
)


def load_html(data: bytes) -> tuple[str, dict[str, str]]:
    """Main text and metadata (title, date, outlet, author) through trafilatura; its date comes
    from the markup only (htmldate without its text search), never guessed from the body."""
    html = decode_text(data)
    text, hints = trafilatura_extract(html)
    if not text:  # trafilatura keeps nothing from very short or unusual pages: take all visible text
        text, fallback_hints = visible_text(html)
        hints = {**fallback_hints, **hints}
    from vectorstore.dates import html_date

    if not hints.get("date") and (stated := html_date(html)):
        hints["date"] = stated
    return text, hints


def trafilatura_extract(html: str) -> tuple[str, dict[str, str]]:
    import trafilatura

    doc = trafilatura.bare_extraction(
        html,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        favor_precision=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if doc is None:
        return "", {}
    found = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    hints = {
        key: str(found[field]).strip()
        for key, field in (("title", "title"), ("date", "date"), ("outlet", "sitename"), ("author", "author"))
        if found.get(field)
    }
    text = (found.get("text") or "").strip()
    return re.sub(r"\n+", "\n\n", text), hints  # one paragraph per line -> blank-line paragraphs


def visible_text(html: str) -> tuple[str, dict[str, str]]:
    """Every visible text block of a page (scripts, styles and navigation dropped), with its <title>."""
    from bs4 import BeautifulSoup  # parsing only when an HTML file is met

    soup = BeautifulSoup(html, "lxml")
    hints: dict[str, str] = {}
    if soup.title and soup.title.get_text(strip=True):
        hints["title"] = soup.title.get_text(" ", strip=True)
    for tag in soup(HTML_DROP_TAGS):
        tag.decompose()
    if soup.head:
        soup.head.decompose()
    for tag in soup.find_all(HTML_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    text = soup.get_text()
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip(), hints


def load_pdf(data: bytes) -> tuple[str, dict[str, str]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.startswith(b"%PDF"):
        raise SkipFile("not a PDF file (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise SkipFile(f"unreadable PDF (truncated or corrupt: {type(exc).__name__})") from None
    hints = {}
    title = getattr(info, "title", None)
    if title:
        hints["title"] = str(title)
    return "\n\n".join(p.strip() for p in pages if p.strip()), hints


LOADERS: dict[str, Callable[[bytes], tuple[str, dict[str, str]]]] = {
    ".txt": load_text,
    ".md": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
}

"""Pure functions that turn core results into safe HTML/Markdown for the UI.

Everything that came from a document or a model is escaped here, so no HTML or script from an
article or an answer can run in the page.
"""

from __future__ import annotations

import re
import tempfile
import time
from html import escape
from pathlib import Path

CONTEXT_CHARS = 220  # characters of article shown around a highlighted quote
MARKER = re.compile(r"\[(\d{1,3})\]")
REFUSED_HTML = '<div class="bd-refused">The articles do not say. Nothing was found in the ingested articles that answers this question.</div>'
CLOSEST_HEAD = (
    '<div class="bd-closest-head">Closest passages found: <b>not an answer</b>, shown so you can check</div>'
)


def answer_html(
    answer_text: str,
    refused: bool,
    warning: str | None = None,
    short_answer: str | None = None,
    withheld_note: str | None = None,
    closest: list[dict] | None = None,
) -> str:
    """The answer with its [n] markers as chips that link to the matching source card, its short
    answer (which the answer text starts with) in bold, under the answer's own warning if it has one
    (e.g. the LLM failed and the quoted evidence answers instead), or the note saying why there is no
    short answer."""
    note = f'<div class="bd-warning">{escape(warning)}</div>' if warning else ""
    note += f'<div class="bd-withheld">{escape(withheld_note)}</div>' if withheld_note else ""
    if refused:
        return note + REFUSED_HTML + closest_html(closest or [])
    safe = escape(answer_text)
    if short_answer and safe.startswith(escape(short_answer)):
        head = escape(short_answer)
        safe = f'<strong class="bd-short">{head}</strong>' + safe[len(head) :]
    chips = MARKER.sub(
        lambda m: (
            f'<a class="bd-chip" href="#bd-src-{m.group(1)}" title="source {m.group(1)}">{m.group(1)}</a>'
        ),
        safe,
    )
    return note + chips.replace("\n", "<br>")  # timeline and comparison answers are one line per statement


def closest_html(closest: list[dict]) -> str:
    """A refused question's nearest passages, escaped and numbered like citations (their cards are in
    the sources panel), under a heading that says they are not an answer."""
    if not closest:
        return ""
    items = "".join(
        f'<li><a class="bd-chip" href="#bd-src-{int(c["n"])}">{int(c["n"])}</a> “{escape(c["quote"])}”'
        f' <span class="bd-meta">{escape(c.get("source", ""))}, {escape(c.get("date") or "undated")}</span></li>'
        for c in closest
    )
    return f'<div class="bd-closest">{CLOSEST_HEAD}<ol class="bd-closest-list">{items}</ol></div>'


def highlighted_passage(source_text: str, start: int, end: int, context: int = CONTEXT_CHARS) -> str:
    """The quote at [start, end) wrapped in <mark>, inside some escaped surrounding text."""
    lo, hi = max(0, start - context), min(len(source_text), end + context)
    before, quote, after = source_text[lo:start], source_text[start:end], source_text[end:hi]
    return (
        ("…" if lo else "")
        + escape(before)
        + "<mark>"
        + escape(quote)
        + "</mark>"
        + escape(after)
        + ("…" if hi < len(source_text) else "")
    )


def source_card(citation: dict, record) -> str:
    """One cited passage: number, title, outlet, date, and the quote highlighted in context."""
    meta = " · ".join(
        escape(x)
        for x in (
            citation.get("source", ""),
            getattr(record, "outlet", None) or "",
            citation.get("date") or "undated",
        )
        if x
    )
    body = (
        highlighted_passage(record.text, citation["start"], citation["end"])
        if record is not None
        else f"<mark>{escape(citation['quote'])}</mark>"
    )
    return (
        f'<div class="bd-source" id="bd-src-{int(citation["n"])}"><div class="bd-source-head"><span class="bd-chip">{int(citation["n"])}</span> '
        f'<b>{escape(citation.get("title") or citation.get("source", ""))}</b><div class="bd-meta">{meta}</div></div>'
        f'<div class="bd-passage">{body}</div></div>'
    )


def sources_panel(citations: list[dict], records: dict, closest: bool = False) -> str:
    """The cited passages' cards; a refused answer's closest passages under a not-an-answer heading."""
    if not citations:
        return '<div class="bd-empty">No sources for this answer.</div>'
    head = CLOSEST_HEAD if closest else ""
    return head + "".join(source_card(c, records.get(c["source"])) for c in citations)


def copy_text(answer_json: dict) -> str:
    """The answer followed by its numbered references, as plain text to paste elsewhere."""
    closest = not answer_json.get("citations") and answer_json.get("closest")
    refs = [
        f'[{c["n"]}] {c["source"]} ({c.get("date") or "undated"}): "{c["quote"]}"'
        for c in (closest or answer_json.get("citations", []))
    ]
    head = ["Closest passages found (not an answer):"] if closest else []
    return "\n".join([answer_json.get("answer", "")] + ([""] + head + refs if refs else []))


def markdown_safe(markdown: str) -> str:
    """Markdown we generated, with any HTML that came from documents neutralised."""
    return markdown.replace("<", "&lt;").replace(">", "&gt;")


def briefing_files(briefing, data_dir: Path) -> list[str]:
    """The briefing as Markdown, a self-contained HTML page and JSON, written for download."""
    from rag.briefings.briefing_model import EXPORT_KINDS

    folder = export_folder(data_dir, "briefings")
    paths = [folder / f"briefing.{kind}" for kind in EXPORT_KINDS]
    for path, kind in zip(paths, EXPORT_KINDS):
        path.write_text(briefing.export(kind), encoding="utf-8")
    return [str(path) for path in paths]


def export_folder(data_dir: Path, kind: str) -> Path:
    """A new folder under data_dir/kind for one request's downloads: a shared file would hand one
    user's briefing or eval report to another who asked at the same time."""
    parent = data_dir / kind
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=parent))


def sources_table(records) -> list[list]:
    return [[r.source, r.title, r.date or "", r.outlet or "", r.n_chunks] for r in records]


CSS = """
.bd-chip{display:inline-block;min-width:1.4em;padding:0 .35em;margin:0 .1em;border-radius:.7em;background:#2b6cb0;color:#fff !important;
 font-size:.8em;text-align:center;text-decoration:none;cursor:pointer}
.bd-source{border:1px solid #d0d7de;border-radius:8px;padding:.6em .8em;margin:.5em 0;background:#fafbfc}
.bd-meta{color:#57606a;font-size:.85em}
.bd-passage{margin-top:.4em;line-height:1.45}
.bd-passage mark{background:#fff3a3;padding:0 .1em}
.bd-refused{padding:.8em;border-left:4px solid #bf8700;background:#fff8e5}
.bd-withheld{font-size:.9em;color:#57606a;margin-bottom:.3em}
.bd-warning{padding:.3em .6em;margin-bottom:.4em;border-left:4px solid #bf8700;color:#57606a;font-size:.85em}
.bd-short{font-size:1.1em}
.bd-closest{margin-top:.5em}
.bd-closest-head{color:#57606a;font-size:.9em;margin:.3em 0}
.bd-closest-list{margin:.2em 0 0 1.2em;color:#57606a}
"""

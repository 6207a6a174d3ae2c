"""A briefing's structure and its three exports: JSON, Markdown and a self-contained HTML page.

Every entry carries the citations it rests on (the same objects as answers': exact quotes with
offsets into the cleaned source text); the exports only lay the structure out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html import escape
from typing import Any

from rag.questions.claims import Citation

EXPORT_KINDS = ("md", "html", "json")  # the files a briefing is offered as, in this order
NOT_STATED = "date not stated"
MARKER = re.compile(r"\[(\d{1,4})\]")


@dataclass
class Briefing:
    topic: str | None
    scope: str
    bottom_line: list[dict[str, Any]] = field(default_factory=list)
    themes: list[dict[str, Any]] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    undated_events: list[dict[str, Any]] = field(default_factory=list)
    actors: list[dict[str, Any]] = field(default_factory=list)
    open_questions: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    rewrites: dict[str, Any] = field(default_factory=dict)
    timings_ms: dict[str, int] = field(default_factory=dict)
    changes: dict[str, Any] | None = None  # `summarize --changes-since`: rag/briefings/briefing_changes.py
    read: list[str] = field(default_factory=list)  # the articles read, so a later briefing knows what is new

    @property
    def title(self) -> str:
        return f"Briefing: {self.topic}" if self.topic else "Briefing: all sources"

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "topic": self.topic,
            "scope": self.scope,
            "bottom_line": self.bottom_line,
            "themes": self.themes,
            "figures": self.figures,
            "timeline": self.timeline,
            "undated_events": self.undated_events,
            "actors": self.actors,
            "open_questions": self.open_questions,
            "sources": self.sources,
            "citations": [c.to_json() for c in self.citations],
            "rewrites": self.rewrites,
            "timings_ms": self.timings_ms,
            "read": self.read,
            **({"changes": self.changes} if self.changes is not None else {}),
        }

    def to_markdown(self) -> str:
        return "\n".join(markdown_lines(self)) + "\n"

    def to_html(self) -> str:
        return html_page(self)

    def export(self, kind: str) -> str:
        """The briefing as a file of one of EXPORT_KINDS: md, html (a self-contained page) or json."""
        writers = {
            "md": self.to_markdown,
            "html": self.to_html,
            "json": lambda: json.dumps(self.to_json(), ensure_ascii=False, indent=1),
        }
        return writers[kind]()


def marks(item: dict[str, Any]) -> str:
    return "".join(f"[{c['n']}]" for c in item["citations"])


def source_label(source: dict[str, Any]) -> str:
    parts = [source.get("outlet") or "outlet not stated", source.get("date") or NOT_STATED]
    return f'{source["source"]}: "{source["title"]}" ({", ".join(parts)})'


def markdown_lines(b: Briefing) -> list[str]:
    lines = [f"# {b.title}", "", f"_{b.scope}_", ""]
    if b.changes is not None:
        lines += changes_markdown(b.changes)
    lines += ["## Bottom line", ""]
    lines += [f"- {i['text']}" for i in b.bottom_line]
    lines += ["", "## Developments by theme"]
    for theme in b.themes:
        lines += ["", f"### {theme['label']}", ""] + [f"- {p['text']}" for p in theme["points"]]
    lines += [
        "",
        "## Key figures",
        "",
        "| figure | what it counts | date | source |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {cell(f['figure'])} | {cell(f['what'])} | {f['date'] or NOT_STATED} | {marks(f)} |"
        for f in b.figures
    ]
    lines += ["", "## Timeline", ""] + [f"- **{t['date']}**: {t['event']} {marks(t)}" for t in b.timeline]
    if b.undated_events:
        lines += [
            "",
            "_Not on the timeline: their articles state no date and the sentence gives no year:_",
            "",
        ]
        lines += [f"- **{u['when']}** ({u['note']}): {u['event']} {marks(u)}" for u in b.undated_events]
    lines += ["", "## Who's who", ""]
    for a in b.actors:
        also = f" (also: {', '.join(a['aliases'])})" if a["aliases"] else ""
        lines.append(f"- **{a['name']}**{also}: {a['role']} {marks(a)}")
    lines += ["", "## Open questions", ""] + [f"- {q['question']} {marks(q)}" for q in b.open_questions]
    lines += ["", "## Sources", ""]
    for source in b.sources:
        lines.append(f"- {source_label(source)}")
        lines += [f'  - [{c.n}] "{c.quote}"' for c in b.citations if c.source == source["source"]]
    return lines


def cell(text: str) -> str:
    return text.replace("|", "\\|")


# --- HTML --------------------------------------------------------------------------------------------
CSS = """body{font:16px/1.5 system-ui,sans-serif;max-width:52em;margin:2em auto;padding:0 1em;color:#1f2328}
h1{font-size:1.6em}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2em;margin-top:1.6em}
.scope{color:#57606a}.cite{font-size:.8em;vertical-align:super;text-decoration:none;margin-left:.1em}
table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:.3em .6em;text-align:left}
.quote{color:#57606a}.note{color:#57606a;font-style:italic}"""


def linked(text: str) -> str:
    """Escaped text whose [n] markers link to the numbered quotes at the end."""
    return MARKER.sub(lambda m: f'<a class="cite" href="#c{m.group(1)}">[{m.group(1)}]</a>', escape(text))


def li(text: str) -> str:
    return f"<li>{linked(text)}</li>"


def html_page(b: Briefing) -> str:
    parts = [f"<h1>{escape(b.title)}</h1>", f'<p class="scope">{escape(b.scope)}</p>']
    if b.changes is not None:
        parts += changes_html(b.changes)
    parts += (
        html_points(b) + html_figures(b) + html_timeline(b) + html_people_and_questions(b) + html_sources(b)
    )
    body = "\n".join(parts)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(b.title)}</title>'
        f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def html_points(b: Briefing) -> list[str]:
    parts = (
        ["<h2>Bottom line</h2><ul>"]
        + [li(i["text"]) for i in b.bottom_line]
        + ["</ul><h2>Developments by theme</h2>"]
    )
    for theme in b.themes:
        parts += (
            [f"<h3>{escape(theme['label'])}</h3><ul>"] + [li(p["text"]) for p in theme["points"]] + ["</ul>"]
        )
    return parts


def html_figures(b: Briefing) -> list[str]:
    rows = [
        f"<tr><td>{escape(f['figure'])}</td><td>{escape(f['what'])}</td><td>{escape(f['date'] or NOT_STATED)}</td><td>{linked(marks(f))}</td></tr>"
        for f in b.figures
    ]
    return (
        [
            "<h2>Key figures</h2><table><tr><th>figure</th><th>what it counts</th><th>date</th><th>source</th></tr>"
        ]
        + rows
        + ["</table>"]
    )


def html_timeline(b: Briefing) -> list[str]:
    parts = (
        ["<h2>Timeline</h2><ul>"]
        + [li(f"{t['date']}: {t['event']} {marks(t)}") for t in b.timeline]
        + ["</ul>"]
    )
    if b.undated_events:
        parts += [
            '<p class="note">Not on the timeline: their articles state no date and the sentence gives no year:</p><ul>'
        ]
        parts += [li(f"{u['when']} ({u['note']}): {u['event']} {marks(u)}") for u in b.undated_events] + [
            "</ul>"
        ]
    return parts


def html_people_and_questions(b: Briefing) -> list[str]:
    parts = ["<h2>Who's who</h2><ul>"]
    parts += [
        li(
            f"{a['name']}"
            + (f" (also: {', '.join(a['aliases'])})" if a["aliases"] else "")
            + f": {a['role']} {marks(a)}"
        )
        for a in b.actors
    ]
    return (
        parts
        + ["</ul><h2>Open questions</h2><ul>"]
        + [li(f"{q['question']} {marks(q)}") for q in b.open_questions]
        + ["</ul>"]
    )


def html_sources(b: Briefing) -> list[str]:
    parts = ["<h2>Sources</h2><ul>"]
    for source in b.sources:
        quotes = "".join(
            f'<li id="c{c.n}">[{c.n}] <span class="quote">“{escape(c.quote)}”</span></li>'
            for c in b.citations
            if c.source == source["source"]
        )
        parts.append(f"<li>{escape(source_label(source))}<ul>{quotes}</ul></li>")
    return parts + ["</ul>"]


# --- "What changed" (`summarize --changes-since`, rag/briefings/briefing_changes.py) -----------------------------
NOTHING = "nothing"


def heading(changes: dict[str, Any]) -> str:
    return (
        f"What changed since {changes['since']}"
        if changes.get("since")
        else f"What changed since {changes['earlier']}"
    )


def change_lines(changes: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(subheading, plain-text lines with [n] markers) for every part, empty parts saying so."""
    parts = [
        ("New", [p["text"] for p in changes["new_points"]]),
        (
            "Figures that changed",
            [
                f"{f['what']}: {f['old']['figure']} {marks(f['old'])} then, {f['new']['figure']} {marks(f['new'])} now"
                for f in changes["changed_figures"]
            ],
        ),
        (
            "Newly named",
            [
                f"{a['name']}: {a['role'] or 'named in the articles'} {marks(a)}"
                for a in changes["actors_new"]
            ],
        ),
        (
            "No longer named",
            [f"{a['name']}: {a['role'] or 'named before'} {marks(a)}" for a in changes["actors_gone"]],
        ),
        (
            "Open questions now answered",
            [
                f"{q['question']} {marks({'citations': q['asked']})} Answer: {q['answer']['text']}"
                for q in changes["questions_answered"]
            ],
        ),
        ("Since then, by date", [f"{t['date']}: {t['event']} {marks(t)}" for t in changes["timeline"]]),
    ]
    return [(title, lines or [NOTHING]) for title, lines in parts]


def changes_markdown(changes: dict[str, Any]) -> list[str]:
    lines = [f"## {heading(changes)}", ""]
    for title, entries in change_lines(changes):
        lines += [f"### {title}", ""] + [f"- {e}" for e in entries] + [""]
    return lines


def changes_html(changes: dict[str, Any]) -> list[str]:
    parts = [f"<h2>{escape(heading(changes))}</h2>"]
    for title, entries in change_lines(changes):
        parts += [f"<h3>{escape(title)}</h3><ul>"] + [li(e) for e in entries] + ["</ul>"]
    return parts

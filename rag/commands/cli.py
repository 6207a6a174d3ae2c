"""`brief`: the command line. Each subcommand is a small function; heavy modules load inside them."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rag.commands.cli_desks import add_desk_arg, register_desks, register_history
from rag.commands.feeds_cli import register_feed
from rag.config.settings import PROJECT_ROOT, Settings, load_settings
from rag.errors import BriefError
from rag.questions.question_form import MODES
from rag.sources.files import write_text_safely
from rag.sources.progress import progress_bar
from rag.store.history import new_conversation_id

if TYPE_CHECKING:  # for annotations only: the CLI imports retrieval (and numpy) when a command needs it
    from rag.questions.retrieve import Scope

EXIT_USAGE = 2
EXIT_INTERNAL = 1


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(**overrides_of(args))
        return args.handler(args, settings) or 0
    except BriefError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: one line, the traceback only on request
        if os.environ.get("BRIEF_DEBUG"):
            raise
        print(
            f"internal error: {type(exc).__name__}: {exc} (run with BRIEF_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def overrides_of(args) -> dict:
    """The settings this command line sets: the command's own, and the desk where it takes --desk."""
    return {**getattr(args, "overrides", lambda a: {})(args), "desk": getattr(args, "desk", None)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brief", description="Ask questions about news articles and get answers with verified citations."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for register in (
        register_config,
        register_ingest,
        register_sources,
        register_ask,
        register_summarize,
        register_desks,
        register_history,
        register_feed,
    ):
        register(sub)
    for plugin in command_plugins():
        plugin(sub)
    return parser


# Each subcommand registers itself the way the plugins (eval, ui) do: register(subparsers).
def register_config(sub) -> None:
    p = sub.add_parser("config", help="print the effective settings")
    p.add_argument("--json", action="store_true", help="print the settings as one JSON object")
    p.set_defaults(handler=cmd_config)


def register_ingest(sub) -> None:
    p = sub.add_parser("ingest", help="add or update files, folders and links (default: seeds/)")
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH_OR_URL",
        help="files, folders and http(s) links to web pages or PDFs to ingest (default: seeds/)",
    )
    p.add_argument(
        "--prune", action="store_true", help="remove sources whose files are gone (articles from links stay)"
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--date", help="set (or correct) the publication date of the given files and links, YYYY-MM-DD"
    )
    add_desk_arg(p)  # a desk that does not exist yet is created with these articles
    p.set_defaults(handler=cmd_ingest)


def register_sources(sub) -> None:
    p = sub.add_parser("sources", help="list ingested sources")
    p.add_argument(
        "--json",
        action="store_true",
        help="print the sources as a JSON list (source, title, date, outlet, chunks, status, url)",
    )
    add_desk_arg(p)
    p.set_defaults(handler=cmd_sources)


def register_ask(sub) -> None:
    p = sub.add_parser("ask", help="answer a question with citations")
    p.add_argument("question", nargs="?", help="the question (or give --batch)")
    p.add_argument("--batch", type=Path, help="JSONL file; answer every row's 'question'")
    add_scope_args(p)
    p.add_argument("--k", type=int, help="chunks retrieved (setting retrieval_k)")
    p.add_argument(
        "--mode",
        type=str.lower,
        choices=MODES,
        help="how the question is taken: auto (the question-form classifier decides) or a form; default: the setting question_mode ('auto')",
    )
    p.add_argument(
        "--json", action="store_true", help="print the answer as one JSON object (one per line with --batch)"
    )
    p.add_argument("--no-stream", action="store_true", help="print the answer only when verified")
    add_desk_arg(p)
    p.add_argument(
        "--no-history",
        action="store_true",
        help="do not record this answer in the desk's history (setting keep_history)",
    )
    p.set_defaults(
        handler=cmd_ask,
        overrides=lambda a: {"retrieval_k": a.k, "keep_history": False if a.no_history else None},
    )


def register_summarize(sub) -> None:
    p = sub.add_parser("summarize", help="write a cited briefing")
    p.add_argument("--topic", help="brief on this topic only (default: every article in scope)")
    add_desk_arg(p)
    add_scope_args(p)
    p.add_argument("--json", action="store_true", help="print the briefing as one JSON object")
    p.add_argument(
        "--out",
        type=Path,
        action="append",
        help="write the briefing to this file: .md, .html (self-contained page) or .json (repeatable)",
    )
    p.add_argument(
        "--changes-since",
        metavar="DATE|OLD.json",
        help="what changed since YYYY-MM-DD (articles on or after it against those before), or since a briefing saved with --json",
    )
    p.set_defaults(handler=cmd_summarize)


def command_plugins() -> list[Callable]:
    """Subcommands contributed by the layers above rag/ (eval, ui) through the 'brief.commands'
    entry point group, so rag/ never imports them."""
    from importlib.metadata import entry_points

    return [ep.load() for ep in sorted(entry_points(group="brief.commands"), key=lambda ep: ep.name)]


def add_scope_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", help="only articles dated on or after YYYY-MM-DD")
    p.add_argument("--until", help="only articles dated on or before YYYY-MM-DD")
    p.add_argument("--source", action="append", help="only this source file (repeatable)")


def scope_from(args) -> Scope:
    from rag.questions.retrieve import Scope

    return Scope.parse(since=args.since, until=args.until, sources=args.source)


def make_desk(settings: Settings, create: bool = False):
    """The desk the settings name (--desk); only ingest may create one."""
    from rag.store.desks import open_desk

    return open_desk(settings, create=create)


# --- commands ------------------------------------------------------------------------------------
def cmd_config(args, settings: Settings) -> int:
    data = settings.public_dict()
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for key, value in data.items():
            print(f"{key} = {value}")
    return 0


def default_ingest_paths() -> list[Path]:
    """The checkout's seeds/ when no path is given; an installed package has none to offer."""
    seeds = PROJECT_ROOT / "seeds"
    if not seeds.is_dir():
        raise BriefError(
            f"no PATH given and no seeds folder at {seeds}",
            fix="name the files or folders to ingest: `brief ingest PATH ...`",
        )
    return [seeds]


def cmd_ingest(args, settings: Settings) -> int:
    from rag.sources.links import failed_links, ingest_links, split_links

    links, given = split_links(args.paths)
    paths = given or ([] if links else default_ingest_paths())
    desk = make_desk(settings, create=True)
    with progress_bar(disabled=args.quiet or args.json) as progress:
        if args.date:
            report = ingest_with_date(desk, links, given, args.date, args.prune, progress)
        else:
            report = ingest_links(desk, links, paths, prune=args.prune, progress=progress)
    # a link that failed, or a path that does not exist (a typo), fails the command; the rest is ingested
    missing = [p for p in given if not p.exists()]
    failed = EXIT_USAGE if failed_links(report, links) or missing else 0
    if args.json:
        from dataclasses import asdict

        print(json.dumps(asdict(report)))
        return failed
    for skipped in report.skipped:
        print(f"skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    for source in report.pruned:
        print(f"pruned {source}")
    print(report.summary())
    return failed


def ingest_with_date(desk, links: list[str], paths: list[Path], stated: str, prune: bool, progress):
    """Ingest the given files and links with a publication date the user states (it replaces the one
    read from the text, and re-labels unchanged files)."""
    from rag.questions.retrieve import check_date
    from rag.sources.links import ingest_links

    if not paths and not links:
        raise BriefError(
            "--date needs the files it applies to", fix="brief ingest FILE ... --date YYYY-MM-DD"
        )
    date = check_date(stated, "--date")
    return ingest_links(desk, links, paths, prune=prune, progress=progress, date=date)


def cmd_sources(args, settings: Settings) -> int:
    records = make_desk(
        settings
    ).listed_sources()  # complete ones; without Chroma when it can (rag/store/desk.py)
    rows = [
        {
            "source": r.source,
            "title": r.title,
            "date": r.date,
            "outlet": r.outlet,
            "chunks": r.n_chunks,
            "status": r.status,
            "url": r.url or None,  # the link a fetched article came from
        }
        for r in records
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    elif not rows:
        print("no sources yet: run `brief ingest` (default: seeds/)")
    else:
        for row in rows:
            print(
                f"{row['source']}\t{row['date'] or '-'}\t{row['outlet'] or '-'}\t{row['chunks']} chunks\t{row['title']}"
            )
    return 0


def cmd_ask(args, settings: Settings) -> int:
    from rag.questions.answer import Answerer

    if bool(args.question) == bool(args.batch):
        raise BriefError("give either a QUESTION or --batch FILE.jsonl", fix="see `brief ask --help`")
    answerer = Answerer(make_desk(settings))
    scope = scope_from(args)
    if args.batch:
        return ask_batch(answerer, args.batch, scope, args.json, args.mode)
    if args.json or args.no_stream or not sys.stdout.isatty():
        answer = answerer.ask(args.question, scope=scope, mode=args.mode)
    else:
        answer = answerer.ask(args.question, scope=scope, on_token=stream_draft, mode=args.mode)
        print("\r\033[K", end="", file=sys.stderr)
    print(json.dumps(answer.to_json(), ensure_ascii=False) if args.json else answer.to_text())
    answerer.desk.record_turn(new_conversation_id(), answer.to_json())  # `brief history` shows it
    return 0


def stream_draft(token: str) -> None:
    """Show the draft as it is written (stderr); the verified answer replaces it on stdout."""
    print(token, end="", file=sys.stderr, flush=True)


def ask_batch(answerer, path: Path, scope, as_json: bool, mode: str | None = None) -> int:
    from rag.questions.answer import read_batch

    conversation = new_conversation_id()  # the whole batch is one conversation in the history
    for row in read_batch(path):
        answer = answerer.ask(row["question"], scope=scope, qid=row.get("id"), mode=row.get("mode") or mode)
        print(
            json.dumps(answer.to_json(), ensure_ascii=False)
            if as_json
            else f"[{row.get('id')}] {answer.to_text()}\n",
            flush=True,
        )
        answerer.desk.record_turn(conversation, answer.to_json())
    return 0


def cmd_summarize(args, settings: Settings) -> int:
    from rag.briefings.briefing_changes import write_briefing
    from rag.briefings.summarize import Summarizer

    formats = [(path, export_format(path)) for path in args.out or []]
    summarizer = Summarizer(make_desk(settings))
    with progress_bar(disabled=args.json) as progress:
        briefing = write_briefing(summarizer, args.topic, scope_from(args), args.changes_since, progress)
    for path, kind in formats:
        write_text_safely(path, briefing.export(kind))
        print(f"wrote {path}", file=sys.stderr)
    print(json.dumps(briefing.to_json(), ensure_ascii=False) if args.json else briefing.to_markdown())
    return 0


def export_format(path: Path) -> str:
    kinds = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".json": "json"}
    if path.suffix.lower() not in kinds:
        raise BriefError(f"cannot tell the format of {path.name}", fix="end --out with .md, .html or .json")
    return kinds[path.suffix.lower()]


if __name__ == "__main__":
    sys.exit(main())

"""`brief`: the command line. Each subcommand is a small function; heavy modules load inside them."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import BriefError
from rag.settings import PROJECT_ROOT, Settings, load_settings

if TYPE_CHECKING:  # for annotations only: the CLI imports retrieval (and numpy) when a command needs it
    from rag.retrieve import Scope

EXIT_USAGE = 2
EXIT_INTERNAL = 1


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(**getattr(args, "overrides", lambda a: {})(args))
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brief", description="Ask questions about news articles and get answers with verified citations."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for register in (register_config, register_ingest, register_sources, register_ask, register_summarize):
        register(sub)
    for plugin in command_plugins():
        plugin(sub)
    return parser


# Each subcommand registers itself the way the plugins (eval, ui) do: register(subparsers).
def register_config(sub) -> None:
    p = sub.add_parser("config", help="print the effective settings")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_config)


def register_ingest(sub) -> None:
    p = sub.add_parser("ingest", help="add or update files and folders (default: seeds/)")
    p.add_argument("paths", nargs="*", type=Path)
    p.add_argument("--prune", action="store_true", help="remove sources whose files are gone")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--date", help="set (or correct) the publication date of the given files, YYYY-MM-DD")
    p.set_defaults(handler=cmd_ingest)


def register_sources(sub) -> None:
    p = sub.add_parser("sources", help="list ingested sources")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_sources)


def register_ask(sub) -> None:
    p = sub.add_parser("ask", help="answer a question with citations")
    p.add_argument("question", nargs="?")
    p.add_argument("--batch", type=Path, help="JSONL file; answer every row's 'question'")
    add_scope_args(p)
    p.add_argument("--k", type=int, help="chunks retrieved (setting retrieval_k)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-stream", action="store_true", help="print the answer only when verified")
    p.set_defaults(handler=cmd_ask, overrides=lambda a: {"retrieval_k": a.k})


def register_summarize(sub) -> None:
    p = sub.add_parser("summarize", help="write a cited briefing")
    p.add_argument("--topic")
    add_scope_args(p)
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--out",
        type=Path,
        action="append",
        help="write the briefing to this file: .md, .html (self-contained page) or .json (repeatable)",
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
    from rag.retrieve import Scope

    return Scope.parse(since=args.since, until=args.until, sources=args.source)


def make_desk(settings: Settings):
    from rag.desk import Desk

    return Desk(settings)


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
    paths = args.paths or default_ingest_paths()
    desk = make_desk(settings)
    with progress_bar(disabled=args.quiet or args.json) as progress:
        if args.date:
            report = ingest_with_date(desk, args.paths, args.date, args.prune, progress)
        else:
            report = desk.ingest(paths, prune=args.prune, progress=progress)
    if args.json:
        from dataclasses import asdict

        print(json.dumps(asdict(report)))
        return 0
    for skipped in report.skipped:
        print(f"skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    for source in report.pruned:
        print(f"pruned {source}")
    print(report.summary())
    return 0


def ingest_with_date(desk, paths: list[Path], stated: str, prune: bool, progress):
    """Ingest the given files with a publication date the user states (it replaces the one read from
    the text, and re-labels unchanged files)."""
    from dataclasses import replace

    from rag.retrieve import check_date
    from vectorstore.ingest import ingest

    if not paths:
        raise BriefError(
            "--date needs the files it applies to", fix="brief ingest FILE ... --date YYYY-MM-DD"
        )
    options = replace(desk.ingest_options(), date=check_date(stated, "--date"))
    return ingest(
        [Path(p) for p in paths], desk.store, desk.embedder, options, prune=prune, progress=progress
    )


class progress_bar:
    """tqdm on stderr as a (done, total, name) callback; silent when disabled or not a terminal."""

    def __init__(self, disabled: bool):
        self.disabled = disabled
        self.bar = None

    def __enter__(self) -> Callable[[int, int, str], None]:
        return self.update

    def update(self, done: int, total: int, name: str) -> None:
        if self.disabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="file", file=sys.stderr, leave=False, disable=None)
        self.bar.set_postfix_str(name[:40])
        self.bar.update(done - self.bar.n)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_sources(args, settings: Settings) -> int:
    records = make_desk(settings).sources()
    rows = [
        {
            "source": r.source,
            "title": r.title,
            "date": r.date,
            "outlet": r.outlet,
            "chunks": r.n_chunks,
            "status": r.status,
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
    from rag.answer import Answerer

    if bool(args.question) == bool(args.batch):
        raise BriefError("give either a QUESTION or --batch FILE.jsonl", fix="see `brief ask --help`")
    answerer = Answerer(make_desk(settings))
    scope = scope_from(args)
    if args.batch:
        return ask_batch(answerer, args.batch, scope, args.json)
    if args.json or args.no_stream or not sys.stdout.isatty():
        answer = answerer.ask(args.question, scope=scope)
    else:
        answer = answerer.ask(args.question, scope=scope, on_token=stream_draft)
        print("\r\033[K", end="", file=sys.stderr)
    print(json.dumps(answer.to_json(), ensure_ascii=False) if args.json else answer.to_text())
    return 0


def stream_draft(token: str) -> None:
    """Show the draft as it is written (stderr); the verified answer replaces it on stdout."""
    print(token, end="", file=sys.stderr, flush=True)


def ask_batch(answerer, path: Path, scope, as_json: bool) -> int:
    from rag.answer import read_batch

    for row in read_batch(path):
        answer = answerer.ask(row["question"], scope=scope, qid=row.get("id"))
        print(
            json.dumps(answer.to_json(), ensure_ascii=False)
            if as_json
            else f"[{row.get('id')}] {answer.to_text()}\n",
            flush=True,
        )
    return 0


def cmd_summarize(args, settings: Settings) -> int:
    from rag.summarize import Summarizer

    formats = [(path, export_format(path)) for path in args.out or []]
    summarizer = Summarizer(make_desk(settings))
    with progress_bar(disabled=args.json) as progress:
        briefing = summarizer.summarize(topic=args.topic, scope=scope_from(args), progress=progress)
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


def write_text_safely(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BriefError(f"cannot write {path}: {exc.strerror}", fix="choose a writable --out path") from None


if __name__ == "__main__":
    sys.exit(main())

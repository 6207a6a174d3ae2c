"""`brief desks` and `brief history`: the desks of a data folder, and what was asked at each.

Listing desks reads the registry and each desk's keyword ledger only (rag/store/desk_registry.py): it imports
neither chromadb nor the models, so it answers in well under a second on any store.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.config.settings import Settings
from rag.config.settings_desks import DESK_NAME_RULE, check_desk_name
from rag.errors import BriefError
from rag.sources.files import write_text_safely


def desk_arg(value: str) -> str:
    """argparse type of --desk and desk names: the checked name, or argparse's one-line usage error."""
    try:
        return check_desk_name(value)
    except BriefError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_desk_arg(p: argparse.ArgumentParser) -> None:
    """--desk on a command that reads or writes articles (the 'desk' setting; main() passes it on)."""
    p.add_argument(
        "--desk",
        type=desk_arg,
        metavar="NAME",
        help=f"the desk to act on (setting desk; default 'default'); {DESK_NAME_RULE}; `brief desks` lists them",
    )


def register_desks(sub) -> None:
    p = sub.add_parser("desks", help="list desks with article counts and date ranges; create or delete one")
    p.add_argument("--json", action="store_true", help="print the desks as a JSON list")
    p.set_defaults(handler=cmd_desks)
    actions = p.add_subparsers(dest="desks_action", metavar="{create,delete}")
    create = actions.add_parser("create", help="add an empty desk (ingest into it with --desk NAME)")
    create.add_argument("name", type=desk_arg, help="the new desk's name")
    create.set_defaults(handler=cmd_desks_create)
    delete = actions.add_parser(
        "delete", help="remove a desk's articles, keyword index, uploads and history (asks first)"
    )
    delete.add_argument("name", type=desk_arg, help="the desk to delete")
    delete.add_argument(
        "--yes", action="store_true", help="delete without asking (needed without a terminal)"
    )
    delete.set_defaults(handler=cmd_desks_delete)


def register_history(sub) -> None:
    p = sub.add_parser("history", help="the questions asked at a desk, with their answers and citations")
    add_desk_arg(p)
    p.add_argument("--json", action="store_true", help="print the conversations as one JSON object")
    p.add_argument(
        "--markdown", type=Path, metavar="FILE", help="also write the conversations to FILE as Markdown"
    )
    p.add_argument(
        "--limit", type=int, metavar="N", help="only the N most recent conversations (default: all)"
    )
    p.add_argument("--conversation", metavar="ID", help="only this conversation (ids: `brief history`)")
    p.set_defaults(handler=cmd_history)


# --- commands ------------------------------------------------------------------------------------
def cmd_desks(args, settings: Settings) -> int:
    from rag.store.desk_registry import DeskRegistry

    summaries = DeskRegistry.of(settings).summaries()
    if args.json:
        print(json.dumps([s.to_json() for s in summaries], ensure_ascii=False))
    else:
        for summary in summaries:
            print(summary.to_text())
    return 0


def cmd_desks_create(args, settings: Settings) -> int:
    from rag.store.desk_registry import DeskRegistry

    registry = DeskRegistry.of(settings)
    if registry.exists(args.name):
        print(f"desk '{args.name}' already exists")
        return 0
    registry.create(args.name)
    print(f"created desk '{args.name}': `brief ingest --desk {args.name} PATH` adds articles to it")
    return 0


def cmd_desks_delete(args, settings: Settings) -> int:
    from rag.store.desk_registry import DeskRegistry, count_of
    from rag.store.desks import delete_desk

    registry = DeskRegistry.of(settings)
    summary = registry.summary(registry.require(args.name))
    what = f"desk '{args.name}' ({count_of(summary.articles, 'article')}, its keyword index, uploads and history)"
    if not args.yes and not confirmed(f"Delete {what}? [y/N] "):
        print("nothing deleted", file=sys.stderr)
        return 1
    removal = delete_desk(settings, args.name)
    print(f"deleted {what}: {len(removal.collections)} collections, {len(removal.folders)} folders")
    return 0


def confirmed(prompt: str) -> bool:
    """Ask on the terminal; without one, refuse rather than guess."""
    if not sys.stdin.isatty():
        raise BriefError("not deleting without confirmation", fix="run it in a terminal, or add --yes")
    return input(prompt).strip().lower() in ("y", "yes")


def cmd_history(args, settings: Settings) -> int:
    from rag.store.desk_registry import DeskRegistry, desk_folder
    from rag.store.history import HISTORY_FILE, History, history_json, history_markdown

    if args.limit is not None and args.limit < 1:
        raise BriefError(f"--limit {args.limit} is not a positive number", fix="give --limit 1 or more")
    desk = DeskRegistry.of(settings).require(settings.desk)
    history = History(desk_folder(Path(settings.data_dir), desk) / HISTORY_FILE)
    conversations = (
        history.conversations([args.conversation]) if args.conversation else history.latest(args.limit)
    )
    if args.conversation and not conversations[0].turns:
        raise BriefError(
            f"no conversation '{args.conversation}' at desk '{desk}'", fix="`brief history` lists them"
        )
    if args.markdown:
        write_text_safely(args.markdown, history_markdown(desk, conversations), "--markdown")
        print(f"wrote {args.markdown}", file=sys.stderr)
    if args.json:
        print(json.dumps(history_json(desk, conversations), ensure_ascii=False))
    elif not args.markdown:
        print_history(desk, conversations, full=bool(args.conversation))
    return 0


def print_history(desk: str, conversations, full: bool) -> None:
    """One line per conversation (id, start, turns, first question); a single one in full."""
    from rag.store.desk_registry import count_of
    from rag.store.history import history_markdown, iso_time

    if full:
        print(history_markdown(desk, conversations), end="")
    elif not conversations:
        print(f"no questions asked at desk '{desk}' yet: `brief ask --desk {desk} QUESTION`")
    else:
        for c in conversations:
            print(f"{c.id}\t{iso_time(c.turns[0].asked_at)}\t{count_of(len(c.turns), 'turn')}\t{c.title}")

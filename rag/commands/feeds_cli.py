"""`brief feed add|list|update|remove`: follow RSS and Atom feeds (the work is in rag/sources/feeds.py)."""

from __future__ import annotations

import json
import sys

from rag.commands.cli_desks import add_desk_arg
from rag.config.settings import Settings

EXIT_INCOMPLETE = 2  # something asked for was not done (each reason printed above)
NO_FEEDS = "no feeds followed yet: `brief feed add URL`"


def register_feed(sub) -> None:
    p = sub.add_parser("feed", help="follow RSS and Atom feeds and ingest their new entries")
    actions = p.add_subparsers(dest="feed_command", required=True, metavar="{add,list,update,remove}")
    add = actions.add_parser("add", help="follow a feed; `brief feed update` ingests its entries")
    add.add_argument("url", help="address of the RSS or Atom feed (http:// or https://)")
    add_desk_arg(add)  # each desk follows its own feeds
    add.set_defaults(handler=cmd_feed_add)
    listing = actions.add_parser("list", help="list the followed feeds")
    listing.add_argument("--json", action="store_true", help="print the feeds as one JSON list")
    add_desk_arg(listing)
    listing.set_defaults(handler=cmd_feed_list)
    update = actions.add_parser(
        "update", help="fetch every followed feed and ingest the entries not ingested before"
    )
    update.add_argument("--json", action="store_true", help="print what each feed brought as JSON")
    update.add_argument("--quiet", action="store_true", help="no progress bar")
    add_desk_arg(update)  # a desk that does not exist yet is created with the entries
    update.set_defaults(handler=cmd_feed_update)
    remove = actions.add_parser("remove", help="stop following a feed (the articles it brought stay)")
    remove.add_argument("url", help="the feed's address, as `brief feed list` shows it")
    add_desk_arg(remove)
    remove.set_defaults(handler=cmd_feed_remove)


def cmd_feed_add(args, settings: Settings) -> int:
    from rag.sources.feeds import add_feed

    feed, entries, known = add_feed(settings, args.url)
    if known:
        print(f"already following {feed.title!r} ({feed.url})")
    else:
        print(f"following {feed.title!r} ({feed.url}): {entries} entries; `brief feed update` ingests them")
    return 0


def cmd_feed_list(args, settings: Settings) -> int:
    from rag.sources.feeds import list_feeds

    rows = [feed.summary() for feed in list_feeds(settings)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not rows:
        print(NO_FEEDS)
    for row in rows:
        updated = row["updated_at"] or "never updated"
        print(f"{row['url']}\t{row['entries_ingested']} entries ingested\t{updated}\t{row['title']}")
    return 0


def cmd_feed_update(args, settings: Settings) -> int:
    from rag.sources.feeds import update_feeds
    from rag.sources.progress import progress_bar
    from rag.store.desks import open_desk

    with progress_bar(disabled=args.quiet or args.json) as progress:
        outcomes = update_feeds(open_desk(settings, create=True), progress=progress)
    if args.json:
        print(json.dumps({"feeds": [o.to_json() for o in outcomes]}, ensure_ascii=False))
    elif not outcomes:
        print(NO_FEEDS)
    else:
        for outcome in outcomes:
            print_outcome(outcome)
    incomplete = any(o.error or o.failed for o in outcomes)
    return EXIT_INCOMPLETE if incomplete else 0


def print_outcome(outcome) -> None:
    if outcome.error:
        print(f"error: {outcome.error}", file=sys.stderr)
        return
    for skipped in outcome.failed:
        print(f"skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    print(
        f"{outcome.title} ({outcome.url}): {outcome.new} new, {outcome.unchanged} unchanged, "
        f"{len(outcome.failed)} failed of {outcome.entries} entries; {outcome.new_chunks} new chunks"
    )


def cmd_feed_remove(args, settings: Settings) -> int:
    from rag.sources.feeds import remove_feed

    feed = remove_feed(settings, args.url)
    print(f"stopped following {feed.title!r} ({feed.url}); its articles stay in the library")
    return 0

"""`brief eval`: registered into the `brief` CLI through the 'brief.commands' entry point."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def register(sub) -> None:
    from rag.commands.cli_desks import add_desk_arg

    p = sub.add_parser("eval", help="run the citation eval suite (our JSONL sets or official SQuAD 2.0 JSON)")
    p.add_argument(
        "--set",
        dest="eval_set",
        type=Path,
        help="eval set: our JSONL, or SQuAD 2.0 JSON (ingested into a throwaway store) (default eval/sets/seeds.jsonl)",
    )
    p.add_argument(
        "--split",
        choices=["all", "fit", "choose", "report"],
        help="part of a set with a recorded fitting/reporting split (default: report for those, all otherwise)",
    )
    p.add_argument(
        "--store",
        choices=["all", "part"],
        default="all",
        help="SQuAD sets: store every article of the file and ask the part's questions among them (all, default: open retrieval), or store only the part's articles",
    )
    p.add_argument("--articles", help="SQuAD sets: the first N articles, or comma-separated titles")
    p.add_argument("--limit", type=int, help="only N questions, spread evenly over the set")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.add_argument(
        "--out",
        type=Path,
        help="folder for report.md, results.jsonl, metrics.json, a chart and a RAGAS-style export",
    )
    p.add_argument(
        "--compare", action="store_true", help="also run the naive LangChain chain and show it beside ours"
    )
    add_tls_args(p)
    add_desk_arg(p)  # our own sets are asked of the desk's articles; SQuAD sets get a throwaway store
    p.set_defaults(handler=cmd_eval)


def add_tls_args(p) -> None:
    """The Timeline17 options (eval/tls.py)."""
    p.add_argument(
        "--tls",
        type=Path,
        action="append",
        metavar="TOPIC_DIR",
        help="score the briefing's timeline on a topic folder laid out like ../shared/public-tls/t17/<topic> (repeatable; a folder of topic folders stands for all)",
    )
    p.add_argument(
        "--tls-max-articles", type=int, metavar="N", help="--tls: only N articles per topic, spread evenly"
    )


def cmd_eval(args, settings) -> int:
    from rag.errors import BriefError
    from rag.store.desks import open_desk

    if args.limit is not None and args.limit < 1:
        raise BriefError(f"--limit {args.limit} is not a positive number", fix="give --limit 1 or more")
    if args.tls:
        from eval.tls import run_tls_command

        return run_tls_command(
            open_desk(settings), args.tls, args.json, args.tls_max_articles, stderr_progress
        )
    return run_eval_command(
        open_desk(settings),
        eval_set=args.eval_set,
        as_json=args.json,
        out=args.out,
        compare=args.compare,
        limit=args.limit,
        split=args.split,
        articles=args.articles,
        store=args.store,
    )


def run_eval_command(
    desk,
    eval_set: Path | None,
    as_json: bool,
    out: Path | None,
    compare: bool,
    limit: int | None,
    split: str | None = None,
    articles: str | None = None,
    store: str = "all",
) -> int:
    from eval.report import comparison_table, write_outputs
    from eval.runner import run_eval
    from eval.sets_io import eval_set_path

    path = eval_set or eval_set_path(desk.settings)
    report = run_eval(
        desk,
        path,
        compare=compare,
        limit=limit,
        progress=stderr_progress,
        split=split,
        articles=articles,
        store=store,
    )
    if out:
        write_outputs(report, out)
        print(f"wrote {out}/report.md, results.jsonl, metrics.json, chart.png, ragas.jsonl", file=sys.stderr)
    print(json.dumps(report.metrics_json()) if as_json else comparison_table(report))
    return 0


def stderr_progress(done: int, total: int, label: str) -> None:
    end = "\n" if done == total else ""
    print(f"\r  {done}/{total} {label[:60]:<60}", end=end, file=sys.stderr, flush=True)

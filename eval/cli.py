"""`brief eval`: registered into the `brief` CLI through the 'brief.commands' entry point."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("eval", help="run the citation eval suite")
    p.add_argument("--set", dest="eval_set", type=Path, help="eval set JSONL (default eval/sets/seeds.jsonl)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--out", type=Path, help="folder for report.md, results.jsonl, a chart and a RAGAS-style export")
    p.add_argument("--compare", action="store_true", help="also run the naive LangChain chain and show both side by side")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.set_defaults(handler=cmd_eval)


def cmd_eval(args, settings) -> int:
    from eval.runner import run_eval_command
    from rag.desk import Desk

    return run_eval_command(Desk(settings), eval_set=args.eval_set, as_json=args.json, out=args.out, compare=args.compare, limit=args.limit)

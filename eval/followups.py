"""Follow-up questions: what condensing them into standalone questions is worth, measured.

`python -m eval.followups [--json] [--out F]` asks every follow-up of eval/sets/followups.jsonl (a
hand-written follow-up to a real SQuAD 2.0 dev question, on the 8 articles of the reporting part of
that file's split) in three conditions:

- ``llm``: with its history, the LLM condensing it (rag/questions/answer.py `Answerer.condense`,
  prompt prompts/condense.txt; the embedded Gemma by default);
- ``fallback``: with its history, no LLM: the follow-up with the previous question appended;
- ``no_history``: the follow-up alone, as a floor.

The articles' paragraphs are ingested into a throwaway store (eval/runner.py `store_for`), and the
LLM writes no answer sentence in any condition (llm_sentence=never), so the conditions differ only in
the question that is retrieved and read. A follow-up is right when a gold answer is in the short
answer (a withheld short answer counts as wrong), and, leniently, anywhere in the answer.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval import metrics as M
from eval import squad
from eval.cli import stderr_progress
from eval.runner import Progress, ours_output, report_progress, store_for
from eval.sets_io import SETS_DIR, load_eval_questions
from rag.models.llm import EMBEDDED_BACKEND, SERVER_BACKENDS

FOLLOWUPS = SETS_DIR / "followups.jsonl"
SQUAD_DEV = squad.PUBLIC_DIR / "squad2-dev-32-articles.json"
FIELDS = {"id": str, "article": str, "history": list, "question": str, "gold_answers": list}


@dataclass(frozen=True)
class Condition:
    name: str
    llm: str  # "condenser": the LLM under test; "none": the extractive backend (no LLM)
    with_history: bool
    label: str


CONDITIONS = (
    Condition("llm", "condenser", True, "LLM condenses the follow-up"),
    Condition("fallback", "none", True, "no LLM: follow-up + (previous question)"),
    Condition("no_history", "none", False, "follow-up alone (floor)"),
)


def load_followups(path: Path) -> list[dict]:
    """The follow-up rows; ValueError naming the line on a bad one."""

    def problem(row: dict) -> str | None:
        if not row["history"] or not row["gold_answers"]:
            return "a follow-up needs a history and gold answers"
        return None

    return M.load_jsonl_rows(path, FIELDS, problem)


# --- asking ---------------------------------------------------------------------------------------------
def ask_condition(desk, rows: list[dict], llm, with_history: bool, progress: Progress | None, name: str):
    """Every follow-up asked of ``desk`` with ``llm`` as its LLM: one record per row."""
    from rag.questions.answer import Answerer

    desk.llm = llm
    # the LLM under test condenses every follow-up: llm_condense=auto would skip the embedded model
    desk.settings = desk.settings.model_copy(update={"llm_condense": "always"})
    answerer = Answerer(desk)
    records = []
    for i, row in enumerate(rows, 1):
        started = time.perf_counter()
        history = row["history"] if with_history else None
        answer = answerer.ask(row["question"], history=history, qid=row["id"])
        out = ours_output(answer, (time.perf_counter() - started) * 1000)
        golds = [row["gold_answers"]]
        records.append(
            {
                "id": row["id"],
                "asked": answer.standalone_question or row["question"],
                "refused": out.refused,
                "short_answer": out.short_answer,
                "answer": out.answer,
                "short_correct": M.answer_correct(out.short_answer or "", golds),
                "answer_correct": not out.refused and M.answer_correct(out.answer, golds),
                "condense_ms": answer.timings_ms.get("condense", 0),
                "latency_ms": round(out.latency_ms),
            }
        )
        report_progress(progress, i, len(rows), f"{name} {row['id']}")
    return records


def measure(desk, rows: list[dict], condenser, plain, progress: Progress | None = None) -> dict[str, Any]:
    """Ask every row in each condition on ``desk`` (which holds the articles); ``condenser`` is the
    LLM under test, ``plain`` the backend without one. Scored and summarised."""
    llms = {"condenser": condenser, "none": plain}
    by_condition = {
        c.name: ask_condition(desk, rows, llms[c.llm], c.with_history, progress, c.name) for c in CONDITIONS
    }
    rewritten = [
        a["asked"] != b["asked"] for a, b in zip(by_condition["llm"], by_condition["fallback"], strict=True)
    ]
    summary = {c.name: summarise(by_condition[c.name], c) for c in CONDITIONS}
    summary["llm"]["llm_rewrite_used"] = share(rewritten)
    # a rewrite that is the follow-up itself passes the check and drops the context the fallback keeps
    summary["llm"]["llm_rewrite_unchanged"] = share(
        [r["asked"] == row["question"] for r, row in zip(by_condition["llm"], rows, strict=True)]
    )
    return {
        "n": len(rows),
        "llm_backend": condenser.name,
        "conditions": summary,
        "paired": {
            f"{a}_vs_{b}": paired(by_condition[a], by_condition[b], "short_correct")
            for a, b in (("llm", "fallback"), ("llm", "no_history"), ("fallback", "no_history"))
        },
        "rows": [
            {
                **{k: row[k] for k in ("id", "article", "history", "question", "gold_answers")},
                "llm_rewrite_used": used,
                **{name: records[i] for name, records in by_condition.items()},
            }
            for i, (row, used) in enumerate(zip(rows, rewritten, strict=True))
        ],
    }


# --- scoring ----------------------------------------------------------------------------------------------
def share(flags: list[bool]) -> dict[str, Any]:
    k, n = sum(flags), len(flags)
    low, high = M.wilson_interval(k, n)
    return {"k": k, "n": n, "rate": k / n if n else 0.0, "wilson95": [round(low, 4), round(high, 4)]}


def summarise(records: list[dict], condition: Condition) -> dict[str, Any]:
    return {
        "label": condition.label,
        "short_correct": share([r["short_correct"] for r in records]),
        "answer_correct": share([r["answer_correct"] for r in records]),
        "refused": share([r["refused"] for r in records]),
        "short_shown": share([bool(r["short_answer"]) for r in records]),
        "condense_ms_p50": M.percentile([r["condense_ms"] for r in records], 50),
        "latency_ms_p50": M.percentile([r["latency_ms"] for r in records], 50),
    }


def paired(a: list[dict], b: list[dict], key: str) -> dict[str, Any]:
    """Right in both, in a only, in b only, in neither; the exact two-sided McNemar (sign) test on the
    discordant pairs."""
    only_a = sum(x[key] and not y[key] for x, y in zip(a, b, strict=True))
    only_b = sum(y[key] and not x[key] for x, y in zip(a, b, strict=True))
    both = sum(x[key] and y[key] for x, y in zip(a, b, strict=True))
    return {
        "metric": key,
        "both": both,
        "only_first": only_a,
        "only_second": only_b,
        "neither": len(a) - both - only_a - only_b,
        "mcnemar_exact_p": sign_test(only_a, only_b),
    }


def sign_test(b: int, c: int) -> float:
    """Two-sided exact binomial test of b against b + c at p = 1/2."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


# --- report -------------------------------------------------------------------------------------------------
def fmt(s: dict[str, Any]) -> str:
    low, high = s["wilson95"]
    return f"{100 * s['rate']:.1f}% ({s['k']}/{s['n']}; {100 * low:.0f}-{100 * high:.0f})"


def table(report: dict[str, Any]) -> str:
    conds = report["conditions"]
    names = [c.name for c in CONDITIONS]
    lines = [
        f"Follow-ups: {report['n']} ({report['set']}), asked of the {len(report['articles'])} reporting "
        f"articles of {report['squad']}; LLM {report['llm_backend']}; measured {report['measured_at']}",
        "",
        "| metric | " + " | ".join(f"{n}: {conds[n]['label']}" for n in names) + " |",
        "| --- |" + " --- |" * len(names),
    ]
    rows = [
        ("gold answer in the short answer", "short_correct"),
        ("gold answer anywhere in the answer", "answer_correct"),
        ("refused", "refused"),
        ("short answer shown", "short_shown"),
    ]
    for label, key in rows:
        lines.append(f"| {label} | " + " | ".join(fmt(conds[n][key]) for n in names) + " |")
    lines.append(
        "| condense p50 (ms) | " + " | ".join(f"{conds[n]['condense_ms_p50']:.0f}" for n in names) + " |"
    )
    lines.append(
        "| answer p50 (ms) | " + " | ".join(f"{conds[n]['latency_ms_p50']:.0f}" for n in names) + " |"
    )
    lines += [
        "",
        f"LLM rewrite kept (else the fallback form): {fmt(conds['llm']['llm_rewrite_used'])}; "
        f"of all follow-ups, kept but word for word the follow-up: {fmt(conds['llm']['llm_rewrite_unchanged'])}",
    ]
    for name, p in report["paired"].items():
        first, second = name.split("_vs_")
        lines.append(
            f"{first} vs {second} (short answer right): both {p['both']}, only {first} {p['only_first']}, "
            f"only {second} {p['only_second']}, neither {p['neither']}; exact McNemar p = {p['mcnemar_exact_p']:.3f}"
        )
    return "\n".join(lines)


# --- command --------------------------------------------------------------------------------------------------
def run(settings, followups: Path, squad_set: Path, limit: int | None, progress: Progress | None) -> dict:
    from rag.models.llm import make_llm
    from rag.store.desk import Desk

    rows = load_followups(followups)[:limit] if limit else load_followups(followups)
    evalset = load_eval_questions(squad_set, split="report", store="part")
    missing = sorted({r["article"] for r in rows} - set(evalset.articles))
    if missing:
        raise ValueError(f"follow-ups about articles outside the reporting part: {', '.join(missing)}")
    settings = settings.model_copy(update={"llm_sentence": "never"})  # the LLM only condenses here
    condenser = make_llm(settings)
    condenser.warm_up()  # an LLM that cannot load fails here, not silently as the fallback
    plain = make_llm(settings.model_copy(update={"llm_backend": "extractive"}))
    with store_for(Desk(settings), evalset, progress) as desk:
        report = measure(desk, rows, condenser, plain, progress)
    return {
        "set": str(followups.name),
        "squad": squad_set.name,
        "articles": evalset.articles,
        "measured_at": time.strftime("%Y-%m-%d"),
        "embedder": settings.embedder,
        "llm_threads": settings.llm_threads,
        **report,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m eval.followups", description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=FOLLOWUPS, help="follow-up rows (JSONL)")
    parser.add_argument("--squad", type=Path, default=SQUAD_DEV, help="the SQuAD 2.0 JSON they are about")
    parser.add_argument(
        "--llm-backend",
        default=EMBEDDED_BACKEND,
        choices=[EMBEDDED_BACKEND, *SERVER_BACKENDS],
        help="the LLM that condenses (default: the embedded Gemma)",
    )
    parser.add_argument("--limit", type=int, help="only the first N follow-ups")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--out", type=Path, help="write the whole report (every row) as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from rag.config.settings import load_settings
    from rag.errors import BriefError

    args = parse_args(argv)
    try:
        settings = load_settings(llm_backend=args.llm_backend)
        report = run(settings, args.set, args.squad, args.limit, stderr_progress)
    except (BriefError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    summary = {k: v for k, v in report.items() if k != "rows"}
    print(json.dumps(summary, indent=1) if args.json else table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Timeline17 runs for the README: choose the timeline weights on the choosing topics, then report
`brief eval --tls` and `summarize --changes-since` on the reporting topics (eval/sets/splits.json,
key "timeline17", recorded before any number was computed).

    python -m bench.tls choose   # grid of the two day-ranking weights; writes eval/results/tls-choose-DATE.json
    python -m bench.tls choose --vary length   # then the sentence length limit; tls-choose-length-DATE.json
    python -m bench.tls choose --vary spread   # then spreading days over time; tls-choose-spread-DATE.json
    python -m bench.tls report   # our scores, the chance rows and changes-since; eval/results/tls-report-DATE.json

`choose` prints the best weights; set them as the defaults of timeline_publication_weight and
timeline_later_weight (rag/config/settings_briefing.py), then the best timeline_max_sentence_words
(`--vary length`), then timeline_spread_weight and timeline_spread_days (`--vary spread`), before
running `report`. Each topic is ingested
once into a throwaway store; the timeline itself embeds nothing, so `choose` can run with
BRIEF_EMBEDDER=hash (the scores are the same); `report` embeds for the changes-since briefings.

Changes-since (issue 31): each reporting topic is split at the median publication date of its
articles (those within its gold timeline's span, as ingested); `summarize --changes-since MEDIAN`
must cite only articles dated on or after it in what it reports as new (new points, the timeline
since, new figure values, newly named actors, answers), every timeline day must be on or after it,
and its timeline's date F1 is scored against the gold days on or after it (asked for that many days).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from eval import tls
from eval import tls_metrics as M
from eval.squad import load_splits

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
T17 = ROOT.parent / "shared" / "public-tls" / "t17"
RESULTS = ROOT / "eval" / "results"
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)  # the grid of both day-ranking weights
# timeline_max_sentence_words (0: no limit), tried with the day-ranking weights as set
LENGTHS = (0, 20, 25, 30, 35, 40, 50)
# timeline_spread_weight x timeline_spread_days (weight 0: no spreading), with the settings above as set
SPREAD_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 1.5)
SPREAD_DAYS = (7.0, 15.0, 30.0, 60.0, 120.0)
PRIMARY = ("rouge1_align_f", "date_f1")  # the choice: best mean alignment ROUGE-1 F, then date F1


def part_topics(part: str) -> list[Path]:
    names = load_splits()["timeline17"][part]
    return [T17 / name for name in names]


def grid_of(vary: str) -> list[dict[str, float]]:
    """The settings tried: both day-ranking weights, the sentence length limit, or the spreading."""
    if vary == "weights":
        return [
            {"timeline_publication_weight": p, "timeline_later_weight": w}
            for p, w in itertools.product(WEIGHTS, WEIGHTS)
        ]
    if vary == "spread":
        return [
            {"timeline_spread_weight": w, "timeline_spread_days": d}
            for w, d in itertools.product(SPREAD_WEIGHTS, SPREAD_DAYS)
        ]
    return [{"timeline_max_sentence_words": n} for n in LENGTHS]


def choose(desk, max_articles: int | None, vary: str = "weights") -> dict[str, Any]:
    """Every grid point on every choosing topic (each ingested once); the best by PRIMARY."""
    grid = grid_of(vary)
    rows: list[list[dict[str, float]]] = [[] for _ in grid]
    seconds = {}
    for folder in part_topics("choose"):
        topic = tls.load_topic(folder)
        started = time.perf_counter()
        with tls.topic_store(desk, topic, max_articles, None) as target:
            for point, scores in zip(grid, rows):
                s = target.settings.model_copy(update=point)
                per_gold = [tls.predict_all(target, gold, s) for _, gold in topic.golds]
                scores.append(tls.score_topic(topic, per_gold)["ours"])
        seconds[topic.name] = round(time.perf_counter() - started, 1)
        print(f"{topic.name}: {seconds[topic.name]} s", file=sys.stderr)
    table = [{**point, **M.mean_scores(scores)} for point, scores in zip(grid, rows)]
    best = max(table, key=lambda r: tuple(r[k] for k in PRIMARY))
    return {
        "part": "choose",
        "vary": vary,
        "grid": table,
        "best": best,
        "seconds": seconds,
        "max_articles": max_articles,
    }


def report(desk, max_articles: int | None) -> dict[str, Any]:
    results, changes = [], {}
    for folder in part_topics("report"):
        topic = tls.load_topic(folder)
        started = time.perf_counter()
        with tls.topic_store(desk, topic, max_articles, None) as target:
            ingested = time.perf_counter()
            per_gold = [tls.predict_all(target, gold) for _, gold in topic.golds]
            timed = time.perf_counter()
            changes[topic.name] = changes_since_median(target, topic)
            done = time.perf_counter()
        first = per_gold[0]["ours"]
        results.append(
            tls.TopicResult(
                topic.name,
                tls.score_topic(topic, per_gold),
                [{"date": d, "text": " ".join(first[d])} for d in sorted(first)],
                len(tls.topic_documents(topic, max_articles)),
                {"ingest": ingested - started, "timelines": timed - ingested, "changes_since": done - timed},
            )
        )
        print(f"{topic.name}: {json.dumps(results[-1].seconds)}", file=sys.stderr)
    out = tls.report_json(results, max_articles)
    out["changes_since"] = changes
    out["table"] = tls.report_table(results)
    return out


def changes_since_median(target, topic: tls.Topic) -> dict[str, Any]:
    from rag.briefings.briefing_changes import summarize_changes
    from rag.briefings.summarize import Summarizer

    dates = sorted(r.date for r in target.sources() if r.date)
    median = dates[len(dates) // 2]
    gold = {d: v for d, v in topic.golds[0][1].items() if d >= median}
    # asked for as many timeline days as the gold has after the median (a throwaway desk: its settings may change)
    target.settings = target.settings.model_copy(update={"summary_max_timeline": max(1, min(len(gold), 100))})
    data = summarize_changes(Summarizer(target), median).to_json()
    changes = data["changes"]
    dated = {c["source"]: c.get("date") for c in data["citations"]}
    new_side = (
        changes["new_points"]
        + changes["timeline"]
        + [f["new"] for f in changes["changed_figures"]]
        + changes["actors_new"]
        + [q["answer"] for q in changes["questions_answered"]]
    )
    cited = [dated.get(c["source"]) for e in new_side for c in e["citations"]]
    predicted = {t["date"]: [t["event"]] for t in changes["timeline"]}
    return {
        "median": median,
        "gold_days_after": len(gold),
        "entries_after": all(d and d >= median for d in cited) and all(t >= median for t in predicted),
        "cited_articles_before": sum(1 for d in cited if not d or d < median),
        "date_f1_after": M.date_f1(predicted, gold).f if gold else None,
        "counts": {k: len(v) for k, v in changes.items() if isinstance(v, list)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tls", description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=["choose", "report"])
    parser.add_argument(
        "--max-articles", type=int, help="only N articles per topic (a quick look, not for the README)"
    )
    parser.add_argument(
        "--vary",
        choices=["weights", "length", "spread"],
        default="weights",
        help="choose: the two day-ranking weights (a 5x5 grid), timeline_max_sentence_words, or the spreading of days over time (a 5x5 grid), the others as set",
    )
    args = parser.parse_args(argv)
    from rag.config.settings import load_settings
    from rag.store.desk import Desk

    desk = Desk(load_settings())
    out = (
        choose(desk, args.max_articles, args.vary)
        if args.part == "choose"
        else report(desk, args.max_articles)
    )
    out["measured_at"] = time.strftime("%Y-%m-%d")
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"tls-{args.part}{f'-{args.vary}' if args.part == 'choose' and args.vary != 'weights' else ''}"
    path = RESULTS / f"{name}-{out['measured_at']}.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    print(out["table"] if args.part == "report" else json.dumps(out["best"], indent=1))
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`brief eval --tls TOPIC_DIR`: the briefing's timeline measured the way the timeline-summarization
literature measures it, on topic folders in the layout of ../shared/public-tls/.

A topic folder holds ``articles/<YYYY-MM-DD>_<id>.txt`` (one article, its publication date in the
name) and ``timeline*.jsonl`` (gold timelines: ``{"date", "text"}`` a line). Each topic is ingested
into a throwaway store (the user's is never touched). As in the literature (news-tls, Gholipour
Ghalandari & Ifrim 2020), for each gold timeline the system reads the articles published within the
gold timeline's first and last day and is asked for the gold's number of days and its average number
of sentences a day (rounded); a topic with several gold timelines is scored against each and averaged.

The articles ship tokenised (``Jackson 's``, ``-LRB-``, ````...''``); both they and the gold
timelines are detokenised with NLTK's Treebank detokeniser (the inverse of the tokeniser the dataset
used) before ingesting and scoring, so quotes read as text and both sides tokenise alike.

Beside ours, two chance rows: random days (seeded; article publication days shuffled, as news-tls's
random ranker does) summarised like ours, and our days each given its first candidate sentences; and
a paired baseline: the date-wise method with the paper's settings (DATEWISE_AS_PUBLISHED), on the same
articles, so ours is compared with it topic by topic (the paper publishes only dataset means).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval import tls_metrics as M
from rag.errors import BriefError

ARTICLE_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})_.+\.txt$")
PUBLISHED_FILE = Path(__file__).parent / "sets" / "tls_published.json"
PTB_BRACKETS = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}
RANDOM_SEED = 0  # the chance row's shuffle: fixed, so two runs print the same row
CHANCE = ("random_dates", "first_sentences")
BASELINES = ("datewise",)
SYSTEMS = ("ours", *CHANCE, *BASELINES)
SYSTEM_LABELS = {
    "ours": "Briefing Desk",
    "random_dates": "chance: random days",
    "first_sentences": "chance: our days, first sentences",
    "datewise": "baseline: date-wise as published, reimplemented (mention-count days)",
}
# The date-wise method as Gholipour Ghalandari & Ifrim (2020) ran it, in our settings: days by
# mentions alone (their supervised ranker did no better than ours on the choosing topics), no length
# limit, no spreading, near-repeats only when identical (their max_sim 0.9999).
DATEWISE_AS_PUBLISHED = {
    "timeline_publication_weight": 0.0,
    "timeline_later_weight": 0.0,
    "timeline_spread_weight": 0.0,
    "timeline_max_sentence_words": 0,
    "timeline_duplicate_similarity": 0.9999,
}
Progress = Callable[[int, int, str], None]


@dataclass
class Topic:
    name: str
    articles: list[tuple[str, Path]]  # (publication date, file), oldest first
    golds: list[tuple[str, M.Timeline]]  # (file name, timeline)


@dataclass
class TopicResult:
    name: str
    scores: dict[str, dict[str, float]]  # system -> averaged scores over the gold timelines
    timeline: list[dict[str, str]]  # ours, for the first gold timeline: [{"date", "text"}]
    articles: int
    seconds: dict[str, float] = field(default_factory=dict)


# --- reading topic folders ----------------------------------------------------------------------------
def topic_folders(paths: list[Path]) -> list[Path]:
    """Topic folders as given; a folder holding topic folders (t17/) stands for all of them."""
    out = []
    for path in paths:
        if (path / "articles").is_dir():
            out.append(path)
        elif path.is_dir() and (inner := sorted(p for p in path.iterdir() if (p / "articles").is_dir())):
            out.extend(inner)
        else:
            raise BriefError(
                f"{path} is not a topic folder (no articles/ inside)",
                fix="give a folder laid out like ../shared/public-tls/t17/<topic>/",
            )
    return out


def load_topic(folder: Path) -> Topic:
    articles = sorted(
        (m.group(1), p) for p in (folder / "articles").iterdir() if (m := ARTICLE_NAME.match(p.name))
    )
    gold_files = sorted(folder.glob("timeline*.jsonl"), key=lambda p: (p.name != "timeline.jsonl", p.name))
    if not articles or not gold_files:
        raise BriefError(
            f"{folder.name}: needs articles/<YYYY-MM-DD>_<id>.txt and timeline.jsonl",
            fix="see ../shared/public-tls/README.md for the layout",
        )
    return Topic(folder.name, articles, [(p.name, read_gold(p)) for p in gold_files])


def read_gold(path: Path) -> M.Timeline:
    """A gold timeline: its sentences (one a line in the file's text) by day; a repeated day's
    entries are joined."""
    gold: M.Timeline = {}
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                sentences = [detokenise(s) for s in str(row["text"]).split("\n") if s.strip()]
                gold.setdefault(str(row["date"])[:10], []).extend(sentences)
    except (OSError, ValueError, KeyError) as exc:
        raise BriefError(f"cannot read {path}: {exc}", fix='one {"date", "text"} object a line') from None
    return gold


def gold_shape(gold: M.Timeline) -> tuple[int, int]:
    """(days, sentences a day): what the system is asked for (news-tls: rounded average)."""
    return len(gold), max(1, round(sum(len(v) for v in gold.values()) / len(gold)))


def detokenise(text: str) -> str:
    """Treebank tokens back to text; the bracket tokens ('-LRB-') are the tokeniser's escapes, which
    the detokeniser leaves as they are."""
    from nltk.tokenize.treebank import TreebankWordDetokenizer

    words = [PTB_BRACKETS.get(w, w) for w in text.split()]
    return TreebankWordDetokenizer().detokenize(words)


def article_text(path: Path) -> str:
    return "\n".join(
        detokenise(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    )


def topic_documents(topic: Topic, max_articles: int | None) -> dict[str, str]:
    """The articles within the gold timelines' span, spread evenly over it when more than
    max_articles, each as text with its date (and its id for a title) stated in front matter."""
    first = min(min(g) for _, g in topic.golds)
    last = max(max(g) for _, g in topic.golds)
    chosen = [(d, p) for d, p in topic.articles if first <= d <= last]
    if max_articles and len(chosen) > max_articles:
        step = len(chosen) / max_articles
        chosen = [chosen[int(i * step)] for i in range(max_articles)]
    return {p.name: f"---\ndate: {d}\ntitle: {p.stem}\n---\n{article_text(p)}\n" for d, p in chosen}


# --- running -------------------------------------------------------------------------------------------
@contextmanager
def topic_store(desk, topic: Topic, max_articles: int | None, progress: Progress | None) -> Iterator[Any]:
    """A throwaway desk holding the topic's articles (those within its gold timelines' span), removed
    afterwards; the user's store is never touched."""
    from eval.runner import throwaway_desk

    root = Path(desk.settings.data_dir) / "eval-stores" / f"tls-{uuid.uuid4().hex[:12]}"
    try:
        yield throwaway_desk(desk, root, topic_documents(topic, max_articles), progress)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_topic(desk, folder: Path, max_articles: int | None, progress: Progress | None) -> TopicResult:
    topic = load_topic(folder)
    started = time.perf_counter()
    with topic_store(desk, topic, max_articles, progress) as target:
        ingested = time.perf_counter()
        per_gold = [predict_all(target, gold) for _, gold in topic.golds]
        articles = len(target.sources())
    first = per_gold[0]["ours"]
    return TopicResult(
        topic.name,
        score_topic(topic, per_gold),
        [{"date": d, "text": " ".join(first[d])} for d in sorted(first)],
        articles,
        {"ingest": ingested - started, "timelines": time.perf_counter() - ingested},
    )


def score_topic(topic: Topic, per_gold: list[dict[str, M.Timeline]]) -> dict[str, dict[str, float]]:
    """Each system's scores against each gold timeline, averaged over the gold timelines."""
    return {
        name: average([M.timeline_scores(p[name], gold) for p, (_, gold) in zip(per_gold, topic.golds)])
        for name in per_gold[0]
    }


def predict_all(target, gold: M.Timeline, s=None) -> dict[str, M.Timeline]:
    """Ours, the two chance rows and the date-wise baseline for one gold timeline: the articles of
    its span, its shape (``s``: settings to use instead of the desk's, for choosing them)."""
    from rag.briefings.timeline import first_pick, rank_days, read_sentences, records_in_scope, summarise_days
    from rag.questions.retrieve import Scope

    s = s or target.settings
    n_dates, per_date = gold_shape(gold)
    records = records_in_scope(target, Scope(since=min(gold), until=max(gold)))
    reading = read_sentences(records, s.summary_min_words)
    ranked = rank_days(reading, s, min(gold), max(gold))
    shuffled = [r.date for r in records if r.date]
    random.Random(RANDOM_SEED).shuffle(shuffled)
    lottery = [(d, 0) for d in dict.fromkeys(shuffled)]
    plain = s.model_copy(update=DATEWISE_AS_PUBLISHED)
    made = {
        "ours": summarise_days(reading, ranked, n_dates, per_date, s),
        "random_dates": summarise_days(reading, lottery, n_dates, per_date, s),
        "first_sentences": summarise_days(reading, ranked, n_dates, per_date, s, pick=first_pick),
        "datewise": summarise_days(
            reading, rank_days(reading, plain, min(gold), max(gold)), n_dates, per_date, plain
        ),
    }
    return {name: as_timeline(statements) for name, statements in made.items()}


def as_timeline(statements) -> M.Timeline:
    out: M.Timeline = {}
    for x in statements:
        out.setdefault(x.date, []).append(x.text)
    return out


def average(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: sum(r[key] for r in rows) / len(rows) for key in rows[0]}


def run_tls(
    desk, paths: list[Path], max_articles: int | None = None, progress: Progress | None = None
) -> list[TopicResult]:
    return [run_topic(desk, folder, max_articles, progress) for folder in topic_folders(paths)]


# --- reporting -----------------------------------------------------------------------------------------
COLUMNS = ("date_f1", "rouge1_concat_f", "rouge2_concat_f", "rouge1_align_f", "rouge2_align_f")
HEADERS = ("date F1", "ROUGE-1 concat F", "ROUGE-2 concat F", "ROUGE-1 align F", "ROUGE-2 align F")


def means(results: list[TopicResult], system: str) -> dict[str, float]:
    return M.mean_scores([r.scores[system] for r in results])


def mean_columns(results: list[TopicResult], system: str) -> dict[str, float]:
    """The system's means of the five reported scores (the means computed once)."""
    averaged = means(results, system)
    return {k: averaged[k] for k in COLUMNS}


def report_json(results: list[TopicResult], max_articles: int | None) -> dict[str, Any]:
    """The --json object: per topic our five scores and timeline; the means; the chance rows, the
    date-wise baseline and the published results beside them; how it was measured."""
    topics = {
        r.name: {**{k: r.scores["ours"][k] for k in COLUMNS}, "timeline": r.timeline, "articles": r.articles}
        for r in results
    }
    return {
        "topics": topics,
        "mean": mean_columns(results, "ours"),
        "chance": {name: system_json(results, name) for name in CHANCE},
        "baselines": {name: system_json(results, name) for name in BASELINES},
        "published": published(),
        "details": {r.name: {"scores": r.scores["ours"], "seconds": r.seconds} for r in results},
        "how": {
            "max_articles": max_articles,
            "mean": "precision and recall averaged over topics, F from those (as news-tls)",
            "rouge": "rouge-score tokens, stop words removed (scikit-learn's list), Porter stemming",
            "measured_at": time.strftime("%Y-%m-%d"),
        },
    }


def system_json(results: list[TopicResult], name: str) -> dict[str, Any]:
    return {
        "label": SYSTEM_LABELS[name],
        "mean": mean_columns(results, name),
        "topics": {r.name: r.scores[name] for r in results},
    }


def published() -> dict[str, Any]:
    try:
        return json.loads(PUBLISHED_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def report_table(results: list[TopicResult]) -> str:
    """Markdown: our scores per topic and on average, then the chance rows, the date-wise baseline
    and the published means."""
    head = "| topic | " + " | ".join(HEADERS) + " |\n|" + " --- |" * (len(HEADERS) + 1)
    rows = [row(r.name, r.scores["ours"]) for r in results]
    rows.append(row(f"**mean of {len(results)} topics**", means(results, "ours")))
    rows += [row(f"{SYSTEM_LABELS[n]} (mean)", means(results, n)) for n in SYSTEMS[1:]]
    beside = published()  # read once
    for label, numbers in beside.get("rows", {}).items():
        rows.append(row(f"published: {label}", numbers))
    note = beside.get("per_topic", "")
    return "\n".join([head, *rows]) + (f"\n\nPublished numbers: {note}." if note else "")


def row(label: str, numbers: dict[str, Any]) -> str:
    cells = [f"{numbers[k]:.3f}" if isinstance(numbers.get(k), float) else "-" for k in COLUMNS]
    return f"| {label} | " + " | ".join(cells) + " |"


def run_tls_command(
    desk, paths: list[Path], as_json: bool, max_articles: int | None, progress: Progress | None = None
) -> int:
    """`brief eval --tls`: the table (or, with --json, one object on the last line)."""
    import sys

    if max_articles is not None and max_articles < 2:
        raise BriefError(f"--tls-max-articles {max_articles} is too few", fix="give 2 or more")
    results = run_tls(desk, paths, max_articles, progress)
    for r in results:
        print(
            f"{r.name}: {r.articles} articles, ingest {r.seconds['ingest']:.0f} s, timelines {r.seconds['timelines']:.1f} s",
            file=sys.stderr,
        )
    print(
        json.dumps(report_json(results, max_articles), ensure_ascii=False)
        if as_json
        else report_table(results)
    )
    return 0

"""The labelled question-form set (eval/sets/question_forms.jsonl) and its split by topic.

Rows: ``{"id", "question", "form", "source", "topic", "labelled_by"}``; ``source`` is
``written:t17`` (questions written on the Timeline17 stories of ../shared/public-tls/),
``written:squad-title`` (written on SQuAD 2.0 train article titles) or ``squad2-train`` (SQuAD's own
questions); ``topic`` is the story or article title; ``labelled_by`` is ``hand`` (the written
questions, and a random sample of the reporting part's SQuAD questions) or ``guide`` (the rules of
guide.py, for the fitting part's SQuAD questions). Nothing in it is about the seed articles.

The split is by topic (recorded in eval/sets/splits.json under ``question_forms.jsonl``): the SQuAD
titles shuffled with a fixed seed, the first HELD_OUT_SHARE of them held out; the Timeline17 stories
(never outlets: the five BP-oil topics are one story) shuffled the same way, the first
HELD_OUT_STORIES held out. SQuAD's 'Financial crisis of 2007-08' article is the Timeline17 finance
story's topic too, so it goes wherever that story goes.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from eval import squad
from fit.question_form.guide import guide_label
from fit.split import compact_json

SQUAD_TRAIN = squad.PUBLIC_DIR / "squad2-train.json"
SET_FILE = squad.SPLITS_FILE.parent / "question_forms.jsonl"
SPLIT_KEY = SET_FILE.name
STORIES = ("bp_oil", "finance", "h1n1", "iraq_war", "syrian_crisis")  # the Timeline17 stories
SAME_TOPIC = {"Financial_crisis_of_2007%E2%80%9308": "finance"}  # a SQuAD title -> the story it goes with
HELD_OUT_SHARE = 0.2
HELD_OUT_STORIES = 2
SQUAD_PER_ARTICLE = 12  # SQuAD questions per fitting article, drawn at random
SQUAD_OTHER_FORMS = 6  # plus up to this many per fitting article that the guide labels other than factoid
SEED = 0


def deal(titles: list[str], stories: tuple[str, ...] = STORIES, seed: int = SEED) -> dict[str, list[str]]:
    """The topics of each part: held-out SQuAD titles and stories first, the rest to fitting."""
    order = sorted(titles)
    random.Random(seed).shuffle(order)
    tales = sorted(stories)
    random.Random(seed).shuffle(tales)
    held_stories = tales[:HELD_OUT_STORIES]
    held = order[: round(len(order) * HELD_OUT_SHARE)]
    held += [t for t in order if SAME_TOPIC.get(t) in held_stories and t not in held]
    fit = [t for t in order if t not in held] + tales[HELD_OUT_STORIES:]
    return {"held_out": held + held_stories, "fit": fit}


def squad_fit_rows(articles: list[squad.SquadArticle], seed: int = SEED) -> list[dict]:
    """Guide-labelled SQuAD questions of the fitting articles: a random sample of each article, and
    more of the rarer forms (the sample alone holds few)."""
    rng = random.Random(seed)
    rows = []
    for article in articles:
        questions = list(article.questions)
        rng.shuffle(questions)
        picked = questions[:SQUAD_PER_ARTICLE]
        others = [q for q in questions[SQUAD_PER_ARTICLE:] if guide_label(q.question) != "factoid"]
        rows += [squad_row(q, guide_label(q.question), "guide") for q in picked + others[:SQUAD_OTHER_FORMS]]
    return rows


def held_out_sample(
    articles: list[squad.SquadArticle], n: int, seed: int = SEED
) -> list[squad.SquadQuestion]:
    """A uniform random sample of the held-out articles' questions (to be labelled by hand)."""
    every = [q for a in sorted(articles, key=lambda a: a.title) for q in a.questions]
    return random.Random(seed).sample(every, n)


def squad_row(q: squad.SquadQuestion, form: str, labelled_by: str) -> dict:
    return {
        "id": q.id,
        "question": q.question.strip(),
        "form": form,
        "source": "squad2-train",
        "topic": q.article,
        "labelled_by": labelled_by,
    }


def load_rows(path: Path = SET_FILE) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def save_rows(rows: list[dict], path: Path = SET_FILE) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def rebuild(path: Path = SET_FILE, data: Path = SQUAD_TRAIN) -> dict[str, list[str]]:
    """Re-draw the guide-labelled SQuAD rows of the set (the hand-labelled rows are kept as they
    are) and record the split; returns the split."""
    articles = squad.load_squad(data)
    parts = deal([a.title for a in articles])
    held = set(parts["held_out"])
    kept = [r for r in load_rows(path) if r["labelled_by"] == "hand"] if path.exists() else []
    drawn = squad_fit_rows([a for a in articles if a.title not in held])
    save_rows(kept + drawn, path)
    record_split(parts)
    return parts


def record_split(parts: dict[str, list[str]]) -> None:
    splits = squad.load_splits()
    splits[SPLIT_KEY] = {
        "by": "topic: SQuAD 2.0 train article title, or Timeline17 story (never outlet)",
        "how": f"python -m fit.question_form build: titles and stories sorted, shuffled with seed {SEED}; "
        f"the first {HELD_OUT_SHARE:.0%} of titles and {HELD_OUT_STORIES} stories held out",
        "held_out": parts["held_out"],
        "fit": parts["fit"],
    }
    squad.SPLITS_FILE.write_text(compact_json(splits), encoding="utf-8")


def part_of(row: dict, parts: dict[str, list[str]]) -> str:
    return "held_out" if row["topic"] in set(parts["held_out"]) else "fit"

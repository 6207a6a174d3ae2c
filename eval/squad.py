"""SQuAD 2.0 (official JSON format): reading the file, the official answer normalisation, exact match
and F1, and the fitting / reporting split by article.

The normalisation, EM and F1 follow the official evaluation script (evaluate-v2.0.py, Rajpurkar et al.,
2018) so numbers can be compared with published ones: lowercase, drop punctuation and the articles
a/an/the, collapse whitespace; a no-answer question is right only when nothing is predicted.
"""

from __future__ import annotations

import collections
import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

SPLITS_FILE = Path(__file__).parent / "sets" / "splits.json"
# The public reading-comprehension data everything is fitted on, in shared/ beside the checkout.
PUBLIC_DIR = Path(__file__).resolve().parents[2] / "shared" / "public-qa"
PUBLIC_TRAIN = PUBLIC_DIR / "squad2-train-10-articles.json"
ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """The official SQuAD normalisation."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in PUNCTUATION)
    text = ARTICLES.sub(" ", text)
    return " ".join(text.split())


def answer_tokens(text: str) -> list[str]:
    return normalize_answer(text).split() if text else []


def compute_exact(gold: str, prediction: str) -> int:
    return int(normalize_answer(gold) == normalize_answer(prediction))


def compute_f1(gold: str, prediction: str) -> float:
    gold_toks, pred_toks = answer_tokens(gold), answer_tokens(prediction)
    if not gold_toks or not pred_toks:  # a no-answer: F1 is 1 only when both are empty
        return float(gold_toks == pred_toks)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_toks), same / len(gold_toks)
    return 2 * precision * recall / (precision + recall)


def best_scores(golds: list[str], prediction: str) -> tuple[int, float]:
    """Max EM and F1 over the gold answers; a question with none is a no-answer question (gold '')."""
    golds = [g for g in golds if normalize_answer(g)] or [""]
    return max(compute_exact(g, prediction) for g in golds), max(compute_f1(g, prediction) for g in golds)


@dataclass
class SquadQuestion:
    id: str
    question: str
    answers: list[str]  # empty for a no-answer question
    article: str
    paragraph: int  # index of the paragraph within its article: the gold passage
    plausible_answers: list[str] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass
class SquadArticle:
    title: str
    paragraphs: list[str]
    questions: list[SquadQuestion]


def is_squad_file(path: Path) -> bool:
    """A .json file whose top level has a 'data' list (the official format); JSONL is ours."""
    return path.suffix.lower() == ".json"


def load_squad(path: Path) -> list[SquadArticle]:
    """Articles of an official SQuAD 2.0 JSON file; ValueError naming the problem otherwise."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError("not SQuAD 2.0 JSON (no top-level 'data' list)")
    articles = []
    for a, article in enumerate(data["data"]):
        try:
            title = str(article["title"])
            paragraphs, questions = [], []
            for p, para in enumerate(article["paragraphs"]):
                paragraphs.append(str(para["context"]))
                for qa in para["qas"]:
                    answers = [] if qa.get("is_impossible") else [x["text"] for x in qa.get("answers", [])]
                    plausible = [x["text"] for x in qa.get("plausible_answers", [])]
                    questions.append(
                        SquadQuestion(str(qa["id"]), str(qa["question"]), answers, title, p, plausible)
                    )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"article {a}: missing field {exc}") from None
        articles.append(SquadArticle(title, paragraphs, questions))
    if not articles:
        raise ValueError("no articles")
    return articles


def load_splits() -> dict:
    return json.loads(SPLITS_FILE.read_text(encoding="utf-8"))


def split_of(set_path: Path) -> dict | None:
    """The recorded fitting/reporting split of an eval set, by its file name (None: never tuned on)."""
    return load_splits().get(Path(set_path).name)


def select_articles(articles: list[SquadArticle], titles: list[str]) -> list[SquadArticle]:
    by_title = {a.title: a for a in articles}
    missing = [t for t in titles if t not in by_title]
    if missing:
        raise ValueError(f"no article titled {', '.join(missing)}")
    return [by_title[t] for t in titles]

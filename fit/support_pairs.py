"""Labelled (sentence, passage) pairs for the verifier, made from public SQuAD 2.0 training articles.

`python -m fit.support_pairs` writes eval/sets/support_public.jsonl. For each sampled answerable
question, the passage is the paragraph sentence holding its answer; the pairs are
- positives: the sentence itself ('verbatim') and the clause holding the answer ('partial');
- hard negatives made by script, the way SQuAD 2.0's annotators made unanswerable questions by small
  edits: the answer swapped for another span of the same shape from the paragraph ('wrong_number',
  'wrong_date', 'wrong_entity'), two names of the sentence swapped ('swapped_actor'), one content word
  replaced by a paragraph word of the same morphological class ('substituted_modifier'), and a 'not'
  inserted after the first auxiliary ('negation').
Each row keeps its paragraph as `context` (where a wrong entity may come from) and its `article`, so
calibration uses the fitting articles of eval/sets/splits.json only and reports on the others.
Deterministic: every article gets its own seeded random generator.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

from eval.sets_io import SETS_DIR
from eval.squad import PUBLIC_TRAIN, SquadArticle, load_squad
from rag.textfacts import has_negation, names
from rag.toolkit import STOPWORDS, fold, split_sentences

# shared/ sits beside the checkout (and beside CI's clone); a path argument overrides it.
SOURCE = PUBLIC_TRAIN
OUT = SETS_DIR / "support_public.jsonl"
SEED = 13
SENTENCES_PER_ARTICLE = 40  # enough pairs per kind to measure, few enough to embed in a minute
YEAR = re.compile(r"^(1[0-9]{3}|20[0-9]{2})$")
NUMBER = re.compile(r"\d[\d,.]*")
# A capitalised run: 'Destiny's Child', 'Sino-Tibetan', 'Ministry of Rites'.
NAME_RUN = re.compile(r"[A-Z][\w’'.\-]*(?:\s+(?:of|the|de|and)?\s*[A-Z][\w’'.\-]*)*")
AUXILIARY = re.compile(
    r"\b(is|are|was|were|has|have|had|will|would|can|could|should|may|might|must|does|did)\b"
)
# Derivational suffixes that mark a word class (adjectives, participles, agent nouns...): a word
# swapped for another with the same ending reads as fluent as the original, like 'medieval'/'modern'.
SUFFIXES = (
    "ern",
    "ial",
    "al",
    "ic",
    "ive",
    "ous",
    "ful",
    "less",
    "able",
    "ible",
    "ed",
    "ing",
    "ly",
    "ist",
    "ian",
    "ary",
    "est",
)
JOINERS = frozenset({"and", "or", "&", "of", "the", "with"})


def build_pairs(
    data: list[SquadArticle], per_article: int = SENTENCES_PER_ARTICLE, seed: int = SEED
) -> list[dict]:
    rows: list[dict] = []
    for article in data:
        rng = random.Random(f"{seed}:{article.title}")
        for n, (sentence, answer, paragraph) in enumerate(sample_sentences(article, per_article, rng)):
            for kind, claim, supported in pairs_for(sentence, answer, paragraph, rng):
                rows.append(
                    {
                        "id": f"{article.title}:{n}:{kind}",
                        "article": article.title,
                        "kind": kind,
                        "supported": supported,
                        "sentence": claim,
                        "passage": sentence,
                        "context": paragraph,
                    }
                )
    return rows


def sample_sentences(article: SquadArticle, k: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """Up to k distinct (answer sentence, answer, paragraph) triples of the article's answerable questions."""
    seen: dict[str, tuple[str, str, str]] = {}
    for q in article.questions:
        if not q.answers:
            continue
        paragraph = article.paragraphs[q.paragraph]
        sentence = sentence_holding(paragraph, q.answers[0])
        if sentence and sentence not in seen:
            seen[sentence] = (sentence, q.answers[0], paragraph)
    keys = sorted(seen)
    rng.shuffle(keys)
    return [seen[key] for key in keys[:k]]


def sentence_holding(paragraph: str, answer: str) -> str | None:
    at = paragraph.find(answer)
    if at < 0:
        return None
    for span in split_sentences(paragraph):
        if span.start <= at < span.end and at + len(answer) <= span.end:
            return paragraph[span.start : span.end]
    return None


def pairs_for(sentence: str, answer: str, paragraph: str, rng: random.Random) -> list[tuple[str, str, bool]]:
    made = [("verbatim", sentence, True), ("partial", answer_clause(sentence, answer), True)]
    made.append((answer_kind(answer), swap_answer(sentence, answer, paragraph, rng), False))
    made.append(("swapped_actor", swap_names(sentence), False))
    made.append(("substituted_modifier", substitute_word(sentence, paragraph, rng), False))
    made.append(("negation", insert_negation(sentence), False))
    return [(kind, claim, ok) for kind, claim, ok in made if claim and (ok or claim != sentence)]


# --- positives ---------------------------------------------------------------------------------------
def answer_clause(sentence: str, answer: str) -> str | None:
    """The comma/semicolon-delimited clause holding the answer (with its neighbour when it is short);
    None when that is the whole sentence."""
    parts = [p.strip() for p in re.split(r"[,;:]\s+|\s+[—–-]\s+", sentence.rstrip(".!? ")) if p.strip()]
    hits = [i for i, p in enumerate(parts) if answer in p]
    if not hits:
        return None
    i = hits[0]
    clause = parts[i]
    if len(clause.split()) < 5 and i > 0:
        clause = f"{parts[i - 1]}, {clause}"
    if len(parts) == 1 or clause.strip() == sentence.rstrip(".!? ").strip():
        return None
    return clause[0].upper() + clause[1:] + "."


# --- hard negatives ----------------------------------------------------------------------------------
def answer_kind(answer: str) -> str:
    if YEAR.match(answer.strip()):
        return "wrong_date"
    if NUMBER.search(answer):
        return "wrong_number"
    return "wrong_entity"


def swap_answer(sentence: str, answer: str, paragraph: str, rng: random.Random) -> str | None:
    """The answer replaced by another span of the same shape from the paragraph (absent from the sentence)."""
    kind = answer_kind(answer)
    if kind == "wrong_date":
        pool = [w for w in re.findall(r"\b\d{4}\b", paragraph) if YEAR.match(w)]
    elif kind == "wrong_number":
        pool = NUMBER.findall(paragraph)
        answer = NUMBER.search(answer).group()  # swap the number inside '1,200 miles', keep the unit
    elif is_name(answer):
        pool = [r for r in NAME_RUN.findall(paragraph) if names(r) and not names(r) & names(sentence)]
    else:
        return None
    pool = sorted({p.rstrip(".,") for p in pool} - {answer} - set(NUMBER.findall(sentence)))
    pool = [p for p in pool if p and p not in sentence]
    return sentence.replace(answer, rng.choice(pool), 1) if pool else None


def is_name(text: str) -> bool:
    words = text.split()
    return bool(words) and bool(names(text)) and all(w[0].isupper() or w in JOINERS for w in words)


def swap_names(sentence: str) -> str | None:
    """The first two distinct names with a relation word between them swapped ('A hired B' -> 'B hired A');
    names only joined by 'and'/'of' are skipped (swapping 'A and B' keeps the meaning)."""
    runs = [m for m in NAME_RUN.finditer(sentence) if names(m.group())]
    for i, a in enumerate(runs):
        for b in runs[i + 1 :]:
            between = re.findall(r"[a-z]+", sentence[a.end() : b.start()])
            if names(a.group()) & names(b.group()) or not set(between) - JOINERS:
                continue
            return (
                sentence[: a.start()]
                + b.group()
                + sentence[a.end() : b.start()]
                + a.group()
                + sentence[b.end() :]
            )
    return None


def substitute_word(sentence: str, paragraph: str, rng: random.Random) -> str | None:
    """One lowercase content word replaced by a paragraph word with the same suffix that the sentence lacks."""
    in_sentence = set(re.findall(r"[a-z]+", fold(sentence)))
    candidates = []
    for word in sorted(set(re.findall(r"\b[a-z]{5,}\b", sentence)) - STOPWORDS):
        suffix = next((s for s in SUFFIXES if word.endswith(s)), None)
        if suffix is None:
            continue
        pool = sorted(
            {w for w in re.findall(r"\b[a-z]{5,}\b", paragraph) if w.endswith(suffix)} - in_sentence
        )
        pool = [w for w in pool if w[:4] != word[:4]]  # not another form of the same word
        if pool:
            candidates.append((word, pool))
    if not candidates:
        return None
    word, pool = rng.choice(candidates)
    return re.sub(rf"\b{word}\b", rng.choice(pool), sentence, count=1)


def insert_negation(sentence: str) -> str | None:
    if has_negation(sentence):
        return None
    match = AUXILIARY.search(sentence)
    return sentence[: match.end()] + " not" + sentence[match.end() :] if match else None


def main(argv: list[str] | None = None) -> int:
    rows = build_pairs(load_squad(Path(argv[0]) if argv else SOURCE))
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    kinds: dict[str, int] = {}
    for r in rows:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    print(f"{len(rows)} pairs from {len({r['article'] for r in rows})} articles -> {OUT}: {kinds}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A repeatable benchmark corpus: N articles built from the seeds' sentences, with names, numbers and
dates varied, so sizes can grow far past the five seeds while the text stays news-like."""

from __future__ import annotations

import random
import re
from pathlib import Path

from rag.toolkit import clean_document, split_sentences

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
NAMES = [
    "Harris",
    "Blinken",
    "Mayorkas",
    "Bárcena",
    "Alcalde",
    "Jara",
    "Salazar",
    "Sandoval",
    "Montezuma",
    "Ebrard",
    "Sheinbaum",
    "Trudeau",
]
PLACES = [
    "Matamoros",
    "Tapachula",
    "Ciudad Juárez",
    "Tijuana",
    "Nogales",
    "Reynosa",
    "Monterrey",
    "Oaxaca",
    "Chiapas",
    "San Diego",
    "El Paso",
]
OUTLETS = ["Reuters", "EFE", "Latin Times", "Mexico News Daily", "El Comercio", "AP"]
NAME_RE = re.compile(r"\b(" + "|".join(NAMES[:9]) + r")\b")
PLACE_RE = re.compile(r"\b(" + "|".join(PLACES[:7]) + r")\b")
NUMBER_RE = re.compile(r"\d[\d,]*")


def seed_sentences() -> list[str]:
    sentences = []
    for path in sorted(SEEDS.glob("*.txt")):
        text = clean_document(path.read_text(encoding="utf-8")).text
        sentences += [text[s.start : s.end] for s in split_sentences(text) if len(text[s.start : s.end]) > 40]
    return sentences


def vary(sentence: str, rng: random.Random) -> str:
    sentence = NAME_RE.sub(lambda m: rng.choice(NAMES), sentence)
    sentence = PLACE_RE.sub(lambda m: rng.choice(PLACES), sentence)
    return NUMBER_RE.sub(lambda m: f"{rng.randint(2, 99_000):,}", sentence)


def article(rng: random.Random, pool: list[str], sentences: int) -> str:
    lines = []
    if rng.random() < 0.6:
        lines.append(
            f"date {rng.randint(2019, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
            + vary(rng.choice(pool), rng)
        )
    body = [vary(rng.choice(pool), rng) for _ in range(sentences)]
    for i in range(0, len(body), 3):  # paragraphs of three sentences
        lines.append(" ".join(body[i : i + 3]))
    if rng.random() < 0.5:
        lines.append(f"Source: {rng.choice(OUTLETS)}")
    return "\n\n".join(lines) + "\n"


def generate(folder: Path, n_articles: int, seed: int = 13, sentences_per_article: int = 30) -> list[Path]:
    """Write ``n_articles`` files into ``folder``; the same seed gives identical files."""
    rng = random.Random(seed)
    pool = seed_sentences()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n_articles):
        path = folder / f"bench_{i:05d}.txt"
        path.write_text(article(rng, pool, sentences_per_article), encoding="utf-8")
        paths.append(path)
    return paths

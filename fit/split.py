"""The by-article split of the public SQuAD 2.0 dev articles, recorded in eval/sets/splits.json.

`python -m fit.split` shuffles the article titles with a fixed seed and deals them out in order:
the reporting part first (REPORT_ARTICLES articles, about 2,500 questions, that nothing is fitted or
chosen on), then the choosing part (epochs, thresholds, operating points), then the rest to the
refusal model's fitting part (articles the reader never trains on, so its margins there are honest).
The reader trains on SQuAD 2.0 train, whose articles are disjoint from dev's, so no dev article is
dealt to it (the split of 2026-12-02 gave 15 to it and 4 to choosing; the deal's order is the same,
so the reporting part is unchanged). Seed 0 was the first tried; it was not re-drawn.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from eval import squad

DEV_FILE = squad.PUBLIC_DIR / "squad2-dev-32-articles.json"
REPORT_ARTICLES = 8
CHOOSE_ARTICLES = 12  # operating points chosen on at least 10 articles: 4 did not transfer
SEED = 0


def deal(titles: list[str], seed: int = SEED) -> dict[str, list[str]]:
    """The parts of a split, by article title: disjoint, and together every title."""
    order = sorted(titles)
    random.Random(seed).shuffle(order)
    cuts = [REPORT_ARTICLES, REPORT_ARTICLES + CHOOSE_ARTICLES]
    if len(order) <= cuts[-1]:
        raise ValueError(f"{len(order)} articles are too few for a split of {cuts[-1]} + at least one")
    return {
        "report": order[: cuts[0]],
        "choose": order[cuts[0] : cuts[1]],
        "fit_refusal": order[cuts[1] :],
    }


def split_entry(parts: dict[str, list[str]], seed: int = SEED) -> dict:
    """What splits.json records: the parts, and 'fit' as their union for `brief eval --split fit`."""
    return {
        "by": "article title",
        "how": f"python -m fit.split: titles sorted, shuffled with seed {seed}, dealt out in order",
        "report": parts["report"],
        "choose": parts["choose"],
        "fit": parts["choose"] + parts["fit_refusal"],
        "fit_refusal": parts["fit_refusal"],
    }


def write_split(data: Path, splits_file: Path = squad.SPLITS_FILE) -> dict:
    titles = [a.title for a in squad.load_squad(data)]
    splits = json.loads(splits_file.read_text(encoding="utf-8"))
    splits[data.name] = split_entry(deal(titles))
    splits_file.write_text(compact_json(splits), encoding="utf-8")
    return splits[data.name]


def compact_json(splits: dict) -> str:
    """The file's hand-kept layout: one line per part, so a diff shows which part moved."""

    def entry(value) -> str:
        if not isinstance(value, dict):
            return json.dumps(value, ensure_ascii=False)
        inner = ",\n".join(
            f"    {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in value.items()
        )
        return "{\n" + inner + "\n  }"

    body = ",\n".join(f"  {json.dumps(k)}: {entry(v)}" for k, v in splits.items())
    return "{\n" + body + "\n}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fit.split", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEV_FILE, help="a SQuAD 2.0 JSON file")
    args = parser.parse_args(argv)
    try:
        entry = write_split(args.data)
    except (OSError, ValueError) as exc:
        print(f"error: {args.data}: {exc}", file=sys.stderr)
        return 2
    for part in ("report", "choose", "fit_refusal"):
        print(f"{part}: {len(entry[part])} articles")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

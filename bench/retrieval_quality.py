"""Retrieval quality alone: source hit@5 and MRR of the gold sources among the retrieved chunks' sources.

`python -m bench.retrieval_quality --set eval/sets/seeds.jsonl --set SQUAD.json --split all`: our JSONL
sets are asked of a store of the seeds, a SQuAD 2.0 file of a throwaway store of all its paragraphs (as
`brief eval` does). Only the Retriever runs (no reader, gate or LLM), so the numbers are the ones
`brief eval` reports as source hit@5 and MRR, at a fraction of the time. With several --embedder values
each builds its own stores, so runtimes (fp32 vs int8) are compared on the same questions.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from eval import metrics as M
from eval.metrics import percentile
from eval.runner import HIT_K, throwaway_desk
from eval.sets_io import load_eval_questions

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def retrieved_sources(retriever, question: str) -> list[str]:
    """The distinct sources of the retrieved chunks, best first (what `brief eval` ranks)."""
    return list(dict.fromkeys(hit.chunk.source for hit in retriever.retrieve(question)))


def score(desk, rows: list[dict]) -> dict:
    """hit@k and MRR over the answerable rows, with counts and the retrieval latency."""
    from rag.questions.retrieve import Retriever

    retriever = Retriever(desk)
    hits, ranks, times = [], [], []
    for row in (r for r in rows if r["answerable"]):
        started = time.perf_counter()
        ranked = retrieved_sources(retriever, row["question"])
        times.append((time.perf_counter() - started) * 1000)
        hits.append(M.hit_at_k(ranked, row["gold_sources"], HIT_K))
        ranks.append(M.reciprocal_rank(ranked, row["gold_sources"]))
    n = len(hits)
    return {
        "questions": n,
        "hits": int(sum(hits)),
        f"source_hit_at_{HIT_K}": sum(hits) / n if n else None,
        "mrr": sum(ranks) / n if n else None,
        "retrieve_p50_ms": percentile(times, 50),
    }


def desk_for(set_path: Path, evalset, work: Path, models: Path, embedder: str):
    """A store holding what the set asks about: the seeds for our sets, the paragraphs for SQuAD."""
    from rag.config.settings import load_settings
    from rag.store.desk import Desk

    settings = load_settings(data_dir=work / "seeds", model_dir=models, embedder=embedder)
    desk = Desk(settings)
    if evalset.needs_own_store:
        return throwaway_desk(desk, work / "squad", evalset.documents, None)
    desk.ingest([ROOT / "seeds"])
    return desk


def run(
    set_paths: list[Path], split: str | None, embedders: list[str], limit: int | None, store: str = "all"
) -> dict:
    out: dict = {"measured": time.strftime("%Y-%m-%d %H:%M"), "hit_k": HIT_K, "runs": []}
    with tempfile.TemporaryDirectory(prefix="brief-retrieval-") as tmp:
        models = Path(tmp) / "models"
        for set_path in set_paths:
            evalset = load_eval_questions(set_path, split=split, limit=limit, store=store)
            for embedder in embedders:
                work = Path(tmp) / f"{set_path.stem}-{embedder}"
                desk = desk_for(set_path, evalset, work, models, embedder)
                result = {"set": set_path.name, "split": evalset.split, "store": store, "embedder": embedder}
                result |= {"chunks": desk.store.count(), **score(desk, evalset.rows)}
                print(json.dumps(result), file=sys.stderr, flush=True)
                out["runs"].append(result)
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", dest="sets", type=Path, action="append", help="eval set (repeatable)")
    parser.add_argument("--split", help="all | fit | report (default: report where a split is recorded)")
    parser.add_argument(
        "--embedder", dest="embedders", action="append", help="embedder runtime (repeatable; default minilm)"
    )
    parser.add_argument(
        "--store",
        default="all",
        choices=["all", "part"],
        help="SQuAD sets: store every article of the file (default) or only the asked part's",
    )
    parser.add_argument("--limit", type=int, help="only N questions per set, spread evenly (a smoke run)")
    parser.add_argument("--out", type=Path, help="JSON file for the results (default: print only)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sets = args.sets or [ROOT / "eval" / "sets" / "seeds.jsonl"]
    results = run(sets, args.split, args.embedders or ["minilm"], args.limit, args.store)
    text = json.dumps(results, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run an eval set through the answerer (and optionally the naive chain) and score it."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from eval import metrics as M
from rag.answer import Answer, Answerer
from rag.errors import BriefError
from rag.verify import Passage, Verifier

HIT_K = 5  # sources considered for hit@k


@dataclass
class RowResult:
    id: str
    question: str
    answerable: bool
    answer: str
    refused: bool
    citations: list[dict[str, Any]]
    retrieved_sources: list[str]
    contexts: list[str]
    latency_ms: float
    verdicts: dict[str, Any] = field(default_factory=dict)


def verifier_entails(verifier: Verifier) -> Callable[[str, list[str]], bool]:
    def entails(claim: str, passages: list[str]) -> bool:
        return bool(passages) and verifier.supports(claim, [Passage(text=p) for p in passages])

    return entails


def score_row(row: dict[str, Any], result: RowResult, entails, source_texts: dict[str, str]) -> None:
    """Fill ``result.verdicts`` with every per-question metric."""
    v = result.verdicts
    v["refused"] = result.refused
    if row["answerable"]:
        v["answer_correct"] = (not result.refused) and M.answer_correct(result.answer, row["gold_short_answers"])
        v["hit_at_k"] = M.hit_at_k(result.retrieved_sources, row["gold_sources"], HIT_K)
        v["reciprocal_rank"] = M.reciprocal_rank(result.retrieved_sources, row["gold_sources"])
    quotes = {c["n"]: c["quote"] for c in result.citations}
    if not result.refused:
        sentences = [(text, [quotes[n] for n in ns if n in quotes]) for text, ns in M.split_sentences_with_markers(result.answer)]
        scores = M.citation_scores(sentences, entails)
        v.update(citation_recall=scores.recall, citation_precision=scores.precision, n_sentences=scores.n_sentences, n_citations=scores.n_citations)
    v["quotes_valid"] = [M.quote_valid(c["quote"], source_texts.get(c["source"], "")) for c in result.citations]


def summarise(rows: list[dict[str, Any]], results: list[RowResult]) -> dict[str, Any]:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    cited = [r for r in results if "citation_recall" in r.verdicts]
    n_cit = sum(r.verdicts["n_citations"] for r in cited)
    n_sent = sum(r.verdicts["n_sentences"] for r in cited)
    quotes = [ok for r in results for ok in r.verdicts["quotes_valid"]]
    latencies = [r.latency_ms for r in results]
    return {
        "n": len(results),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "answer_em_recall": mean(r.verdicts["answer_correct"] for r in answerable),
        # micro-averaged over all sentences / citations of non-refused answers, as ALCE reports them
        "citation_recall": (sum(r.verdicts["citation_recall"] * r.verdicts["n_sentences"] for r in cited) / n_sent) if n_sent else 0.0,
        "citation_precision": (sum(r.verdicts["citation_precision"] * r.verdicts["n_citations"] for r in cited) / n_cit) if n_cit else 0.0,
        "quote_validity": mean(quotes) if quotes else None,  # None: no quotes to check (naive chain)
        "source_hit_at_k": mean(r.verdicts["hit_at_k"] for r in answerable),
        "mrr": mean(r.verdicts["reciprocal_rank"] for r in answerable),
        "refusal_accuracy": mean(r.refused for r in unanswerable) if unanswerable else 1.0,
        "false_refusal_rate": mean(r.refused for r in answerable) if answerable else 0.0,
        "p50_ms": round(M.percentile(latencies, 50)),
        "p95_ms": round(M.percentile(latencies, 95)),
        "hit_k": HIT_K,
    }


def mean(values) -> float:
    values = [float(v) for v in values]
    return sum(values) / len(values) if values else 0.0


def run_ours(desk, rows: list[dict[str, Any]], entails, source_texts, progress=None) -> list[RowResult]:
    answerer = Answerer(desk)
    results = []
    for i, row in enumerate(rows, 1):
        started = time.perf_counter()
        answer: Answer = answerer.ask(row["question"], qid=row["id"])
        result = RowResult(
            id=row["id"], question=row["question"], answerable=row["answerable"], answer=answer.answer, refused=answer.refused,
            citations=[c.to_json() for c in answer.citations], retrieved_sources=answer.retrieved_sources,
            contexts=[e.text for e in answer.evidence], latency_ms=(time.perf_counter() - started) * 1000,
        )
        score_row(row, result, entails, source_texts)
        results.append(result)
        if progress:
            progress(i, len(rows), row["id"])
    return results


def run_naive(desk, rows: list[dict[str, Any]], entails, source_texts, progress=None) -> list[RowResult]:
    """The naive chain gets the benefit of the doubt: every sentence cites all four stuffed chunks."""
    from eval.naive import NaiveChain

    files = [Path(r.path) for r in desk.sources() if Path(r.path).exists()]
    chain = NaiveChain(files, desk.llm, desk.settings.llm_max_tokens)
    results = []
    for i, row in enumerate(rows, 1):
        naive = chain.ask(row["question"])
        marks = "".join(f"[{n}]" for n in range(1, len(naive.contexts) + 1))
        cited = " ".join(f"{s} {marks}." for s, _ in M.split_sentences_with_markers(naive.answer)) if not naive.refused else naive.answer
        result = RowResult(
            id=row["id"], question=row["question"], answerable=row["answerable"], answer=cited, refused=naive.refused,
            citations=[{"n": n, "quote": c, "source": s} for n, (c, s) in enumerate(zip(naive.contexts, naive.sources), 1)],
            retrieved_sources=list(dict.fromkeys(naive.sources)), contexts=naive.contexts, latency_ms=naive.seconds * 1000,
        )
        score_row(row, result, entails, source_texts)
        result.verdicts["quotes_valid"] = []  # whole chunks, not quotes: nothing to check
        results.append(result)
        if progress:
            progress(i, len(rows), row["id"])
    return results


def verifier_report(verifier: Verifier, support_path: Path) -> dict[str, float]:
    rows = [json.loads(line) for line in support_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    predictions = [verifier.supports(r["sentence"], [Passage(text=r["passage"])]) for r in rows]
    return {"n": len(rows), **M.classifier_metrics(predictions, [bool(r["supported"]) for r in rows])}


@dataclass
class EvalReport:
    eval_set: str
    backend: str
    measured_at: str
    ours: dict[str, Any]
    verifier: dict[str, Any]
    naive: dict[str, Any] | None = None
    results: list[RowResult] = field(default_factory=list)
    naive_results: list[RowResult] = field(default_factory=list)

    def metrics_json(self) -> dict[str, Any]:
        out = {**self.ours, "backend": self.backend, "eval_set": self.eval_set, "measured_at": self.measured_at, "verifier": self.verifier}
        if self.naive is not None:
            out["naive"] = self.naive
        return out


def run_eval(desk, eval_set: Path, compare: bool = False, limit: int | None = None, progress=None) -> EvalReport:
    try:
        rows = M.load_eval_set(eval_set)
    except (OSError, ValueError) as exc:
        raise BriefError(f"cannot use eval set {eval_set}: {exc}", fix="see the eval set format in the README") from None
    rows = rows[:limit] if limit else rows
    if not desk.sources():
        raise BriefError("nothing is ingested", fix="run `brief ingest` first")
    source_texts = {r.source: r.text for r in desk.store.list_sources(with_text=True)}
    verifier = Verifier(desk.embedder, desk.settings.support_threshold)
    entails = verifier_entails(verifier)
    results = run_ours(desk, rows, entails, source_texts, progress)
    report = EvalReport(
        eval_set=str(eval_set), backend=desk.llm.name, measured_at=time.strftime("%Y-%m-%d"), ours=summarise(rows, results),
        verifier=verifier_report(verifier, desk.settings.support_set), results=results,
    )
    if compare:
        report.naive_results = run_naive(desk, rows, entails, source_texts, progress)
        report.naive = summarise(rows, report.naive_results)
    return report


def run_eval_command(desk, eval_set: Path | None, as_json: bool, out: Path | None, compare: bool, limit: int | None) -> int:
    from eval.report import comparison_table, write_outputs

    path = eval_set or desk.settings.eval_set
    report = run_eval(desk, path, compare=compare, limit=limit, progress=None if as_json else stderr_progress)
    if out:
        write_outputs(report, out)
        print(f"wrote {out}/report.md, results.jsonl, metrics.json, chart.png, ragas.jsonl", file=sys.stderr)
    if as_json:
        print(json.dumps(report.metrics_json()))
    else:
        print(comparison_table(report))
    return 0


def stderr_progress(done: int, total: int, qid: str) -> None:
    end = "\n" if done == total else ""
    print(f"\r  {done}/{total} {qid}   ", end=end, file=sys.stderr, flush=True)


def result_json(result: RowResult) -> dict[str, Any]:
    return asdict(result)

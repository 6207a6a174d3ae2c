"""Run an eval set through Briefing Desk (and, with --compare, the naive chain) and score every system
the same way, next to two chance rows: "refuse everything" and "answer with the top retrieved sentence".

Citations are judged independently of the answer pipeline: against the set's gold passages and gold
answers (see `metrics.gold_citation_scores`). Our verifier's opinion (ALCE with the verifier as the
entailment check) is kept as a separate, clearly named column, because the pipeline already used that
verifier to filter its own sentences.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval import metrics as M
from eval import squad
from eval.sets_io import EvalSet, load_eval_questions, support_set_path
from rag.errors import BriefError
from rag.questions.answer import Answer, Answerer
from rag.questions.verify import Passage, Verifier

HIT_K = 5  # sources considered for hit@k
Progress = Callable[[int, int, str], None]


@dataclass
class Output:
    """What one system said about one question, in the shape every scorer reads."""

    answer: str
    refused: bool
    citations: list[dict[str, Any]]
    short_answer: str | None = None  # None: the system gives none; its whole answer is scored
    answer_cites: list[int] = field(default_factory=list)  # citation numbers carrying the short answer
    retrieved_sources: list[str] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    latency_ms: float = 0.0
    confidence: dict[str, float] = field(default_factory=dict)  # e.g. 'answerable': the refusal model's


@dataclass
class RowResult:
    id: str
    question: str
    answerable: bool
    output: Output
    verdicts: dict[str, Any] = field(default_factory=dict)
    article: str | None = None  # SQuAD sets: the article the question was asked about


# --- systems ----------------------------------------------------------------------------------------
def ours_output(answer: Answer, latency_ms: float) -> Output:
    return Output(
        answer=answer.answer,
        refused=answer.refused,
        citations=[c.to_json() for c in answer.citations],
        # a withheld short answer is scored as an empty one: the quoted sentence counts only as lenient
        short_answer="" if answer.short_answer_withheld else answer.short_answer,
        answer_cites=answer.short_answer_cites,
        retrieved_sources=answer.retrieved_sources,
        contexts=[e.text for e in answer.evidence],
        latency_ms=latency_ms,
        confidence=dict(answer.confidence),
    )


def run_ours(desk, rows: list[dict], progress: Progress | None) -> tuple[list[Output], list[Answer]]:
    answerer = Answerer(desk)
    outputs, answers = [], []
    for i, row in enumerate(rows, 1):
        started = time.perf_counter()
        answer = answerer.ask(row["question"], qid=row["id"])
        outputs.append(ours_output(answer, (time.perf_counter() - started) * 1000))
        answers.append(answer)
        report_progress(progress, i, len(rows), f"ours {row['id']}")
    return outputs, answers


def refuse_everything(answers: list[Answer]) -> list[Output]:
    return [
        Output(answer="", refused=True, citations=[], retrieved_sources=a.retrieved_sources) for a in answers
    ]


def top_sentence(answers: list[Answer]) -> list[Output]:
    """The best-ranked evidence sentence, quoted and cited, for every question: what retrieval alone
    gives without any answering, verification or refusal."""
    outputs = []
    for a in answers:
        if not a.evidence:
            outputs.append(
                Output(answer="", refused=True, citations=[], retrieved_sources=a.retrieved_sources)
            )
            continue
        e = a.evidence[0]
        citation = {"n": 1, "source": e.source, "quote": e.text, "start": e.start, "end": e.end}
        outputs.append(
            Output(
                answer=f"{e.text} [1]",
                refused=False,
                citations=[citation],
                short_answer=e.text,
                answer_cites=[1],
                retrieved_sources=a.retrieved_sources,
                contexts=[e.text],
            )
        )
    return outputs


def run_naive(
    desk, rows: list[dict], source_texts: dict[str, str], progress: Progress | None
) -> list[Output]:
    from eval.naive import NaiveChain

    chain = NaiveChain(source_texts, desk.llm, desk.settings.llm_max_tokens)
    outputs = []
    for i, row in enumerate(rows, 1):
        naive = chain.ask(row["question"])
        outputs.append(
            Output(
                answer=naive.answer,
                refused=naive.refused,
                citations=naive.citations,
                retrieved_sources=list(dict.fromkeys(naive.sources)),
                contexts=naive.contexts,
                latency_ms=naive.seconds * 1000,
            )
        )
        report_progress(progress, i, len(rows), f"naive {row['id']}")
    return outputs


# --- scoring ----------------------------------------------------------------------------------------
def verifier_entails(verifier: Verifier) -> M.Entails:
    def entails(claim: str, passages: list[str]) -> bool:
        return bool(passages) and verifier.supports(claim, [Passage(text=p) for p in passages])

    return entails


def prediction_of(out: Output) -> str:
    """The text scored by exact match and F1: the short answer, else the whole answer without markers."""
    if out.refused:
        return ""
    text = out.short_answer if out.short_answer is not None else out.answer
    return " ".join(M.MARKERS.sub(" ", text).split())


def verifier_scores(out: Output, entails: M.Entails) -> dict[str, Any]:
    """How many of the answer's sentences the verifier finds supported by the quotes they cite."""
    quotes = {c["n"]: c["quote"] for c in out.citations}
    sentences = [
        (text, [quotes[n] for n in ns if n in quotes])
        for text, ns in M.split_sentences_with_markers(out.answer)
    ]
    s = M.citation_scores(sentences, entails)
    return {
        "verifier_recall": s.recall,
        "verifier_precision": s.precision,
        "n_sentences": s.n_sentences,
        "n_citations": s.n_citations,
    }


def score_row(
    row: dict, out: Output, entails: M.Entails | None, source_texts: dict[str, str]
) -> dict[str, Any]:
    """Every per-question verdict; `entails` None skips the verifier's column."""
    prediction = prediction_of(out)
    exact, f1 = squad.best_scores(row["gold_answers"] if row["answerable"] else [], prediction)
    v: dict[str, Any] = {"refused": out.refused, "exact": exact, "f1": f1, "prediction": prediction}
    # a short answer shown (not refused, not withheld), and whether it holds a gold answer (never, for
    # an unanswerable question): short-answer precision counts both kinds of question
    v["short_shown"] = not out.refused and bool(prediction) and out.short_answer != ""
    v["short_precise"] = (
        v["short_shown"] and row["answerable"] and M.contains_gold(prediction, row["gold_short_answers"])
    )
    if row["answerable"]:
        gold = row["gold_short_answers"]
        v["short_correct"] = not out.refused and M.contains_gold(prediction, gold)
        v["lenient_correct"] = not out.refused and M.contains_gold(out.answer, gold)
        v["hit_at_k"] = M.hit_at_k(out.retrieved_sources, row["gold_sources"], HIT_K)
        v["reciprocal_rank"] = M.reciprocal_rank(out.retrieved_sources, row["gold_sources"])
        if not out.refused:
            judged = M.gold_citation_scores(out.citations, row["gold_sources"], gold, out.answer_cites)
            v.update(
                gold_citations=judged.n_citations,
                gold_citations_correct=judged.n_correct,
                gold_supported=judged.supported,
            )
    if not out.refused and entails is not None:
        v.update(verifier_scores(out, entails))
    v["quotes_valid"] = [M.quote_valid(c["quote"], source_texts.get(c["source"], "")) for c in out.citations]
    v["short_answer_words"] = len(prediction.split()) if row["answerable"] and v["short_shown"] else None
    return v


def score_all(rows: list[dict], outputs: list[Output], entails, source_texts) -> list[RowResult]:
    return [
        RowResult(
            r["id"],
            r["question"],
            r["answerable"],
            o,
            score_row(r, o, entails, source_texts),
            r.get("article"),
        )
        for r, o in zip(rows, outputs)
    ]


def right(v: dict[str, Any], answerable: bool) -> bool:
    """The accuracy rule: a gold answer in the short answer, or a refusal where there is none."""
    return v["short_correct"] if answerable else v["refused"]


def accuracy_by_article(results: list[RowResult]) -> dict[str, dict[str, Any]]:
    articles = dict.fromkeys(r.article for r in results if r.article)
    out = {}
    for title in articles:
        mine = [r for r in results if r.article == title]
        k = sum(right(r.verdicts, r.answerable) for r in mine)
        out[title] = {"accuracy": k / len(mine), "counts": {"accuracy": [k, len(mine)]}}
    return out


def proportion(flags) -> list[int]:
    flags = [bool(f) for f in flags]
    return [sum(flags), len(flags)]


def summarise(results: list[RowResult]) -> dict[str, Any]:
    """Metrics of one system. Every share also has its [count, total] under 'counts'."""
    answerable = [r.verdicts for r in results if r.answerable]
    unanswerable = [r.verdicts for r in results if not r.answerable]
    counts = share_counts(results, answerable, unanswerable)
    out: dict[str, Any] = {key: (k / n if n else None) for key, (k, n) in counts.items()}
    out.update(
        n=len(results),
        n_answerable=len(answerable),
        n_unanswerable=len(unanswerable),
        counts=counts,
        hit_k=HIT_K,
        **score_means(results, answerable, unanswerable),
        **verifier_averages(results),
        **length_and_latency(results, answerable),
        **answerable_separation(results),
        by_article=accuracy_by_article(results),
    )
    return out


def share_counts(
    results: list[RowResult], answerable: list[dict], unanswerable: list[dict]
) -> dict[str, list[int]]:
    """[count, total] of every share metric."""
    answered = [v for v in answerable if not v["refused"]]
    return {
        "accuracy": proportion(right(r.verdicts, r.answerable) for r in results),
        "answer_em_recall": proportion(v["short_correct"] for v in answerable),
        "answer_lenient_recall": proportion(v["lenient_correct"] for v in answerable),
        "citation_precision": [
            sum(v.get("gold_citations_correct", 0) for v in answered),
            sum(v.get("gold_citations", 0) for v in answered),
        ],
        "citation_recall": proportion(v["gold_supported"] for v in answered),
        "quote_validity": proportion(ok for r in results for ok in r.verdicts["quotes_valid"]),
        "source_hit_at_k": proportion(v["hit_at_k"] for v in answerable),
        "refusal_accuracy": proportion(v["refused"] for v in unanswerable),
        "false_refusal_rate": proportion(v["refused"] for v in answerable),
        "short_answer_precision": proportion(
            r.verdicts["short_precise"] for r in results if r.verdicts["short_shown"]
        ),
        "short_answer_shown": proportion(v["short_shown"] for v in answerable),
    }


def score_means(results: list[RowResult], answerable: list[dict], unanswerable: list[dict]) -> dict[str, Any]:
    """Official SQuAD 2.0 exact match and F1 (all, has-answer, no-answer) and the sources' MRR."""
    return {
        "exact_match": mean(r.verdicts["exact"] for r in results),
        "f1": mean(r.verdicts["f1"] for r in results),
        "has_ans_exact": mean(v["exact"] for v in answerable),
        "has_ans_f1": mean(v["f1"] for v in answerable),
        "no_ans_exact": mean(v["exact"] for v in unanswerable),
        "no_ans_f1": mean(v["f1"] for v in unanswerable),
        "mrr": mean(v["reciprocal_rank"] for v in answerable),
    }


def answerable_separation(results: list[RowResult]) -> dict[str, Any]:
    """AUC of the answerable probability the system reports (None where it reports none): how well it
    ranks the questions the articles answer above those they do not, whatever the threshold."""
    scored = [r for r in results if "answerable" in r.output.confidence]
    auc = M.auc(
        [r.output.confidence["answerable"] for r in scored if r.answerable],
        [r.output.confidence["answerable"] for r in scored if not r.answerable],
    )
    return {"answerable_auc": auc, "answerable_auc_n": len(scored)}


def verifier_averages(results: list[RowResult]) -> dict[str, float | None]:
    """ALCE micro-averages with OUR verifier as the entailment model: not independent of the pipeline."""
    cited = [r.verdicts for r in results if "verifier_recall" in r.verdicts]
    n_sent, n_cit = sum(v["n_sentences"] for v in cited), sum(v["n_citations"] for v in cited)
    recall = sum(v["verifier_recall"] * v["n_sentences"] for v in cited) / n_sent if n_sent else None
    precision = sum(v["verifier_precision"] * v["n_citations"] for v in cited) / n_cit if n_cit else None
    return {"citation_recall_verifier": recall, "citation_precision_verifier": precision}


def length_and_latency(results: list[RowResult], answerable: list[dict]) -> dict[str, Any]:
    words = [v["short_answer_words"] for v in answerable if v["short_answer_words"] is not None]
    latencies = [r.output.latency_ms for r in results if r.output.latency_ms]
    return {
        "short_answer_words_median": M.percentile(words, 50) if words else None,
        "p50_ms": round(M.percentile(latencies, 50)) if latencies else None,
        "p95_ms": round(M.percentile(latencies, 95)) if latencies else None,
    }


def mean(values) -> float | None:
    values = [float(v) for v in values]
    return sum(values) / len(values) if values else None


# --- the verifier on labelled pairs -------------------------------------------------------------------
def verifier_report(verifier: Verifier, support_path: Path, part: str = "report") -> dict[str, Any]:
    """Accuracy of the verifier on the labelled pairs of one part of support.jsonl (its threshold is
    calibrated on the 'fit' part, `python -m fit.calibrate`)."""
    rows = support_pairs(support_path, part)
    predictions = [verifier.supports(r["sentence"], [Passage(text=r["passage"])]) for r in rows]
    return {
        "n": len(rows),
        "part": part,
        **M.classifier_metrics(predictions, [bool(r["supported"]) for r in rows]),
    }


def support_pairs(path: Path, part: str) -> list[dict]:
    """Pairs whose passage comes from an article of the given part of the seeds split."""
    spec = squad.split_of(Path("seeds.jsonl"))
    articles = set(spec[part]) if part != "all" else None
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if articles is None or r.get("source") in articles]


# --- the run ----------------------------------------------------------------------------------------
@dataclass
class EvalReport:
    eval_set: str
    split: str
    backend: str
    measured_at: str
    systems: dict[str, dict[str, Any]]  # name -> metrics; "ours" first
    verifier: dict[str, Any]
    articles: list[str] = field(default_factory=list)
    results: dict[str, list[RowResult]] = field(default_factory=dict)

    @property
    def ours(self) -> dict[str, Any]:
        return self.systems["ours"]

    def metrics_json(self) -> dict[str, Any]:
        others = {name: m for name, m in self.systems.items() if name != "ours"}
        return {
            **self.ours,
            "backend": self.backend,
            "eval_set": self.eval_set,
            "split": self.split,
            "articles": self.articles,
            "measured_at": self.measured_at,
            "verifier": self.verifier,
            "others": others,
        }


SYSTEM_LABELS = {
    "ours": "Briefing Desk",
    "naive": "naive LangChain chain",
    "refuse_all": "refuse everything",
    "top_sentence": "top retrieved sentence",
}


def run_eval(
    desk,
    eval_set: Path,
    compare: bool = False,
    limit: int | None = None,
    progress: Progress | None = None,
    split: str | None = None,
    articles: str | None = None,
    store: str = "all",
) -> EvalReport:
    if compare:
        from eval.naive import require_compare_extra

        require_compare_extra()
    try:
        evalset = load_eval_questions(eval_set, split=split, articles=articles, limit=limit, store=store)
    except (OSError, ValueError) as exc:
        raise BriefError(
            f"cannot use eval set {eval_set}: {exc}", fix="see the eval set format in the README"
        ) from None
    with store_for(desk, evalset, progress) as target:
        if not target.sources():
            raise BriefError("nothing is ingested", fix="run `brief ingest` first")
        return evaluate(target, evalset, str(eval_set), compare, progress)


def evaluate(desk, evalset: EvalSet, set_name: str, compare: bool, progress: Progress | None) -> EvalReport:
    source_texts = {r.source: r.text for r in desk.store.list_sources(with_text=True)}
    verifier = desk.verifier
    entails = verifier_entails(verifier)
    outputs, answers = run_ours(desk, evalset.rows, progress)
    systems_out = {
        "ours": outputs,
        "refuse_all": refuse_everything(answers),
        "top_sentence": top_sentence(answers),
    }
    if compare:
        systems_out["naive"] = run_naive(desk, evalset.rows, source_texts, progress)
    results = {
        name: score_all(evalset.rows, outs, entails, source_texts) for name, outs in systems_out.items()
    }
    return EvalReport(
        eval_set=set_name,
        split=evalset.split,
        backend=desk.llm.name,
        measured_at=time.strftime("%Y-%m-%d"),
        systems={name: summarise(rs) for name, rs in results.items()},
        verifier=verifier_report(verifier, support_set_path(desk.settings)),
        articles=evalset.articles,
        results=results,
    )


@contextmanager
def store_for(desk, evalset: EvalSet, progress: Progress | None) -> Iterator[Any]:
    """The user's desk for our own sets; for SQuAD, a throwaway store under the data directory holding
    the set's paragraphs (the user's store is never touched), removed afterwards."""
    if not evalset.needs_own_store:
        yield desk
        return
    root = Path(desk.settings.data_dir) / "eval-stores" / uuid.uuid4().hex[:12]
    try:
        yield throwaway_desk(desk, root, evalset.documents, progress)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def throwaway_desk(desk, root: Path, documents: dict[str, str], progress: Progress | None):
    from rag.store.desk import Desk

    docs = root / "docs"
    docs.mkdir(parents=True, exist_ok=True)  # fit.refusal reuses its store: unchanged files are skipped
    for name, text in documents.items():
        (docs / name).write_text(text, encoding="utf-8")
    settings = desk.settings.model_copy(
        update={
            "data_dir": root / "store",
            "model_dir": desk.settings.resolved_model_dir,
            "chroma_host": None,
        }
    )
    target = Desk(settings)
    for backend in (
        "embedder",
        "reader",
        "span_scorer",
        "refusal_model",
        "llm",
    ):  # share the models the user's desk already loaded (cached properties)
        if backend in desk.__dict__:
            target.__dict__[backend] = desk.__dict__[backend]
    target.ingest(
        [docs],
        progress=(lambda d, t, name: report_progress(progress, d, t, f"ingest {name}")) if progress else None,
    )
    return target


def report_progress(progress: Progress | None, done: int, total: int, label: str) -> None:
    if progress:
        progress(done, total, label)

"""Write an eval run to disk: report.md, results.jsonl, metrics.json, chart.png, ragas.jsonl."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from eval.metrics import wilson_interval
from eval.runner import SYSTEM_LABELS
from rag.errors import BriefError

# (key, label, kind): "pct" shares are shown with their counts and a 95% Wilson interval.
TABLE_METRICS = [
    (
        "accuracy",
        "accuracy: gold answer in the short answer (a withheld one counts as wrong), or refused when there is none",
        "pct",
    ),
    ("exact_match", "exact match, official SQuAD normalisation (all)", "mean"),
    ("f1", "F1, official (all)", "mean"),
    ("has_ans_exact", "exact match, has-answer", "mean"),
    ("has_ans_f1", "F1, has-answer", "mean"),
    ("no_ans_exact", "exact match, no-answer (= refused)", "mean"),
    ("answer_em_recall", "answer recall: gold answer in the short answer", "pct"),
    ("answer_lenient_recall", "answer recall, lenient: gold answer anywhere in the answer", "pct"),
    (
        "short_answer_precision",
        "short-answer precision: a shown short answer holds a gold answer (every question)",
        "pct",
    ),
    ("short_answer_shown", "short answer shown (answerable questions; else the cited sentence alone)", "pct"),
    ("short_answer_words_median", "short answer, median words (shown ones)", "num1"),
    ("citation_precision", "citation precision (gold judge)", "pct"),
    ("citation_recall", "citation recall (gold judge, answered questions)", "pct"),
    ("citation_precision_verifier", "citation precision (ALCE, our verifier: not independent)", "mean"),
    ("citation_recall_verifier", "citation recall (ALCE, our verifier: not independent)", "mean"),
    ("quote_validity", "quotes found verbatim in their source", "pct"),
    ("source_hit_at_k", "source hit@k", "pct"),
    ("mrr", "source MRR", "num"),
    ("refusal_accuracy", "unanswerable refused", "pct"),
    ("false_refusal_rate", "answerable refused (lower is better)", "pct"),
    ("answerable_auc", "AUC of the answerable probability (questions that report one)", "num"),
    ("p50_ms", "latency p50 (ms)", "int"),
    ("p95_ms", "latency p95 (ms)", "int"),
]
CHART_METRICS = ["accuracy", "answer_em_recall", "citation_precision", "citation_recall", "refusal_accuracy"]


def fmt(metrics: dict[str, Any], key: str, kind: str) -> str:
    value = metrics.get(key)
    if value is None:
        return "-"
    if kind == "pct":
        k, n = metrics["counts"][key]
        low, high = wilson_interval(k, n)
        return f"{100 * value:.1f}% ({k}/{n}; {100 * low:.0f}-{100 * high:.0f})"
    if kind == "mean":
        return f"{100 * value:.1f}%"
    if kind == "num":
        return f"{value:.3f}"
    if kind == "num1":
        return f"{value:.1f}"
    return f"{value:,.0f}"


def comparison_table(report) -> str:
    """Markdown table: one column per system, ours first, then the naive chain and the chance rows."""
    names = list(report.systems)
    ours = report.ours
    scope = f", articles: {', '.join(report.articles)}" if report.articles else ""
    lines = [
        f"Eval set {report.eval_set}, part '{report.split}'{scope}: {ours['n']} questions ({ours['n_answerable']} answerable, "
        f"{ours['n_unanswerable']} not); backend {report.backend}; measured {report.measured_at}",
        "Shares show (count/total; 95% Wilson interval). Citations are judged against the gold passages and answers.",
        "",
        "| metric | " + " | ".join(SYSTEM_LABELS.get(n, n) for n in names) + " |",
        "| --- |" + " --- |" * len(names),
    ]
    for key, label, kind in TABLE_METRICS:
        label = label.replace("hit@k", f"hit@{ours['hit_k']}")
        lines.append(f"| {label} | " + " | ".join(fmt(report.systems[n], key, kind) for n in names) + " |")
    by_article = ours.get("by_article") or {}
    if by_article:
        lines += [
            "",
            "Accuracy by article (Briefing Desk): "
            + "; ".join(f"{title} {fmt(m, 'accuracy', 'pct')}" for title, m in by_article.items()),
        ]
    v = report.verifier
    lines += [
        "",
        f"Verifier on the {v['n']} labelled pairs of the '{v['part']}' part of the support set (threshold chosen on the 'fit' part): "
        f"accuracy {100 * v['accuracy']:.1f}%, precision {100 * v['precision']:.1f}%, recall {100 * v['recall']:.1f}%",
    ]
    return "\n".join(lines)


def write_outputs(report, out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(report.metrics_json(), indent=2), encoding="utf-8")
        for name, results in report.results.items():
            filename = "results.jsonl" if name == "ours" else f"results_{name}.jsonl"
            write_jsonl(out / filename, [asdict(r) for r in results])
        write_jsonl(out / "ragas.jsonl", [ragas_row(r) for r in report.results["ours"]])
        write_chart(report, out / "chart.png")
        (out / "report.md").write_text(markdown_report(report), encoding="utf-8")
    except OSError as exc:
        raise BriefError(
            f"cannot write the eval report to {out}: {exc.strerror}", fix="choose a writable --out folder"
        ) from None


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def ragas_row(result) -> dict[str, Any]:
    """RAGAS' single-turn sample fields, so the run can be re-scored with RAGAS elsewhere."""
    out = result.output
    return {
        "user_input": result.question,
        "response": out.answer,
        "retrieved_contexts": out.contexts,
        "reference": None,
        "reference_contexts": None,
        "short_answer": out.short_answer,
        "cited_quotes": [c["quote"] for c in out.citations],
        "refused": out.refused,
        "id": result.id,
    }


def write_chart(report, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report.systems)
    labels = [key.replace("_", " ") for key in CHART_METRICS]
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(9, 4))
    for i, name in enumerate(names):
        values = [100 * (report.systems[name].get(k) or 0) for k in CHART_METRICS]
        ax.bar(
            [x + (i - (len(names) - 1) / 2) * width for x in range(len(labels))],
            values,
            width,
            label=SYSTEM_LABELS.get(name, name),
        )
    ax.set_xticks(list(range(len(labels))), labels, rotation=20, ha="right")
    ax.set_ylim(0, 100)
    ax.set_ylabel("%")
    ax.set_title(f"Citation eval ({report.ours['n']} questions, {report.backend})")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown_report(report) -> str:
    lines = [
        "# Citation eval report",
        "",
        comparison_table(report),
        "",
        "## Per question (Briefing Desk)",
        "",
        "| id | right | refused | short answer | answer |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in report.results["ours"]:
        v = r.verdicts
        right = (
            ("yes" if v["refused"] else "no")
            if not r.answerable
            else ("yes" if v.get("short_correct") else "no")
        )
        answer = r.output.answer.replace("|", "\\|").replace("\n", " ")[:160]
        short = (v["prediction"] if r.answerable else "").replace("|", "\\|")[:60]
        lines.append(f"| {r.id} | {right} | {'yes' if v['refused'] else 'no'} | {short} | {answer} |")
    return "\n".join(lines) + "\n"

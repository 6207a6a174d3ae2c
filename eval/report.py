"""Write an eval run to disk: report.md, results.jsonl, metrics.json, chart.png, ragas.jsonl."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rag.errors import BriefError

TABLE_METRICS = [
    ("answer_em_recall", "answer recall (EM, answerable)", "pct"),
    ("citation_precision", "citation precision (ALCE)", "pct"),
    ("citation_recall", "citation recall (ALCE)", "pct"),
    ("quote_validity", "quotes found in source", "pct"),
    ("source_hit_at_k", "source hit@k", "pct"),
    ("mrr", "source MRR", "num"),
    ("refusal_accuracy", "unanswerable refused", "pct"),
    ("false_refusal_rate", "answerable refused (lower is better)", "pct"),
    ("p50_ms", "latency p50 (ms)", "int"),
    ("p95_ms", "latency p95 (ms)", "int"),
]
CHART_METRICS = ["answer_em_recall", "citation_precision", "citation_recall", "source_hit_at_k", "refusal_accuracy"]


def fmt(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "num":
        return f"{value:.3f}"
    return f"{value:,.0f}"


def comparison_table(report) -> str:
    """Markdown table: ours next to the naive chain when it was run."""
    header = "| metric | Briefing Desk |" + (" naive LangChain chain |" if report.naive else "")
    rule = "| --- | --- |" + (" --- |" if report.naive else "")
    lines = [f"Eval set {report.eval_set} ({report.ours['n']} questions: {report.ours['n_answerable']} answerable, {report.ours['n_unanswerable']} not), backend {report.backend}, measured {report.measured_at}", "", header, rule]
    for key, label, kind in TABLE_METRICS:
        if key == "source_hit_at_k":
            label = f"source hit@{report.ours['hit_k']}"
        row = f"| {label} | {fmt(report.ours.get(key), kind)} |"
        if report.naive:
            row += f" {fmt(report.naive.get(key), kind)} |"
        lines.append(row)
    v = report.verifier
    lines += ["", f"Verifier on {v['n']} labelled pairs: accuracy {100 * v['accuracy']:.1f}%, precision {100 * v['precision']:.1f}%, recall {100 * v['recall']:.1f}%, F1 {100 * v['f1']:.1f}%"]
    return "\n".join(lines)


def write_outputs(report, out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(report.metrics_json(), indent=2), encoding="utf-8")
        write_jsonl(out / "results.jsonl", [asdict(r) for r in report.results])
        if report.naive_results:
            write_jsonl(out / "results_naive.jsonl", [asdict(r) for r in report.naive_results])
        write_jsonl(out / "ragas.jsonl", [ragas_row(r) for r in report.results])
        write_chart(report, out / "chart.png")
        (out / "report.md").write_text(markdown_report(report), encoding="utf-8")
    except OSError as exc:
        raise BriefError(f"cannot write the eval report to {out}: {exc.strerror}", fix="choose a writable --out folder") from None


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def ragas_row(result) -> dict[str, Any]:
    """RAGAS' single-turn sample fields, so the run can be re-scored with RAGAS elsewhere."""
    return {
        "user_input": result.question,
        "response": result.answer,
        "retrieved_contexts": result.contexts,
        "reference": None,
        "reference_contexts": None,
        "cited_quotes": [c["quote"] for c in result.citations],
        "refused": result.refused,
        "id": result.id,
    }


def write_chart(report, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [key.replace("_", " ") for key in CHART_METRICS]
    ours = [100 * report.ours[k] for k in CHART_METRICS]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.38 if report.naive else 0.6
    xs = range(len(labels))
    ax.bar([x - (width / 2 if report.naive else 0) for x in xs], ours, width, label="Briefing Desk", color="#2b6cb0")
    if report.naive:
        ax.bar([x + width / 2 for x in xs], [100 * report.naive[k] for k in CHART_METRICS], width, label="naive LangChain chain", color="#c05621")
    ax.set_xticks(list(xs), labels, rotation=20, ha="right")
    ax.set_ylim(0, 100)
    ax.set_ylabel("%")
    ax.set_title(f"Citation eval ({report.ours['n']} questions, {report.backend})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown_report(report) -> str:
    lines = ["# Citation eval report", "", comparison_table(report), "", "## Per question", "", "| id | right | refused | citation precision | answer |", "| --- | --- | --- | --- | --- |"]
    for r in report.results:
        v = r.verdicts
        right = "-" if not r.answerable else ("yes" if v.get("answer_correct") else "no")
        prec = fmt(v.get("citation_precision"), "pct") if "citation_precision" in v else "-"
        answer = r.answer.replace("|", "\\|").replace("\n", " ")[:160]
        lines.append(f"| {r.id} | {right} | {'yes' if r.refused else 'no'} | {prec} | {answer} |")
    return "\n".join(lines) + "\n"

"""The eval suite end to end on the real default models, on the reporting part of the seeds set only
(nothing is fitted or tuned on it), with quality floors.

The floors sit a few points under what the reporting part measured (see README), so a change that
makes answers or citations worse fails CI instead of landing quietly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eval.report import comparison_table, write_outputs
from eval.runner import run_eval

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[1]
SEEDS_SET = ROOT / "eval" / "sets" / "seeds.jsonl"
SHARED_SQUAD = ROOT.parent / "shared" / "public-qa" / "squad2-train-10-articles.json"
FLOOR_ACCURACY = 0.60  # measured 73.1% (19/26) on 2026-12-02 with the SQuAD-trained reader and refusal model (73.1% before)
FLOOR_LENIENT_RECALL = (
    0.75  # measured 81.0% (17/21) on 2026-12-02 (81.0% before): the gold answer anywhere in the answer
)
FLOOR_CITATION_PRECISION = 0.80  # measured 94.4% (17/18) on 2026-12-02 (87.5% before)
FLOOR_REFUSAL = 0.40  # measured 80% (4/5) on 2026-12-02 (60% before): near-miss questions whose words all occur get through


@pytest.fixture(scope="module")
def report(real_desk):
    return run_eval(real_desk, SEEDS_SET)  # the reporting part by default


def test_quality_floors_on_the_reporting_part(report):
    m = report.ours
    assert report.split == "report" and m["n"] == 26
    assert m["accuracy"] >= FLOOR_ACCURACY, comparison_table(report)
    assert m["answer_lenient_recall"] >= FLOOR_LENIENT_RECALL, comparison_table(report)
    assert m["citation_precision"] >= FLOOR_CITATION_PRECISION, comparison_table(report)
    assert m["refusal_accuracy"] >= FLOOR_REFUSAL, comparison_table(report)
    assert m["quote_validity"] == 1.0


def test_chance_rows_are_in_every_report(report):
    table = comparison_table(report)
    assert "refuse everything" in table and "top retrieved sentence" in table
    assert report.systems["refuse_all"]["accuracy"] == pytest.approx(5 / 26)


def test_verifier_accuracy_is_reported_on_pairs_it_was_not_calibrated_on(report):
    v = report.verifier
    assert v["part"] == "report" and v["n"] == 40 and 0.5 <= v["accuracy"] <= 1.0


def test_report_files(report, tmp_path):
    write_outputs(report, tmp_path)
    assert {p.name for p in tmp_path.iterdir()} >= {
        "report.md",
        "results.jsonl",
        "metrics.json",
        "chart.png",
        "ragas.jsonl",
    }
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert {"output", "verdicts"} <= set(rows[0]) and {"answer", "citations", "short_answer"} <= set(
        rows[0]["output"]
    )
    assert (tmp_path / "results_top_sentence.jsonl").exists()
    ragas = json.loads((tmp_path / "ragas.jsonl").read_text().splitlines()[0])
    assert {"user_input", "response", "retrieved_contexts", "reference"} <= set(ragas)
    assert "| answer recall" in (tmp_path / "report.md").read_text()


def cli_env(tmp_path: Path, model_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `brief` subprocess: its own data folder, the shared models, no hub."""
    data = {
        "BRIEF_DATA_DIR": str(tmp_path / "data"),
        "BRIEF_MODEL_DIR": str(model_dir),
        "HF_HUB_OFFLINE": "1",
    }
    return {**os.environ, **data, **extra}


def brief(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.commands.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.skipif(not SHARED_SQUAD.exists(), reason="needs ../shared/public-qa")
def test_cli_eval_on_squad_json(tmp_path, model_dir):
    env = cli_env(tmp_path, model_dir)
    out = brief(
        # only the two articles stored (--store part): the whole file's 1,051 chunks are the eval's job, not CI's
        "eval",
        "--set",
        str(SHARED_SQUAD),
        "--articles",
        "2",
        "--store",
        "part",
        "--limit",
        "12",
        "--json",
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    metrics = json.loads(out.stdout)
    assert metrics["n"] == 12 and metrics["split"] == "report" and len(metrics["articles"]) == 2
    squad_metrics = "exact_match f1 has_ans_exact has_ans_f1 no_ans_exact refusal_accuracy citation_precision citation_recall"
    assert set(squad_metrics.split()) <= set(metrics)
    assert set(metrics["others"]) == {"refuse_all", "top_sentence"}
    assert not any((tmp_path / "data" / "eval-stores").iterdir())


def test_cli_batch_and_eval_json(tmp_path, model_dir, seeds_dir):
    env = cli_env(tmp_path, model_dir, BRIEF_LLM_API_KEY="sk-never-print-me")
    assert brief("ingest", str(seeds_dir), "--quiet", env=env).returncode == 0
    three = tmp_path / "three.jsonl"
    three.write_text("".join(SEEDS_SET.read_text().splitlines(keepends=True)[:3]))
    batch = brief("ask", "--batch", str(three), "--json", env=env)
    assert batch.returncode == 0, batch.stderr
    lines = [json.loads(line) for line in batch.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["q01", "q02", "q03"]
    out = brief("eval", "--set", str(three), "--json", "--out", str(tmp_path / "report"), env=env)
    assert out.returncode == 0, out.stderr
    metrics = json.loads(out.stdout)
    shown = "n answer_em_recall citation_precision citation_recall source_hit_at_k mrr refusal_accuracy false_refusal_rate p50_ms"
    assert set(shown.split()) <= set(metrics)
    for written in (tmp_path / "report").iterdir():  # no secret in any report or export
        assert "sk-never-print-me" not in written.read_text(errors="ignore")
    assert "sk-never-print-me" not in out.stdout + out.stderr + batch.stdout + batch.stderr

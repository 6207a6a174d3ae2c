"""eval.fit_compare: the paired check that a re-fit beats the fitting data's noise, on tiny tables."""

import json

import numpy as np
import pytest

from eval import fit_compare, fit_gate

POINT = {
    "gate_min_relevance": 0.0,
    "gate_min_coverage": 0.0,
    "gate_min_salient_coverage": 0.0,
    "reader_threshold": 0.0,
    "span_min_likelihood": -100.0,
    "reader_passages": 6,
}


def run(tmp_path, name, margins, holds_gold, answerable, point=POINT):
    """A saved fit_gate table and report: one feature row per question (only the margin and whether
    the span holds a gold answer vary)."""
    features = np.array([[0.9, 0.9, 1.0, m, g, -1.0] for m, g in zip(margins, holds_gold)], dtype=float)
    rows = [(f"q{i}", bool(a), "answerable" if a else "adversarial", []) for i, a in enumerate(answerable)]
    fit_gate.save_table(tmp_path / f"{name}.json", rows, {6: features})
    (tmp_path / f"{name}-report.json").write_text(json.dumps({"chosen": point}), encoding="utf-8")
    return [str(tmp_path / f"{name}.json"), str(tmp_path / f"{name}-report.json")]


def test_outcomes_follow_the_gates_scoring():
    rows = [("a", True, "answerable", []), ("b", True, "answerable", []), ("c", False, "adversarial", [])]
    features = {
        6: np.array([[0.9, 0.9, 1, 2.0, 1, -1], [0.9, 0.9, 1, 2.0, 0, -1], [0.9, 0.9, 1, -1.0, 0, -1]])
    }
    right = fit_compare.question_outcomes(rows, features, POINT)
    assert right.tolist() == [True, False, True]  # a wrong span is not right; a refusal of "c" is


def test_a_small_gain_does_not_clear_the_noise_and_a_large_one_does():
    answerable = np.array([True] * 100 + [False] * 100)
    old = np.array([True, False] * 100)
    small = old.copy()
    small[1] = True  # one question better
    result = fit_compare.paired_bootstrap(old, small, answerable)
    assert result["questions_better"] == 1 and result["questions_worse"] == 0
    assert result["difference"] == 0.005 and not result["clears_noise"]
    large = np.ones(200, dtype=bool)
    assert fit_compare.paired_bootstrap(old, large, answerable)["clears_noise"]


def test_main_compares_two_saved_runs(tmp_path, capsys):
    answerable = [True] * 20 + [False] * 20
    old = run(tmp_path, "old", [1.0] * 40, [1] * 10 + [0] * 30, answerable)
    new = run(tmp_path, "new", [1.0] * 20 + [-1.0] * 20, [1] * 20 + [0] * 20, answerable)
    assert fit_compare.main(old + new) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["old"] == 0.25 and result["new"] == 1.0 and result["clears_noise"]


def test_runs_over_different_questions_or_bad_files_are_refused_with_a_message(tmp_path, capsys):
    old = run(tmp_path, "old", [1.0, -1.0], [1, 0], [True, False])
    other = run(tmp_path, "other", [1.0, -1.0, 1.0], [1, 0, 1], [True, False, True])
    assert fit_compare.main(old + other) == 2
    assert "different questions" in capsys.readouterr().err
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        fit_compare.main(old + [str(tmp_path / "broken.json"), old[1]])
    assert exit_info.value.code == 2
    assert "not a JSON object" in capsys.readouterr().err
    swapped = [old[1], old[0]]  # a report where a table belongs
    assert fit_compare.main(swapped + old) == 2
    assert "not one written by eval.fit_gate --save-table" in capsys.readouterr().err
    unmeasured = run(
        tmp_path, "unmeasured", [1.0, -1.0], [1, 0], [True, False], {**POINT, "reader_passages": 3}
    )
    assert fit_compare.main(old + unmeasured) == 2
    assert "no chosen point" in capsys.readouterr().err


def test_the_committed_table_is_the_one_the_shipped_gate_was_chosen_on():
    """eval/sets/gate_table.json is the OLD side of the next comparison: scored at the shipped
    report's chosen point it must give the report's balanced accuracy (re-save both together)."""
    rows, features = fit_gate.load_table(fit_gate.REPORT.with_name("gate_table.json"))
    chosen = json.loads(fit_gate.REPORT.read_text(encoding="utf-8"))["chosen"]
    right = fit_compare.question_outcomes(rows, features, chosen)
    answerable = fit_gate.answerable_labels(rows)
    assert round(fit_compare.balanced_accuracy(right, answerable), 4) == chosen["balanced_accuracy"]

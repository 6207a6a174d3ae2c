"""The joint choice of gate thresholds and reader margin (eval.fit_gate) on synthetic feature rows."""

import numpy as np
import pytest

from eval import fit_gate

# columns: relevance, coverage, salient coverage, reader margin, the pipeline's span holds a gold
# answer, the span scorer's likelihood of it
ANSWERABLE = [
    [0.8, 0.6, 1.0, 4.0, 1, -1.0],
    [0.7, 0.5, 1.0, 3.0, 1, -1.5],
    [0.7, 0.5, 1.0, 2.0, 0, -2.0],
    [0.6, 0.4, 1.0, 1.5, 1, -1.0],
]
UNANSWERABLE = [[0.7, 0.5, 1.0, -2.0, 0, -1.0], [0.65, 0.5, 1.0, 0.5, 0, -1.0], [0.2, 0.1, 0.0, 5.0, 0, -1.0]]


def table():
    return np.array(ANSWERABLE + UNANSWERABLE, dtype=float), np.array([True] * 4 + [False] * 3)


def test_score_counts_a_wrong_span_as_no_better_than_a_refusal():
    features, labels = table()
    everything = {
        "gate_min_relevance": 0.0,
        "gate_min_coverage": 0.0,
        "gate_min_salient_coverage": 0.0,
        "reader_threshold": -10.0,
        "span_min_likelihood": -100.0,
    }
    result = fit_gate.score(features, labels, everything)
    assert result["answerable_right"] == 0.75  # 3 of 4: the third span is wrong although answered
    assert result["answerable_refused"] == 0.0 and result["unanswerable_refused"] == 0.0


def test_sweep_separates_by_margin_and_gate_and_keeps_the_refusal_promise():
    features, labels = table()
    best = fit_gate.sweep({6: features}, labels)[0]
    assert best["answerable_refused"] <= fit_gate.MAX_ANSWERABLE_REFUSED
    assert best["unanswerable_refused"] == 1.0  # the margin drops the first two, the gate the third
    assert 0.5 <= best["reader_threshold"] < 1.5
    assert best["balanced_accuracy"] == round((0.75 + 1.0) / 2, 4)


def test_sweep_puts_points_that_refuse_too_many_answerable_questions_last():
    features, labels = table()
    results = fit_gate.sweep({6: features}, labels, keep=None)
    over = [r["answerable_refused"] > fit_gate.MAX_ANSWERABLE_REFUSED for r in results]
    assert over == sorted(over)  # every admissible point before every inadmissible one


def test_the_settings_defaults_are_the_fitted_ones():
    """The defaults are copied from eval/sets/gate_report.json by hand; this keeps them in step."""
    import json

    from rag.settings import Settings

    chosen = json.loads(fit_gate.REPORT.read_text(encoding="utf-8"))["chosen"]
    names = (
        "gate_min_relevance",
        "gate_min_coverage",
        "gate_min_salient_coverage",
        "reader_threshold",
        "reader_passages",
        "span_min_likelihood",
    )
    for name in names:
        assert Settings.model_fields[name].default == chosen[name], name


def test_sweep_chooses_how_many_passages_to_read():
    """Reading fewer passages can refuse the same questions while picking better spans."""
    features, labels = table()
    worse = features.copy()
    worse[:4, 4] = 0  # with more passages read, every answerable span is wrong
    best = fit_gate.sweep({4: features, 8: worse}, labels)[0]
    assert best["reader_passages"] == 4


def test_sweep_refuses_on_the_scorers_likelihood_when_the_margin_cannot():
    """An unanswerable question the reader is sure of, whose answer the scorer finds unlikely."""
    features, labels = table()
    features[5, 3], features[5, 5] = 4.5, -5.0  # sure reader, unlikely answer
    best = fit_gate.sweep({6: features}, labels)[0]
    assert best["unanswerable_refused"] == 1.0
    assert -5.0 < best["span_min_likelihood"] <= -2.0  # refuses it, keeps every answerable one


def test_a_saved_table_sweeps_the_same_as_the_measured_one(tmp_path):
    features, labels = table()
    kinds = ["answerable"] * 4 + ["adversarial"] * 2 + ["off_topic"]
    rows = [
        (f"q{i}", bool(label), kind, ["a"] if label else [])
        for i, (label, kind) in enumerate(zip(labels, kinds))
    ]
    fit_gate.save_table(tmp_path / "t.json", rows, {6: features, 8: features[::-1]})
    loaded_rows, loaded = fit_gate.load_table(tmp_path / "t.json")
    assert loaded_rows == rows and sorted(loaded) == [6, 8]
    assert np.array_equal(loaded[6], features) and np.array_equal(loaded[8], features[::-1])
    assert fit_gate.sweep(loaded, labels) == fit_gate.sweep({6: features, 8: features[::-1]}, labels)


def test_a_missing_saved_table_is_refused_with_a_message(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        fit_gate.parse_args(["--from-table", str(tmp_path / "nowhere.json")])
    assert exit_info.value.code == 2 and "no saved table" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--from-table", "--rows-from"])
@pytest.mark.parametrize("content", ["{not json", "[1, 2]", "\udcff"])
def test_a_saved_table_that_is_not_a_json_object_is_refused_with_a_message(tmp_path, capsys, content, flag):
    table = tmp_path / "t.json"
    table.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(SystemExit) as exit_info:
        fit_gate.parse_args([flag, str(table)])
    assert exit_info.value.code == 2 and "not a table saved by --save-table" in capsys.readouterr().err


def test_a_missing_squad_file_is_refused_with_a_message(tmp_path, capsys):
    from eval import fit_span

    saved = tmp_path / "t.json"
    saved.write_text("{}", encoding="utf-8")
    missing = ["--set", str(tmp_path / "nowhere.json")]
    for parse, args in (
        (fit_gate.parse_args, missing),
        (fit_span.parse_args, missing),
        (fit_gate.parse_args, [*missing, "--from-table", str(saved)]),  # the re-sweep needs the titles too
    ):
        with pytest.raises(SystemExit) as exit_info:
            parse(args)
        assert exit_info.value.code == 2 and "no SQuAD 2.0 training file" in capsys.readouterr().err
    assert (
        fit_span.parse_args([*missing, "--from-table", str(saved)]).from_table == saved
    )  # needs no articles

"""The by-article split and the refusal model: fitted on tiny synthetic rows, applied as shipped."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from fit import split as splitting
from fit.refusal import model as M
from fit.refusal.table import Row, load_table, save_table
from rag.errors import BackendUnavailable
from rag.models.refusal import MODEL_FILE, RefusalModel, load_refusal_model
from rag.questions.reading import FEATURES

SHARED_DEV = Path(__file__).resolve().parents[2] / "shared" / "public-qa" / "squad2-dev-32-articles.json"


def test_the_split_is_by_article_disjoint_and_whole():
    titles = [f"Article_{i}" for i in range(32)]
    parts = splitting.deal(titles)
    dealt = [t for part in parts.values() for t in part]
    assert sorted(dealt) == sorted(titles)  # every article once: disjoint and whole
    assert (
        len(parts["report"]) == splitting.REPORT_ARTICLES
        and len(parts["choose"]) == splitting.CHOOSE_ARTICLES
    )
    assert parts == splitting.deal(list(reversed(titles)))  # fixed by the seed, not the file's order
    entry = splitting.split_entry(parts)
    assert set(entry["fit"]) == set(parts["fit_refusal"]) | set(parts["choose"])
    with pytest.raises(ValueError, match="too few"):
        splitting.deal(titles[:10])


@pytest.mark.skipif(not SHARED_DEV.exists(), reason="needs ../shared/public-qa")
def test_the_recorded_split_is_the_dealt_one_with_enough_reporting_questions():
    from eval.squad import load_squad, split_of

    articles = load_squad(SHARED_DEV)
    recorded = split_of(SHARED_DEV)
    dealt = splitting.split_entry(splitting.deal([a.title for a in articles]))
    assert {k: recorded[k] for k in dealt if k not in ("how",)} == {
        k: v for k, v in dealt.items() if k != "how"
    }
    reported = [q for a in articles if a.title in recorded["report"] for q in a.questions]
    assert len(recorded["report"]) >= 8 and len(reported) >= 2400


def synthetic_rows(n: int, seed: int, part: str) -> list[Row]:
    """Answerable questions have higher margins; a span is right more often the higher its margin."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        answerable = rng.random() < 0.5
        margin = rng.gauss(4.0 if answerable else 0.0, 2.0)
        right = answerable and rng.random() < min(1.0, max(0.0, margin / 8))
        features = {name: rng.random() for name in FEATURES} | {"margin": margin}
        rows.append(Row(f"{part}{i}", "A", part, answerable, features, "x", right, right, True, 1.0))
    return rows


def test_the_heads_learn_from_the_margin_and_the_thresholds_keep_the_promises():
    fit_rows, choose_rows = synthetic_rows(600, 1, "fit"), synthetic_rows(400, 2, "choose")
    model, chosen_c = M.fit_model(fit_rows, choose_rows, FEATURES)
    margin = FEATURES.index("margin")
    assert model.heads["answerable"].coef[margin] > 1.0 and model.heads["short_right"].coef[margin] > 1.0
    assert set(chosen_c) == {"answerable", "short_right"}
    thresholds, rates = M.choose_thresholds(model, choose_rows)
    assert rates["answerable_refused"] <= M.MAX_ANSWERABLE_REFUSED
    everything = M.rates(choose_rows, M.outcome(model, choose_rows, 0.0, 0.0))
    assert rates["accuracy"] > everything["accuracy"]  # refusing some beats answering all
    assert 0 < thresholds["refusal_min_answerable"] < 1
    feasible = [
        M.rates(choose_rows, M.outcome(model, choose_rows, a, s))
        for a in M.THRESHOLD_GRID[::5]
        for s in M.THRESHOLD_GRID[::5]
    ]
    feasible = [r for r in feasible if r["answerable_refused"] <= M.MAX_ANSWERABLE_REFUSED]
    most_accurate = max(feasible, key=lambda r: r["accuracy"])
    assert rates["accuracy"] >= most_accurate["accuracy"] - M.ACCURACY_TOLERANCE


def test_the_sweep_along_the_refusal_threshold_refuses_more_of_both_kinds_as_it_rises():
    fit_rows, choose_rows = synthetic_rows(600, 1, "fit"), synthetic_rows(400, 2, "choose")
    model, _ = M.fit_model(fit_rows, choose_rows, FEATURES)
    sweep = M.sweep_refusal(model, choose_rows, 0.5)
    assert [p["refusal_min_answerable"] for p in sweep] == list(M.SWEEP_POINTS)
    for key in ("answerable_refused", "unanswerable_refused"):
        values = [p[key] for p in sweep]
        assert values == sorted(values) and values[-1] > values[0], key
    assert all(0 <= p["accuracy"] <= 1 for p in sweep)


def test_rates_count_a_withheld_short_answer_as_not_right_and_a_shown_wrong_one_as_imprecise():
    rows = synthetic_rows(4, 3, "c")
    for row, answerable, right in zip(rows, (True, False, True, False), (True, False, False, False)):
        row.answerable, row.right, row.sentence_right = answerable, right, right
    out = M.Outcome(refused=np.array([False, False, True, True]), shown=np.array([False, True, False, False]))
    r = M.rates(rows, out)
    assert r["accuracy"] == 0.25  # only the refused unanswerable one: the withheld right span does not count
    assert r["short_answer_precision"] == 0.0  # the one shown was on an unanswerable question
    assert r["answer_holds_gold"] == 0.5  # ... but the withheld one's sentence holds the gold
    assert r["answerable_refused"] == r["unanswerable_refused"] == 0.5 and r["short_answer_shown"] == 0.0


def test_the_model_round_trips_through_json_and_is_checked_on_load(tmp_path):
    model, _ = M.fit_model(synthetic_rows(200, 4, "f"), synthetic_rows(100, 5, "c"), FEATURES)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(model.to_json()))
    loaded = load_refusal_model(path, FEATURES)
    features = synthetic_rows(1, 6, "x")[0].features
    assert loaded.probabilities(features) == pytest.approx(model.probabilities(features))
    with pytest.raises(BackendUnavailable, match="other features"):
        load_refusal_model(path, ("margin",))
    path.write_text("{not json")
    with pytest.raises(BackendUnavailable, match="fit.refusal"):
        load_refusal_model(path)
    with pytest.raises(BackendUnavailable):
        load_refusal_model(tmp_path / "missing.json")


def test_a_saved_table_loads_and_a_wrong_file_is_refused_with_a_message(tmp_path):
    rows = synthetic_rows(3, 7, "fit_refusal")
    save_table(rows, tmp_path / "t.json", {"data": "x.json"})
    about, loaded = load_table(tmp_path / "t.json")
    assert about == {"data": "x.json"} and loaded == rows
    (tmp_path / "bad.json").write_text(json.dumps({"rows": [1]}))
    with pytest.raises(ValueError, match="not a table"):
        load_table(tmp_path / "bad.json")


def test_the_shipped_model_fits_the_pipelines_features_and_the_settings_its_report():
    from rag.config.settings import load_settings

    model = load_refusal_model(MODEL_FILE, FEATURES)
    assert isinstance(model, RefusalModel)
    report = json.loads(
        (Path(__file__).resolve().parents[1] / "eval" / "sets" / "refusal_report.json").read_text()
    )
    settings = load_settings()
    for name, value in report["thresholds"].items():
        assert getattr(settings, name) == value, name
    # its features include embedding similarities: fitted on the default embedder's vectors
    assert report["about"]["embedder"] == settings.embedder

"""Metric code on hand-made outputs whose scores are known, and the eval sets themselves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.metrics import (
    answer_correct,
    auc,
    citation_scores,
    classifier_metrics,
    gold_citation_scores,
    hit_at_k,
    load_eval_set,
    normalize,
    percentile,
    quote_valid,
    reciprocal_rank,
    split_sentences_with_markers,
    wilson_interval,
)
from eval.squad import best_scores, compute_f1, normalize_answer
from vectorstore.clean import clean_document

ROOT = Path(__file__).resolve().parents[1]
SETS = ROOT / "eval" / "sets"


def test_normalize_ignores_case_accents_punctuation_and_digit_groups():
    assert (
        normalize("López Obrador said: US $310 million, 2,000 people.")
        == "lopez obrador said us 310 million 2000 people"
    )
    assert normalize("2.7 million") == "2.7 million"


@pytest.mark.parametrize(
    "answer, gold, right",
    [
        ("Harris announced US $310 million [1].", [["310 million"]], True),
        ("Harris announced US $3100 million.", [["310 million"]], False),  # word boundary
        ("Lopez Obrador met Blinken.", [["López Obrador", "AMLO"], ["Blinken"]], True),
        ("López Obrador met someone.", [["López Obrador"], ["Blinken"]], False),  # every inner list needed
        ("anything", [], False),
        ("Ponte Sisto bridge", [["the Ponte Sisto bridge"]], True),  # articles ignored, as SQuAD's official
        ("the Ponte bridge", [["the Ponte Sisto bridge"]], False),
        ("Theresa May", [["May"]], True),  # only whole-word articles go: 'Theresa' keeps its 'the'
    ],
)
def test_answer_correct(answer, gold, right):
    assert answer_correct(answer, gold) is right


# Each of these matched on the old metric code (percent stripped, a decimal continuing a number read as
# a boundary, citation markers scored as numbers).
@pytest.mark.parametrize(
    "answer, gold",
    [
        ("Exports grew 2.7 million tonnes.", [["2%"]]),
        ("The fund holds 10 million dollars.", [["10%"]]),
        ("They met on Tuesday [2].", [["2"]]),
        ("It rose 2.7 percent.", [["2"]]),
    ],
)
def test_answer_correct_rejects_old_false_matches(answer, gold):
    assert answer_correct(answer, gold) is False


def test_percent_matches_percent_only():
    assert answer_correct("Support fell to 2% in May.", [["2%"]])
    assert answer_correct("Support fell to 2 percent in May.", [["2%"]])
    assert answer_correct("The vote was 10.5% short.", [["10.5%"]])


def test_official_squad_normalisation_em_and_f1():
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert best_scores(["Eiffel Tower", "the tower"], "the Eiffel Tower") == (1, 1.0)
    assert compute_f1("Eiffel Tower", "tower in Paris") == pytest.approx(
        2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2)
    )
    assert best_scores([], "") == (1, 1.0)  # no-answer question, nothing predicted
    assert best_scores([], "Paris") == (0, 0.0)
    assert best_scores(["Paris"], "") == (0, 0.0)


def test_gold_judge_checks_source_and_the_answer_carrying_quote():
    citations = [
        {"n": 1, "source": "a.txt", "quote": "Ruiz visited Ottawa on Tuesday."},
        {"n": 2, "source": "b.txt", "quote": "Exports rose 4%."},
    ]
    gold = [["Tuesday"]]
    judged = gold_citation_scores(citations, ["a.txt"], gold, answer_cites=[1])
    assert (judged.n_citations, judged.n_correct, judged.supported) == (2, 1, True)
    wrong_carrier = gold_citation_scores(citations[:1], ["a.txt"], [["Monday"]], answer_cites=[1])
    assert (wrong_carrier.n_correct, wrong_carrier.supported) == (0, False)
    not_gold = gold_citation_scores(citations[1:], ["a.txt"], gold, answer_cites=[])
    assert (not_gold.n_correct, not_gold.supported) == (0, False)


def test_wilson_interval():
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.490, abs=0.001) and high == pytest.approx(0.943, abs=0.001)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(5, 5)[1] == 1.0


def test_split_sentences_with_markers():
    assert split_sentences_with_markers("A did X [1][2]. B did Y [3]. C said nothing.") == [
        ("A did X.", [1, 2]),
        ("B did Y.", [3]),
        ("C said nothing.", []),
    ]


def scripted_entails(table: dict[tuple[str, frozenset[str]], bool]):
    def entails(claim: str, passages: list[str]) -> bool:
        return table.get((claim, frozenset(passages)), False)

    return entails


def test_citation_scores_follow_alce():
    """3 sentences, 4 citations. s1 cites p1 (entails): supported, precise. s2 cites p2 and p3; only
    together they entail it (each needed): supported, both precise. s3 cites p4, not entailed:
    unsupported, and its citation is not counted precise. Recall 2/3, precision 3/4."""
    entails = scripted_entails(
        {
            ("s1", frozenset({"p1"})): True,
            ("s2", frozenset({"p2", "p3"})): True,
        }
    )
    scores = citation_scores([("s1", ["p1"]), ("s2", ["p2", "p3"]), ("s3", ["p4"])], entails)
    assert scores.recall == pytest.approx(2 / 3)
    assert scores.precision == pytest.approx(3 / 4)
    assert (scores.n_sentences, scores.n_citations) == (3, 4)


def test_redundant_citation_is_imprecise():
    """s1 cites p1 and p2; p1 alone entails it and p2 alone does not: p2 is irrelevant (1/2)."""
    entails = scripted_entails({("s1", frozenset({"p1", "p2"})): True, ("s1", frozenset({"p1"})): True})
    scores = citation_scores([("s1", ["p1", "p2"])], entails)
    assert scores.recall == 1.0 and scores.precision == 0.5


def test_uncited_sentence_counts_against_recall():
    scores = citation_scores([("s1", [])], lambda c, p: True)
    assert scores.recall == 0.0 and scores.n_citations == 0


def test_quote_validity_collapses_whitespace():
    assert quote_valid(
        "US $310 million  in\nadditional aid", "Harris announced US $310 million in additional aid."
    )
    assert not quote_valid("US $410 million", "Harris announced US $310 million.")
    assert not quote_valid("   ", "anything")


def test_rank_metrics():
    assert hit_at_k(["a", "b", "c"], ["c"], 3) == 1.0
    assert hit_at_k(["a", "b", "c"], ["c"], 2) == 0.0
    assert reciprocal_rank(["a", "b", "c"], ["b", "c"]) == 0.5
    assert reciprocal_rank(["a"], ["z"]) == 0.0


def test_percentile_interpolates():
    assert percentile([10, 20, 30, 40], 50) == 25
    assert percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)
    assert percentile([], 50) == 0.0


def test_auc_is_the_share_of_pairs_ranked_right_with_ties_half():
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0 and auc([0.1], [0.9]) == 0.0
    assert auc([0.5, 0.9], [0.5]) == pytest.approx(0.75)  # one tie (half) and one win out of two pairs
    assert auc([0.3, 0.7, 0.2], [0.6, 0.1]) == pytest.approx(4 / 6)
    assert auc([], [0.1]) is None and auc([0.1], []) is None


def test_classifier_metrics():
    m = classifier_metrics([True, True, False, False], [True, False, True, False])
    assert m == {"accuracy": 0.5, "precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert classifier_metrics([False], [True])["precision"] == 0.0


def test_load_eval_set_names_the_bad_line(tmp_path):
    path = tmp_path / "set.jsonl"
    good = {
        "id": "a",
        "question": "q?",
        "gold_short_answers": [["x"]],
        "gold_sources": ["s.txt"],
        "answerable": True,
    }
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "a"}) + "\n")
    with pytest.raises(ValueError, match=r"set.jsonl:2: duplicate id"):
        load_eval_set(path)
    path.write_text(json.dumps({**good, "answerable": "yes"}) + "\n")
    with pytest.raises(ValueError, match=r":1: 'answerable'"):
        load_eval_set(path)
    path.write_text("{oops\n")
    with pytest.raises(ValueError, match="not JSON"):
        load_eval_set(path)


# --- the eval sets themselves ----------------------------------------------------------------------
def seed_texts() -> dict[str, str]:
    return {
        p.name: clean_document(p.read_text(encoding="utf-8")).text for p in (ROOT / "seeds").glob("*.txt")
    }


def test_seed_eval_set_shape_and_gold_answers_are_in_their_sources():
    rows = load_eval_set(SETS / "seeds.jsonl")
    answerable = [r for r in rows if r["answerable"]]
    assert len(rows) >= 40 and len(rows) - len(answerable) >= 8
    texts = seed_texts()
    for row in answerable:
        assert row["gold_sources"] and set(row["gold_sources"]) <= set(texts)
        for aliases in row["gold_short_answers"]:
            assert any(answer_correct(texts[s], [aliases]) for s in row["gold_sources"]), (row["id"], aliases)
    assert sum(len(r["gold_sources"]) > 1 for r in answerable) >= 4  # questions needing two articles


def test_support_set_is_balanced_and_quotes_real_passages():
    rows = [
        json.loads(line)
        for line in (SETS / "support.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(rows) >= 60
    assert 0.4 <= sum(not r["supported"] for r in rows) / len(rows) <= 0.6
    texts = list(seed_texts().values())
    for row in rows:
        assert any(quote_valid(row["passage"], t) for t in texts), row["id"]


def test_dev_and_seeds_share_no_question_and_splits_are_by_article():
    from eval.sets_io import load_eval_questions

    seeds = {r["question"].lower() for r in load_eval_set(SETS / "seeds.jsonl")}
    dev = {r["question"].lower() for r in load_eval_set(SETS / "dev.jsonl")}
    assert not seeds & dev
    fit = load_eval_questions(SETS / "seeds.jsonl", split="fit").rows
    report = load_eval_questions(SETS / "seeds.jsonl", split="report").rows
    assert {r["id"] for r in fit}.isdisjoint({r["id"] for r in report})
    assert len(fit) + len(report) == len(load_eval_set(SETS / "seeds.jsonl"))
    fit_articles = {s for r in fit for s in r["gold_sources"]}
    report_articles = {s for r in report for s in r["gold_sources"]}
    assert (
        report_articles
        and report_articles.isdisjoint(fit_articles - report_articles)
        and not report_articles & {s for r in load_eval_set(SETS / "dev.jsonl") for s in r["gold_sources"]}
    )
    assert any(not r["answerable"] for r in report)

"""Metric code on hand-made outputs whose scores are known, and the eval sets themselves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.metrics import (
    answer_correct,
    citation_scores,
    classifier_metrics,
    hit_at_k,
    load_eval_set,
    normalize,
    percentile,
    quote_valid,
    reciprocal_rank,
    split_sentences_with_markers,
)
from vectorstore.clean import clean_document

ROOT = Path(__file__).resolve().parents[1]
SETS = ROOT / "eval" / "sets"


def test_normalize_ignores_case_accents_punctuation_and_digit_groups():
    assert normalize("López Obrador said: US $310 million, 2,000 people.") == "lopez obrador said us 310 million 2000 people"
    assert normalize("2.7 million") == "2.7 million"


@pytest.mark.parametrize("answer, gold, right", [
    ("Harris announced US $310 million [1].", [["310 million"]], True),
    ("Harris announced US $3100 million.", [["310 million"]], False),  # word boundary
    ("Lopez Obrador met Blinken.", [["López Obrador", "AMLO"], ["Blinken"]], True),
    ("López Obrador met someone.", [["López Obrador"], ["Blinken"]], False),  # every inner list needed
    ("anything", [], False),
])
def test_answer_correct(answer, gold, right):
    assert answer_correct(answer, gold) is right


def test_split_sentences_with_markers():
    assert split_sentences_with_markers("A did X [1][2]. B did Y [3]. C said nothing.") == [("A did X.", [1, 2]), ("B did Y.", [3]), ("C said nothing.", [])]


def scripted_entails(table: dict[tuple[str, frozenset[str]], bool]):
    def entails(claim: str, passages: list[str]) -> bool:
        return table.get((claim, frozenset(passages)), False)

    return entails


def test_citation_scores_follow_alce():
    """3 sentences, 4 citations. s1 cites p1 (entails): supported, precise. s2 cites p2 and p3; only
    together they entail it (each needed): supported, both precise. s3 cites p4, not entailed:
    unsupported, and its citation is not counted precise. Recall 2/3, precision 3/4."""
    entails = scripted_entails({
        ("s1", frozenset({"p1"})): True,
        ("s2", frozenset({"p2", "p3"})): True,
    })
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
    assert quote_valid("US $310 million  in\nadditional aid", "Harris announced US $310 million in additional aid.")
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


def test_classifier_metrics():
    m = classifier_metrics([True, True, False, False], [True, False, True, False])
    assert m == {"accuracy": 0.5, "precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert classifier_metrics([False], [True])["precision"] == 0.0


def test_load_eval_set_names_the_bad_line(tmp_path):
    path = tmp_path / "set.jsonl"
    good = {"id": "a", "question": "q?", "gold_short_answers": [["x"]], "gold_sources": ["s.txt"], "answerable": True}
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
    return {p.name: clean_document(p.read_text(encoding="utf-8")).text for p in (ROOT / "seeds").glob("*.txt")}


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
    rows = [json.loads(line) for line in (SETS / "support.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 60
    assert 0.4 <= sum(not r["supported"] for r in rows) / len(rows) <= 0.6
    texts = list(seed_texts().values())
    for row in rows:
        assert any(quote_valid(row["passage"], t) for t in texts), row["id"]

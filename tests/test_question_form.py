"""The question-form classifier (rag/questions/question_form.py) and the parsing of subjects, periods and sides
(rag/questions/question_parts.py). The held-out examples come from the committed labelled set and its split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import BriefError
from rag.questions.question_form import (
    FORMS,
    check_mode,
    load_question_form_model,
    question_form,
    question_tokens,
)
from rag.questions.question_parts import comparison_sides, period_of, subject_of

SETS = Path(__file__).resolve().parents[1] / "eval" / "sets"


@pytest.fixture(scope="module")
def held_out() -> list[dict]:
    split = json.loads((SETS / "splits.json").read_text(encoding="utf-8"))["question_forms.jsonl"]
    topics = set(split["held_out"])
    rows = labelled_rows()
    return [r for r in rows if r["topic"] in topics]


def labelled_rows() -> list[dict]:
    text = (SETS / "question_forms.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def accuracy(rows: list[dict]) -> float:
    model = load_question_form_model()
    return sum(model.classify(r["question"]) == r["form"] for r in rows) / len(rows)


def test_held_out_rows_are_hand_labelled_and_share_no_topic_with_fitting():
    split = json.loads((SETS / "splits.json").read_text(encoding="utf-8"))["question_forms.jsonl"]
    assert not set(split["held_out"]) & set(split["fit"])
    rows = labelled_rows()
    assert {r["labelled_by"] for r in rows if r["topic"] in set(split["held_out"])} == {"hand"}


def test_held_out_accuracy_is_at_least_ninety_percent(held_out):
    assert len(held_out) >= 300 and {r["form"] for r in held_out} == set(FORMS)
    assert accuracy(held_out) >= 0.90
    written = [r for r in held_out if r["source"].startswith("written")]
    assert accuracy(written) >= 0.85  # the forms other than factoid are mostly here


def test_squad_questions_are_routed_to_the_factoid_path(held_out):
    squad_factoid = [r for r in held_out if r["source"] == "squad2-train" and r["form"] == "factoid"]
    model = load_question_form_model()
    routed = sum(model.classify(r["question"]) == "factoid" for r in squad_factoid) / len(squad_factoid)
    assert routed >= 0.97


@pytest.mark.parametrize(
    "question, form",
    [
        ("How has Tollen's position on the dam changed since 2018?", "timeline"),
        ("Give me a timeline of the Orvin dam.", "timeline"),
        ("Compare what Tollen and Rusk said about the dam.", "comparison"),
        ("Tollen vs Rusk on compensation", "comparison"),
        ("What did Tollen and Haskel discuss?", "descriptive"),
        ("Why did Tollen travel to the valley?", "descriptive"),
        ("Who opened the Orvin dam?", "factoid"),
        ("How many homes does the reservoir supply?", "factoid"),
    ],
)
def test_routing_of_each_form_on_names_the_model_never_saw(question, form):
    assert question_form(question) == form


def test_a_requested_mode_overrides_the_classifier():
    assert question_form("Who opened the Orvin dam?", "timeline") == "timeline"
    assert question_form("Who opened the Orvin dam?", "AUTO") == "factoid"
    with pytest.raises(BriefError, match="unknown mode"):
        check_mode("essay")


def test_names_and_years_are_read_as_their_kind():
    assert question_tokens("Compare Tollen and Rusk since 2018") == question_tokens(
        "Compare Ana Maria Kovac and Lind since 1999"
    )


# --- subjects, periods, sides -------------------------------------------------------------------
def test_subject_is_the_question_without_its_form_words():
    subject = subject_of("How has Tollen's position on the dam changed since 2018?")
    assert subject.names == {"tollen"} and subject.terms == {"position", "dam"}
    assert period_of("How has it changed since 2018?").since == "2018-01-01"
    assert period_of("What happened before 2020?").until == "2019-12-31"


@pytest.mark.parametrize(
    "question, sides, topic",
    [
        ("Compare what Tollen and Rusk said about the dam.", ["Tollen", "Rusk"], {"dam"}),
        ("Tollen vs Rusk on compensation", ["Tollen", "Rusk"], {"compensation"}),
        ("What did Tollen and Haskel each say about the wall?", ["Tollen", "Haskel"], {"wall"}),
        ("What is the difference between Tollen, Rusk and Haskel?", ["Tollen", "Rusk", "Haskel"], set()),
        ("How does the reservoir compare with the river?", ["reservoir", "river"], set()),
    ],
)
def test_comparison_sides_and_topic(question, sides, topic):
    found, about = comparison_sides(question)
    assert [s.label for s in found] == sides and about.terms == topic


def test_a_year_side_is_a_period():
    (new, old), topic = comparison_sides("What is new in 2023 compared with 2018?")
    assert (new.period.since, new.period.until) == ("2023-01-01", "2023-12-31")
    assert old.period.since == "2018-01-01" and topic.empty


def test_a_question_without_two_sides_has_none():
    assert comparison_sides("What does Rusk want?")[0] == []

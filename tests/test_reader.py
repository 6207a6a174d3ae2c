"""The answerability-and-span reader: its decoding, and the shipped model on hand-written passages
(none taken from the seeds or the SQuAD files). Its training is tested in test_fit_reader.py."""

from __future__ import annotations

import numpy as np
import pytest

from rag.models import reader as reader_module
from rag.models.reader import MODEL_DIR, Span, best_span, choose, token_probabilities

SHIPPED = (MODEL_DIR / "model.onnx").exists()


# ---------------------------------------------------------------- decoding (no model)


def test_best_span_stays_inside_the_passage_and_the_length_limit():
    start = np.array([9.0, 0.0, 1.0, 5.0, 0.0, 0.0])  # token 0 ([CLS]) scores highest but is not passage text
    end = np.array([9.0, 0.0, 0.0, 0.0, 0.0, 4.0])
    context = np.array([False, False, True, True, True, True])
    assert best_span(start, end, context, max_answer_tokens=3) == (3, 5, 9.0)
    s, e, _ = best_span(start, end, context, max_answer_tokens=2)  # 3..5 is three tokens: too long now
    assert e - s < 2 and context[s] and context[e]


def test_best_span_of_a_passage_truncated_away_is_empty():
    assert best_span(np.zeros(4), np.zeros(4), np.zeros(4, dtype=bool), 5)[2] == float("-inf")


def test_choose_takes_the_widest_margin_and_refuses_below_the_threshold():
    spans = [
        Span(0, "a", 0, 1, 2.0, 1.0),
        Span(1, "b", 0, 1, 3.0, -1.0),
        Span(2, "", 0, 0, float("-inf"), 0.0),
    ]
    assert choose(spans, 0.0).passage == 1
    assert choose(spans, 4.0) is None  # best margin is 4.0, not above it
    assert choose([], -100.0) is None


def test_span_probabilities_are_a_distribution_over_cls_and_the_passage():
    logits = np.array([2.0, 9.0, 1.0, 3.0])  # token 1 (the question) scores highest but is not allowed
    context = np.array([False, False, True, True])
    p = token_probabilities(logits, context)
    assert p[1] == 0.0 and p.sum() == pytest.approx(1.0) and p[3] > p[0] > p[2]


# ---------------------------------------------------------------- the shipped model

shipped = pytest.mark.skipif(not SHIPPED, reason="no shipped reader model (python -m fit.reader builds it)")


@pytest.fixture(scope="module")
def reader():
    return reader_module.Reader()


@pytest.mark.model
@shipped
def test_defaults_are_the_values_chosen_in_the_report():
    chosen = reader_module.model_report()["inference"]
    assert reader_module.NO_ANSWER_THRESHOLD == pytest.approx(chosen["threshold"])
    assert reader_module.MAX_LENGTH == chosen["max_length"]
    assert reader_module.MAX_ANSWER_TOKENS == chosen["max_answer_tokens"]


# Short made-up passages the shipped reader (SQuAD 2.0 train, report.json) must answer verbatim, the
# span no longer than needed.
CASES = [
    pytest.param(
        "When did the Halden canal open?",
        [
            "Work on the Halden canal began in 1881. The Halden canal opened in 1889 after eight years of digging."
        ],
        "1889",
    ),
    (
        "Who designed the new library in Vesterby?",
        [
            "The town council met on Tuesday. The new library in Vesterby was designed by the architect Maria Lund and opened in May."
        ],
        "Maria Lund",
    ),
    pytest.param(
        "How many beds does the Kirov street hospital have?",
        [
            "The Kirov street hospital has 240 beds and a staff of about 900.",
            "Parking near the hospital is free after six.",
        ],
        "240",
    ),
    pytest.param(
        "What did the cooperative sell in the autumn market?",
        [
            "The weather was mild all week.",
            "At the autumn market the cooperative sold pears and apple cider. It plans a winter market too.",
        ],
        "pears and apple cider",
    ),
]


@pytest.mark.model
@shipped
@pytest.mark.parametrize("question,passages,expected", CASES)
def test_the_shipped_reader_finds_the_answer_verbatim(reader, question, passages, expected):
    span = reader.best(question, passages)
    assert span is not None, (
        f"refused: {[(s.text, round(s.margin, 2)) for s in reader.read(question, passages)]}"
    )
    assert passages[span.passage][span.start : span.end] == span.text
    assert expected in span.text and len(span.text) <= 2 * len(expected) + 10


UNANSWERED = [
    (
        "Who designed the new library in Vesterby?",
        ["Tomatoes grow best in full sun and need regular watering.", "Prune them in early summer."],
    ),
    (
        "When did the Halden canal open?",
        ["The orchestra played three symphonies on Friday night. The audience applauded for ten minutes."],
    ),
]


@pytest.mark.model
@shipped
@pytest.mark.parametrize("question,passages", UNANSWERED)
def test_the_shipped_reader_gives_no_answer_from_unrelated_passages(reader, question, passages):
    assert reader.best(question, passages) is None


@pytest.mark.model
@shipped
def test_read_scores_each_passage_in_order(reader):
    passages = ["The ferry to Holm leaves at noon.", "The museum closes at five.", ""]
    spans = reader.read("When does the ferry to Holm leave?", passages)
    assert [s.passage for s in spans] == [0, 1, 2]
    assert spans[0].margin > spans[1].margin
    assert spans[2].text == "" and reader.read("anything", []) == []

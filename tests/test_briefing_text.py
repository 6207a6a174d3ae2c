"""Sentence-level briefing rules: figures, pending statements to questions, trimming, pronouns, actors."""

from __future__ import annotations

import pytest

from rag.briefings.briefing_actors import mentions_in, merge
from rag.briefings.briefing_layout import last_person
from rag.briefings.briefing_rewrite import repeats
from rag.briefings.briefing_text import (
    figures_in,
    is_pending,
    is_quotation,
    needs_rewrite,
    question_from,
    replace_pronoun,
    trim_sentence,
)


@pytest.mark.parametrize(
    "sentence, expected",
    [
        (
            "The minister announced US $310 million in additional aid for the region.",
            [("US $310 million", "additional aid")],
        ),
        ("Apprehensions rose, with over 300,000 encounters in December.", [("300,000", "encounters")]),
        ("That figure now represents 10% of the total.", [("10%", "the total")]),
        ("On December 30, 32 migrants on a bus were intercepted.", [("32", "migrants")]),
        ("The summit will be held on Nov. 15-17 in 2023 in San Francisco.", []),  # dates are not figures
        ("It shared 2.7 million Covid-19 vaccines.", [("2.7 million", "Covid-19 vaccines")]),
    ],
)
def test_figures_and_what_they_count(sentence, expected):
    assert figures_in(sentence) == expected


@pytest.mark.parametrize(
    "statement, question",
    [
        (
            "The governor urged the Senate to approve the budget before the recess.",
            "Will the Senate approve the budget before the recess?",
        ),
        (
            "The ministry said that the talks would resume in Geneva next month.",
            "Will the talks resume in Geneva next month?",
        ),
        (
            "Meanwhile, the union is seeking higher wages for nurses in the region.",
            "Is the union still seeking higher wages for nurses in the region?",
        ),
        (
            "In exchange, the city wants more money to police its streets.",
            "Does the city still want more money to police its streets?",
        ),
        (
            "The report made no mention of the proposal for the Council to fund the new port.",
            "Will the Council fund the new port?",
        ),
    ],
)
def test_pending_statements_become_questions_in_their_own_words(statement, question):
    assert is_pending(statement)
    assert question_from(statement, 30) == question


def test_quotations_are_not_findings_and_are_rewritten():
    assert is_quotation("“We will help,” the president said.")
    assert is_quotation("The economy is fine, but we need support,” she said.")
    assert not is_pending("“We will help you,” he said.")
    assert needs_rewrite("His remarks came after the vote.", 30) and not needs_rewrite(
        "The council voted to close the port.", 30
    )


def test_trimming_cuts_at_clause_boundaries_never_inside_a_list():
    long = (
        "In a recent press conference, the governor of the state, commonly known as Pepe, asked the council to approve a plan "
        "that would see $20 billion invested in roads, bridges and ports, which critics called too costly for a region of its size."
    )
    trimmed = trim_sentence(long, 30)
    assert (
        trimmed
        == "The governor of the state asked the council to approve a plan that would see $20 billion invested in roads, bridges and ports."
    )
    assert trim_sentence("Short and plain.", 30) == "Short and plain."


def test_pronouns_resolve_to_the_last_sentence_subject():
    context = "Governor Ana Ruiz also told the minister that Carlos Soto had given her the task. “This matters a lot,” she said."
    person = last_person(context, ["Ana Ruiz", "Carlos Soto"])
    assert person == "Ana Ruiz"
    assert (
        replace_pronoun("Her remarks came after the vote.", person)
        == "Ana Ruiz’s remarks came after the vote."
    )
    assert last_person("The weather was bad.", ["Ana Ruiz"]) is None


def test_spelling_variants_and_short_forms_are_one_actor():
    sentences = [
        "Secretary of State Antony Blinken met the minister.",
        "The US Secretary of State, Anthony Blinken met officials.",
        "Mexican President Andrés Manuel López Obrador, commonly known as AMLO, spoke.",
        "President López Obrador left.",
        "Foreign Minister Alicia Bárcena attended.",
        "The United States Congress and the US Congress voted.",
    ]
    actors = merge([m for i, s in enumerate(sentences) for m in mentions_in(s, i)])
    people = {a.name: a for a in actors if a.kind == "person"}
    assert len(people) == 3
    assert (
        "AMLO" in people["Andrés Manuel López Obrador"].aliases
        and people["Andrés Manuel López Obrador"].role == "Mexican President"
    )
    assert len([a for a in actors if a.kind == "body" and "Congress" in a.name]) == 1


def test_model_loops_are_caught():
    assert repeats(
        "the administration is working with Mexico and the administration is working with Mexico", 4
    )
    assert not repeats("The administration is working with Mexico on border controls.", 4)

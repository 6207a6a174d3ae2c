"""The span scorer: a second opinion on the reader's candidate answers.

The logic around it (which candidate wins, what happens without a scorer or when it cannot score)
runs on fakes; the Gemma scorer itself on the real packaged model; the fitting on a tiny table.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from fakes import ScriptedLLM, ScriptedReader, ScriptedScorer
from fit import span as fit_span
from rag.models.reader import top_spans
from rag.models.span_scorer import likelihood
from rag.questions.answer import Answerer

AID_Q = "How much additional aid did Harris announce for the region?"
AID = "US $310 million"
DECOY = "the coronavirus pandemic"  # in the same sentence: a wrong answer of the right shape


def answerer(desk, scorer) -> tuple[Answerer, ScriptedReader]:
    reader = ScriptedReader({"additional aid": AID})
    reader.decoys = {DECOY: 9.0}  # the reader prefers the right answer, but not by much
    desk.llm, desk.reader, desk.span_scorer = ScriptedLLM("NOT FOUND"), reader, scorer
    return Answerer(desk), reader


def test_the_scorer_can_overrule_the_reader_with_a_verbatim_span(fake_desk):
    scorer = ScriptedScorer({DECOY: -0.5, AID: -3.0})  # margin + weight x likelihood: 9 - w/2 > 10 - 3w
    answer = answerer(fake_desk, scorer)[0].ask(AID_Q)
    assert answer.short_answer == DECOY
    quote = answer.citations[0].quote
    assert DECOY in quote
    text = fake_desk.source_records([answer.citations[0].source])[answer.citations[0].source].text
    assert text[answer.citations[0].start : answer.citations[0].end] == quote


def test_the_scorer_reads_the_sentences_holding_candidates_and_is_asked_about_each(fake_desk):
    scorer = ScriptedScorer({AID: -0.1})
    answer = answerer(fake_desk, scorer)[0].ask(AID_Q)
    question, passage, candidates = scorer.asked[0]
    carrier = next(e for e in answer.evidence if AID in e.text)
    assert question == AID_Q and passage == carrier.text  # both candidates are in it; once, not per window
    assert candidates == [AID, DECOY] and answer.short_answer == AID


def test_the_scorer_passage_keeps_each_sentence_once_in_source_order():
    from rag.models.reader import Span
    from rag.questions.evidence import Evidence
    from rag.questions.reading import scorer_passage

    source = "Ana met Bo. Bo paid Cy. Cy left."
    sentences = [(0, 11), (12, 23), (24, 32)]

    def window(i):  # the sentence with the one before it, as rag.questions.evidence builds them
        start, end = sentences[i]
        before = sentences[i - 1][0] if i else start
        return Evidence("s", "t", None, "c", start, end, source[start:end], "", 0, 0, source[before:end])

    windows = [window(2), window(1)]  # ranked: "Bo paid Cy. Cy left.", then "Ana met Bo. Bo paid Cy."
    cy_left, cy_paid = Span(0, "Cy", 12, 14, 1.0, 0.0), Span(0, "Cy", 8, 10, 0.9, 0.0)
    bo_paid, bo_met = Span(1, "Bo", 12, 14, 0.8, 0.0), Span(1, "Bo", 8, 10, 0.7, 0.0)
    assert scorer_passage(windows, [cy_left, cy_paid, bo_paid]) == "Bo paid Cy. Cy left."
    assert scorer_passage(windows, [cy_left, bo_met]) == "Ana met Bo. Cy left."
    assert scorer_passage(windows, [cy_left]) == "Cy left."


@pytest.mark.parametrize("scorer", [None, ScriptedScorer({DECOY: 0.0}, refuse=True)])
def test_without_a_score_the_reader_choice_stands(fake_desk, scorer):
    answer = answerer(fake_desk, scorer)[0].ask(AID_Q)
    assert answer.short_answer == AID


def test_a_refused_question_never_asks_the_scorer(fake_desk):
    scorer = ScriptedScorer({DECOY: 0.0})
    answer = answerer(fake_desk, scorer)[0].ask("What did the moon landing cost in 1969?")
    assert answer.refused and scorer.asked == []


def test_top_spans_lists_the_best_allowed_spans_in_order():
    start = np.array([0.0, 1.0, 5.0, 0.0])
    end = np.array([0.0, 0.0, 2.0, 4.0])
    context = np.array([False, True, True, True])
    assert top_spans(start, end, context, max_answer_tokens=2, n=3) == [(2, 2, 7.0), (2, 3, 9.0)][::-1] + [
        (3, 3, 4.0)
    ]
    assert top_spans(start, end, np.zeros(4, dtype=bool), 2, 3) == []


def test_fit_span_picks_the_weight_that_lets_the_likelihood_fix_the_reader():
    # per question: candidates (text, reader margin, token log-probabilities, holds gold, F1), best margin first
    table = [
        {
            w: [("a", 5.0, [-4.0, -4.0], False, 0.0), ("b", 4.0, [-0.5, -0.5], True, 1.0)]
            for w in fit_span.WINDOWS_GRID
        },
        {w: [("c", 5.0, [-0.2], True, 1.0), ("d", 1.0, [-0.1], False, 0.0)] for w in fit_span.WINDOWS_GRID},
    ]
    results = fit_span.sweep(table)
    assert fit_span.reader_alone(results)["gold_in_answer"] == 0.5
    best = results[0]
    assert best["gold_in_answer"] == 1.0 and best["f1"] == 1.0
    assert best["span_windows"] == 1 and best["span_candidates"] == 2
    assert best["span_scored_tokens"] == 1  # the fewest tokens that do as well
    assert 1.0 / 3.5 < best["span_lm_weight"] < 4.0 / 0.1  # enough to fix the first, not to break the second


def test_fit_span_can_prefer_scoring_only_the_first_tokens():
    # the wrong long copy is near certain after its first token; the right short answer is not
    table = [
        {
            w: [("a b c d", 2.0, [-3.0, 0.0, 0.0, 0.0], False, 0.0), ("e", 1.0, [-1.0], True, 1.0)]
            for w in (1, 2, 3)
        }
    ]
    chosen = fit_span.sweep(table)[0]
    assert chosen["gold_in_answer"] == 1.0 and chosen["span_scored_tokens"] < 4


def test_fit_span_objective_prefers_the_answer_to_a_long_copy_holding_it():
    # both candidates hold the gold; the long copy is likelier per token, the short one is the answer
    long_copy = ("five armed vehicles stopped the bus at night", 3.0, [-2.0] + [-0.01] * 7, True, 0.4)
    short = ("five", 2.5, [-0.9], True, 1.0)
    table = [{w: [long_copy, short] for w in (1, 2, 3)}]
    results = fit_span.sweep(table)
    best = results[0]
    assert best[fit_span.OBJECTIVE] == 1.0 and best["median_words"] == 1.0
    assert max(r["gold_in_answer"] for r in results) == min(r["gold_in_answer"] for r in results) == 1.0


def test_the_settings_defaults_are_the_fitted_ones():
    from rag.config.settings import Settings

    chosen = json.loads(fit_span.REPORT.read_text(encoding="utf-8"))["chosen"]
    for name in fit_span.FIELDS:
        assert Settings.model_fields[name].default == chosen[name], name


def test_gemma_prefers_the_answer_to_a_wrong_phrase_of_the_same_passage(make_settings, model_dir):
    """The real packaged model: the likelihood a question's answer gets is above that of another
    phrase of the passage, for a 'when' and a 'who' question."""
    from rag.models.span_scorer import make_scorer

    scorer = make_scorer(make_settings(span_scorer="gemma", model_dir=model_dir))
    passage = "The night ferry to Holm leaves Pier 4 at 11 pm. Captain Ida Brenner has run it since 2019."

    def score(question, candidates, tokens=30):
        return [
            likelihood(lp, tokens) for lp in scorer.token_log_probs(question, passage, candidates, tokens)
        ]

    when = score("When does the night ferry leave?", ["11 pm", "Pier 4"])
    who = score("Who runs the ferry?", ["Captain Ida Brenner", "Holm"])
    assert when[0] > when[1] and who[0] > who[1]
    assert all(v < 0 for v in when + who)  # mean log-probabilities
    # the second prompt reused the context's copy of the worked example; asking again gives the same
    # (llama.cpp's numbers move a little with how the tokens were batched, never the ranking; without
    # the extra buffer types, which the backend turns off on these CPUs, by up to ~0.25 a token)
    again = score("When does the night ferry leave?", ["11 pm", "Pier 4"])
    assert again[0] > again[1] and again == pytest.approx(when, abs=0.3)
    # the candidates are decoded side by side: alone, or fewer tokens of each, the same numbers
    alone = scorer.token_log_probs("Who runs the ferry?", passage, ["Captain Ida Brenner"], 30)[0]
    both = scorer.token_log_probs("Who runs the ferry?", passage, ["Captain Ida Brenner", "Holm"], 30)
    first = scorer.token_log_probs("Who runs the ferry?", passage, ["Captain Ida Brenner", "Holm"], 1)
    assert len(alone) > 1 and [len(lp) for lp in first] == [1, 1]
    assert alone == pytest.approx(both[0], abs=0.05) and first[0][0] == pytest.approx(alone[0], abs=0.05)


def test_a_passage_too_long_for_the_scorer_keeps_the_reader_choice(make_settings, model_dir):
    from rag.models.span_scorer import make_scorer

    scorer = make_scorer(make_settings(span_scorer="gemma", model_dir=model_dir, span_scorer_context=128))
    assert scorer.token_log_probs("Who?", "word " * 400, ["word"], 30) is None


def test_candidates_are_distinct_answers_within_a_paragraph():
    from rag.models.reader import Span, distinct_answers

    spans = [
        Span(0, "Kennedy,", 0, 8, 5.0, 0.0),
        Span(1, "Kennedy", 3, 10, 6.0, 0.0),  # the same answer, better placed
        Span(0, "Kennedy.”\n\nThe Alliance", 0, 22, 7.0, 0.0),  # across a paragraph break
        Span(0, " ", 0, 1, 9.0, 0.0),
        Span(0, "1961", 30, 34, 4.0, 0.0),
    ]
    assert [(s.passage, s.text) for s in distinct_answers(spans, 6)] == [(1, "Kennedy"), (0, "1961")]
    assert len(distinct_answers(spans, 1)) == 1


def test_more_candidates_than_lanes_are_decoded_in_turns(make_settings, model_dir):
    """The context holds span_candidates sequences beside the prompt; more candidates (fit.span
    asks for its largest grid value) are decoded a group at a time, with the same numbers."""
    from rag.models.span_scorer import make_scorer

    passage = "The night ferry to Holm leaves Pier 4 at 11 pm. Captain Ida Brenner has run it since 2019."
    question, candidates = "Who runs the ferry?", ["Captain Ida Brenner", "Holm", "Pier 4 at 11 pm"]
    one_lane = make_scorer(make_settings(span_scorer="gemma", model_dir=model_dir, span_candidates=1))
    three_lanes = make_scorer(make_settings(span_scorer="gemma", model_dir=model_dir, span_candidates=3))
    in_turns = one_lane.token_log_probs(question, passage, candidates, 30)
    together = three_lanes.token_log_probs(question, passage, candidates, 30)
    assert [len(lp) for lp in in_turns] == [len(lp) for lp in together]
    for a, b in zip(in_turns, together):
        assert a == pytest.approx(b, abs=0.1)


def test_fit_span_sweeps_a_saved_table_without_the_model(tmp_path):
    table = [
        {w: [("a", 5.0, [-4.0], False, 0.0), ("b", 4.0, [-0.5], True, 1.0)] for w in fit_span.WINDOWS_GRID}
    ]
    saved, report = tmp_path / "table.json", tmp_path / "report.json"
    saved.write_text(json.dumps({"fitted_on": {"questions": 1}, "table": table}), encoding="utf-8")
    assert fit_span.main(["--from-table", str(saved), "--out", str(report)]) == 0
    written = json.loads(report.read_text(encoding="utf-8"))
    assert written["fitted_on"] == {"questions": 1} and written["chosen"]["gold_in_answer"] == 1.0
    assert written["chosen"] == fit_span.sweep(table)[0]


def test_the_scorer_borrows_the_embedded_llms_weights(real_desk):
    """With the packaged model as the LLM, the scorer makes its context on the LLM's loaded weights
    instead of mapping the file again (~300 MB of resident memory); a server LLM lends none."""
    from rag.models.llm import make_llm
    from rag.models.span_scorer import make_scorer

    scorer = make_scorer(
        real_desk.settings.model_copy(update={"span_scorer": "gemma"}), real_desk.packaged_llama
    )
    scorer.warm_up()
    assert scorer._load().llama is real_desk.llm.packaged_llama()

    server = make_llm(
        real_desk.settings.model_copy(update={"llm_backend": "openai", "llm_base_url": "http://x"})
    )
    assert getattr(server, "packaged_llama", None) is None


def test_fit_span_refuses_a_missing_saved_table_with_a_message(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        fit_span.parse_args(["--from-table", str(tmp_path / "nowhere.json")])
    assert exit_info.value.code == 2 and "does not exist" in capsys.readouterr().err

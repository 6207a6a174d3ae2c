"""The answerability-and-span reader: its decoding, its training data, the training path on tiny
data, and the shipped model on hand-written passages (none taken from the seeds or the SQuAD files)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from eval import fit_reader, reader_curve
from eval.squad import load_splits, load_squad
from rag import reader as reader_module
from rag.reader import MODEL_DIR, Span, best_span, choose, load_tokenizer

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


# ---------------------------------------------------------------- training data (no model)

PARAGRAPH = (
    "The Orlan observatory was founded in 1903 by the astronomer Ida Brenner. It stands on a ridge above "
    "the town of Kessel. In 1931 a second dome was added for a larger telescope. Visitors may tour it on Sundays."
)


def article(questions):
    from eval.squad import SquadArticle, SquadQuestion

    qs = [SquadQuestion(f"q{i}", q, [a], "Orlan", 0) for i, (q, a) in enumerate(questions)]
    return SquadArticle(
        "Orlan",
        [PARAGRAPH, "The town of Kessel has a market on Mondays and a bakery that opened in 1950."],
        qs,
    )


def test_inference_windows_are_each_sentence_with_the_one_before_verbatim():
    windows = fit_reader.inference_windows(PARAGRAPH)
    assert windows[0] == "The Orlan observatory was founded in 1903 by the astronomer Ida Brenner."
    assert windows[1].startswith(windows[0]) and windows[1].endswith("town of Kessel.")
    assert all(w in PARAGRAPH for w in windows) and len(windows) == 4


def test_examples_put_the_answer_verbatim_in_positives_and_leave_it_out_of_negatives():
    art = article(
        [("Who founded the Orlan observatory?", "Ida Brenner"), ("When was the second dome added?", "1931")]
    )
    starts = {"q0": PARAGRAPH.index("Ida Brenner"), "q1": PARAGRAPH.index("1931")}
    for seed in range(10):
        for e in fit_reader.training_examples([art], starts, random.Random(seed), None):
            if e.kind == "positive":
                assert e.passage[e.answer_start : e.answer_start + len(e.answer)] == e.answer
                assert 1 <= len(fit_reader.sentence_bounds(e.passage)) <= fit_reader.MAX_WINDOW_SENTENCES
            elif e.kind in ("same_paragraph", "other_paragraph"):
                assert "Ida Brenner" not in e.passage or "1931" not in e.passage
                assert e.answer_start == -1


def test_a_training_share_is_the_same_every_epoch_and_part_of_any_larger_share():
    questions = [(f"What is item {i} of the observatory?", "Ida Brenner") for i in range(20)]
    golds = fit_reader.gold_answers(article(questions), {})
    quarter, half = fit_reader.kept_share(golds, 0.25), fit_reader.kept_share(golds, 0.5)
    assert len(quarter) == 5 and len(half) == 10
    assert {g.question.id for g in quarter} < {g.question.id for g in half}
    assert quarter == fit_reader.kept_share(list(reversed(golds)), 0.25)  # fixed by ids, not by order
    assert fit_reader.kept_share(golds, 1.0) == golds
    positives = {
        e.question
        for seed in range(3)
        for e in fit_reader.training_examples([article(questions)], {}, random.Random(seed), None, 0.25)
        if e.kind == "positive"
    }
    assert positives == {g.question.question for g in quarter}


def test_threshold_free_scores_judge_spans_and_ranking_without_refusing():
    def prediction(answers, text, margin):
        return fit_reader.Prediction("q", answers, text, margin)

    predictions = [
        prediction(["Ida Brenner"], "Ida Brenner", 5.0),
        prediction(["1931"], "1903", -2.0),  # wrong span, and ranked below an unanswerable question
        prediction([], "Kessel", 1.0),
        prediction([], "", float("-inf")),  # no span at all: ranks last
    ]
    scores = fit_reader.threshold_free(predictions)
    assert scores["has_answer_exact_answer_always"] == 50.0  # the low-margin answer is still judged
    assert scores["answerable_auc"] == 0.75  # 3 of the 4 answerable/unanswerable pairs in order
    assert fit_reader.margin_auc(predictions[:2]) is None  # no unanswerable question to rank against


@pytest.mark.parametrize("share", ["0", "-0.5", "1.5"])
def test_a_training_share_outside_0_to_1_is_refused_with_a_message(share, capsys):
    with pytest.raises(SystemExit) as exit_info:
        fit_reader.parse_args(["--train-share", share])
    assert exit_info.value.code == 2 and "--train-share must be above 0" in capsys.readouterr().err


def test_a_learning_curve_of_missing_checkpoints_says_so(tmp_path, capsys):
    assert reader_curve.main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "c.json")]) == 2
    assert "not found" in capsys.readouterr().err and not (tmp_path / "c.json").exists()


def test_question_edits_change_what_the_window_can_answer():
    rng = random.Random(0)
    art = article([])
    passage = PARAGRAPH.split(". ")[0]
    assert fit_reader.swap_number("What happened in 1903 at the observatory?", passage, art, rng) not in (
        None,
        "What happened in 1903 at the observatory?",
    )
    assert (
        fit_reader.negate("Who was the founder of the observatory?", passage, art, rng)
        == "Who was not the founder of the observatory?"
    )
    assert fit_reader.antonym("Which was the first dome?", passage, art, rng) == "Which was the last dome?"
    swapped = fit_reader.swap_name("What did Ida Brenner found?", passage, art, rng)
    assert (
        swapped
        and "Ida Brenner" not in swapped
        and swapped.replace("What did ", "").split(" found")[0] not in passage
    )


def test_featurize_labels_map_back_to_the_answer_text():
    if not (MODEL_DIR / "tokenizer.json").exists():
        pytest.skip("no shipped tokenizer")
    tokenizer = load_tokenizer(MODEL_DIR / "tokenizer.json", 192)
    example = fit_reader.Example(
        "Who founded it?", PARAGRAPH, PARAGRAPH.index("Ida Brenner"), "Ida Brenner", "positive"
    )
    ids, _, s, e = fit_reader.featurize(tokenizer, example)
    assert tokenizer.decode(ids[s : e + 1]) == "ida brenner"
    assert fit_reader.featurize(tokenizer, fit_reader.Example("Who?", PARAGRAPH, -1, "", "same_paragraph"))[
        2:
    ] == (0, 0)


def test_threshold_search_picks_the_gap_between_right_answers_and_wrong_ones():
    P = fit_reader.Prediction
    predictions = [
        P("a", ["x"], "x", 5.0),
        P("b", ["y"], "y", 4.0),
        P("c", [], "z", 1.0),
        P("d", [], "w", 0.0),
    ]
    threshold = fit_reader.best_threshold(predictions)
    assert 1.0 < threshold < 4.0
    assert fit_reader.score_at(predictions, threshold)["f1"] == 100.0


# ---------------------------------------------------------------- the training path on tiny data


def tiny_squad(path):
    """Made-up articles under the split's titles (the split is looked up by file name), two
    paragraphs each, so a held-out article can be halved."""
    split = load_splits()["squad2-train-10-articles.json"]
    data = []
    for i, title in enumerate(split["fit"] + split["report"]):
        paragraphs = [tiny_paragraph(f"{i}", i), tiny_paragraph(f"{i}p", i + 50)]
        data.append({"title": title, "paragraphs": paragraphs})
    path.write_text(json.dumps({"version": "v2.0", "data": data}), encoding="utf-8")
    return path


def tiny_paragraph(key: str, i: int) -> dict:
    context = (
        f"The Varn bridge number {i} was opened in {1900 + i} by the engineer Lena Moss. "
        f"It crosses the Tamsin river near the village of Orby. Its main span is {100 + i} metres long."
    )
    qas = [
        {
            "id": f"{key}a",
            "question": "Who opened the Varn bridge?",
            "is_impossible": False,
            "answers": [{"text": "Lena Moss", "answer_start": context.index("Lena Moss")}],
        },
        {
            "id": f"{key}b",
            "question": "How long is the main span?",
            "is_impossible": False,
            "answers": [{"text": f"{100 + i} metres", "answer_start": context.index(f"{100 + i} metres")}],
        },
        {
            "id": f"{key}c",
            "question": "Who painted the Varn bridge?",
            "is_impossible": True,
            "answers": [],
            "plausible_answers": [{"text": "Lena Moss", "answer_start": context.index("Lena Moss")}],
        },
    ]
    return {"context": context, "qas": qas}


@pytest.mark.model
@pytest.mark.parametrize("real_negative_windows", [0, 2])
def test_training_path_runs_on_tiny_data_and_exports_a_working_reader(tmp_path, real_negative_windows):
    data = tiny_squad(tmp_path / "squad2-train-10-articles.json")
    assert len(load_squad(data)) == 10
    out = tmp_path / "model"
    code = fit_reader.main(
        [
            "--data",
            str(data),
            "--out",
            str(out),
            "--work",
            str(tmp_path / "work"),
            "--epochs",
            "1",
            "--max-steps",
            "1",
            "--limit",
            "2",
            "--batch-size",
            "4",
            "--real-negative-windows",
            str(real_negative_windows),
        ]
    )
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    halved = report["data"]["trained_on_paragraphs"]
    if real_negative_windows:  # the held-out article's first paragraph trained on
        held_title = report["data"]["epoch_threshold_and_int8_chosen_on"].split(" (")[0]
        assert halved == {held_title: [0]}
        # 2 windows for each of the 2 real negatives (--limit 2) of the 7 whole training articles,
        # and for the 1 of the held-out article's trained paragraph
        assert report["data"]["training_pair_kinds_epoch_1"]["real_negative"] == 2 * (7 * 2 + 1)
    else:
        assert halved == {} and "real_negative" not in report["data"]["training_pair_kinds_epoch_1"]
    assert report["training"]["per_epoch_on_held_out_torch"][0]["steps"] == 1
    assert (
        0
        <= report["training"]["per_epoch_on_held_out_torch"][0]["held_out_threshold_free"]["answerable_auc"]
        <= 1
    )
    assert report["data"]["epoch_threshold_and_int8_chosen_on"] not in report["data"]["trained_on"]
    assert set(report["data"]["reported_on_only"]).isdisjoint(report["data"]["trained_on"])
    assert (
        report["measured"]["fp32"]["report"]["all_report_articles"]["n"] == 2 * 4
    )  # two report articles; --limit 2 keeps 2 answerable and 2 unanswerable questions of each
    curve = tmp_path / "curve.json"
    checkpoint = str(tmp_path / "work" / "epoch-1")
    kept_half = ["--kept-half"] if real_negative_windows else []
    assert reader_curve.main([checkpoint, "--data", str(data), "--out", str(curve), *kept_half]) == 0
    scores = json.loads(curve.read_text())[checkpoint]
    assert scores["report articles"]["n"] == 2 * 6
    held_out = next(v for k, v in scores.items() if k.startswith("held_out"))
    assert held_out["n"] == (3 if real_negative_windows else 6)
    assert 0 <= scores["report articles"]["has_answer_f1_answer_always"] <= 100
    passage = "The ferry to Holm leaves at noon. It carries forty cars."
    spans = reader_module.Reader(out, threshold=report["inference"]["threshold"]).read(
        "When does the ferry leave?", [passage, "Rain."]
    )
    assert len(spans) == 2 and all(passage[s.start : s.end] == s.text for s in spans[:1])


# ---------------------------------------------------------------- the shipped model

shipped = pytest.mark.skipif(
    not SHIPPED, reason="no shipped reader model (python -m eval.fit_reader builds it)"
)


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


# The shipped reader (about 3.5 epochs on seven public articles, see report.json) still picks a too
# long or a partial span on these two. strict: once a retrained model gets them, the marks must go.
MISSED = pytest.mark.xfail(strict=True, reason="the shipped reader picks a too long or partial span here")
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
        marks=MISSED,
    ),
    pytest.param(
        "What did the cooperative sell in the autumn market?",
        [
            "The weather was mild all week.",
            "At the autumn market the cooperative sold pears and apple cider. It plans a winter market too.",
        ],
        "pears and apple cider",
        marks=MISSED,
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


# ---------------------------------------------------------------- real negatives (no model)


def halvable():
    from eval.squad import SquadArticle, SquadQuestion

    second = "The bakery of Kessel opened in 1950. It sells rye bread on Mondays."
    questions = [
        SquadQuestion("a0", "Who founded the Orlan observatory?", ["Ida Brenner"], "Orlan", 0),
        SquadQuestion("u0", "Who closed the Orlan observatory?", [], "Orlan", 0, ["Ida Brenner"]),
        SquadQuestion("a1", "When did the bakery open?", ["1950"], "Orlan", 1),
        SquadQuestion("u1", "When did the bakery close?", [], "Orlan", 1, ["1950"]),
    ]
    return SquadArticle("Orlan", [PARAGRAPH, second], questions)


def test_a_halved_held_out_article_trains_and_chooses_on_disjoint_paragraphs():
    trained, kept = fit_reader.held_out_halves(halvable())
    assert [q.id for q in trained.questions] == ["a0", "u0"] and [q.id for q in kept.questions] == [
        "a1",
        "u1",
    ]
    assert trained.paragraphs == [PARAGRAPH, ""] and kept.paragraphs == ["", halvable().paragraphs[1]]


def test_real_negatives_show_the_plausible_answer_sentence_with_no_answer_label():
    art = halvable()
    for seed in range(5):
        made = fit_reader.real_negatives(art.questions[1], art, 4, random.Random(seed))
        assert len(made) == 4 and all(e.answer_start == -1 and e.kind == "real_negative" for e in made)
        assert all(e.passage in PARAGRAPH for e in made)
        assert "Ida Brenner" in made[0].passage  # the first window is around the plausible answer
    assert fit_reader.real_negatives(art.questions[1], art, 0, random.Random(0)) == []


def test_training_uses_real_negatives_only_when_asked():
    trained, _ = fit_reader.held_out_halves(halvable())
    starts = {"a0": PARAGRAPH.index("Ida Brenner")}
    without = fit_reader.training_examples([trained], starts, random.Random(0), None)
    with_them = fit_reader.training_examples([trained], starts, random.Random(0), None, 1.0, 3)
    assert fit_reader.kinds(without).get("real_negative") is None
    assert fit_reader.kinds(with_them)["real_negative"] == 3  # u0 only: u1 is in the kept half
    assert all("bakery" not in e.passage for e in with_them)  # the kept half's text never shown


def test_fits_ask_only_questions_the_reader_never_trained_on(monkeypatch):
    from eval import fit_gate

    report = {"data": {"trained_on": ["Elsewhere"], "trained_on_paragraphs": {"Orlan": [0]}}}
    monkeypatch.setattr(reader_module, "model_report", lambda: report)
    assert [q.id for q in fit_gate.reader_unseen_questions([halvable()])] == ["a1", "u1"]
    assert "Orlan" in fit_gate.shared_article_caution()  # unseen questions, but not an unseen article
    report["data"] = {"trained_on": ["Orlan"]}  # a reader of before halving: no trained_on_paragraphs
    assert fit_gate.reader_unseen_questions([halvable()]) == []
    assert fit_gate.shared_article_caution() is None

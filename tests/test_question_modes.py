"""Timeline, comparison and descriptive answers (rag/questions/answer_modes.py) on a tiny made-up corpus: five
short articles about a dam, four dated, one undated, one on another subject. Hash embedder, no LLM:
every expectation is deterministic."""

from __future__ import annotations

import json
import re

import pytest

from fakes import RuleRefusal, ScriptedReader
from rag.commands.cli import main
from rag.questions.answer import Answerer
from rag.questions.answer_compare import NOTHING_FOUND
from rag.questions.answer_modes import NO_SIDES
from rag.questions.answer_timeline import UNDATED

ARTICLES = {
    "dam-plan.txt": "date 2018-04-12\nOrvin dam plan announced\n\nGovernor Mara Tollen said on Thursday that the province will study a dam on the Orvin river to stop the spring floods. Tollen told reporters the study would take two years and cost 3 million euros. Engineer Piet Haskel warned that a dam would flood the valley farms. Farmers in the valley fear they will lose their land.\n",
    "smaller-dam.txt": "date 2020-06-03\nTollen backs smaller dam\n\nGovernor Mara Tollen changed her position and backed a smaller dam on the Orvin river on Wednesday. Tollen and Haskel discussed the height of the dam wall at the provincial office. Haskel said a wall of 20 metres would spare most of the valley farms. The provincial council approved 40 million euros for the smaller dam.\n",
    "dam-opens.txt": "date 2023-09-15\nOrvin dam opens\n\nGovernor Mara Tollen opened the Orvin dam on Friday after three years of building work. Tollen said the dam had already held back one spring flood this year. The reservoir now supplies water to 50,000 homes in the province.\n",
    "farmers.txt": "Farmers ask for compensation\n\nFarmers' leader Ada Rusk said the valley farms lost half their fields to the Orvin reservoir. Rusk wants the province to pay compensation to every family that moved. Governor Mara Tollen promised to meet the farmers' union before the winter. The union has filed a complaint about the dam with the regional court.\n",
    "rail.txt": "date 2022-01-20\nRail line reopens\n\nThe northern rail line reopened on Thursday after repairs to two bridges. Trains will run every hour between the coast and the capital. The rail company expects 3,000 passengers a day.\n",
}


@pytest.fixture
def dam_desk(make_settings, tmp_path):
    from rag.store.desk import Desk

    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in ARTICLES.items():
        (docs / name).write_text(text, encoding="utf-8")
    desk = Desk(make_settings())
    # the reader finds a span for the descriptive questions asked here: without one the refusal
    # model doubts them and they are refused (tested below)
    reader = ScriptedReader({"discuss": "the height of the dam wall", "rusk want": "compensation"})
    desk.refusal_model, desk.reader = RuleRefusal(), reader
    desk.ingest([docs])
    return desk


def ask(desk, question: str, **kwargs):
    return Answerer(desk).ask(question, **kwargs)


def assert_verbatim_and_numbered(answer, desk):
    """Every [n] has a citation and every citation is used; each quote is its source's exact text."""
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)} == {c.n for c in answer.citations}
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    texts = {r.source: r.text for r in desk.store.list_sources(with_text=True)}
    for c in answer.citations:
        assert texts[c.source][c.start : c.end] == c.quote


# --- timeline -------------------------------------------------------------------------------------
def test_timeline_shows_dated_statements_in_date_order_and_undated_last(dam_desk):
    answer = ask(dam_desk, "How has Tollen's position on the dam changed since 2018?")
    assert answer.mode == "timeline" and not answer.refused and answer.short_answer is None
    dates = [row["date"] for row in answer.timeline]
    dated = [d for d in dates if d]
    assert dated == sorted(dated) and len({row["citations"][0]["source"] for row in answer.timeline}) >= 3
    assert dates[-1] is None and answer.timeline[-1]["undated"]  # the undated article comes last
    lines = answer.answer.splitlines()
    assert lines[0] == "4 of 5 articles mention this." and answer.mentions == {"articles": 4, "of": 5}
    assert lines[1].startswith(f"{dated[0]}: “") and lines[-1].startswith(f"{UNDATED}: “")
    assert all("Tollen" in row["text"] for row in answer.timeline)
    assert_verbatim_and_numbered(answer, dam_desk)


def test_a_period_in_the_question_keeps_the_statements_dated_in_it(dam_desk):
    answer = ask(dam_desk, "How has Tollen's position on the dam changed since 2020?")
    assert all(row["date"] is None or row["date"] >= "2020" for row in answer.timeline)
    assert any(row["date"] and row["date"].startswith("2020") for row in answer.timeline)


def test_a_timeline_of_something_no_article_mentions_is_refused(dam_desk):
    answer = ask(dam_desk, "How has Vexmoor's view of the canal changed since 2018?", mode="timeline")
    assert answer.refused and answer.citations == [] and answer.answer_kind == "refused"


# --- comparison -----------------------------------------------------------------------------------
def test_comparison_groups_cited_points_under_each_side(dam_desk):
    answer = ask(dam_desk, "Compare what Tollen and Rusk said about the dam.")
    assert answer.mode == "comparison" and not answer.refused
    tollen, rusk = answer.sides
    assert (tollen["side"], rusk["side"]) == ("Tollen", "Rusk") and tollen["found"] and rusk["found"]
    assert all("Tollen" in p["text"] for p in tollen["points"])
    assert all("Rusk" in p["text"] for p in rusk["points"])
    assert answer.answer.splitlines()[0] == "Tollen:" and "Rusk:" in answer.answer.splitlines()
    assert_verbatim_and_numbered(answer, dam_desk)


def test_a_side_with_nothing_found_says_so(dam_desk):
    answer = ask(dam_desk, "Compare Tollen and Vexmoor on the dam.")
    tollen, vexmoor = answer.sides
    assert tollen["found"] and not vexmoor["found"] and vexmoor["points"] == []
    assert answer.answer.splitlines()[-2:] == ["Vexmoor:", f"- {NOTHING_FOUND}"]
    assert not answer.refused


def test_year_sides_draw_on_the_articles_dated_in_each_year(dam_desk):
    answer = ask(dam_desk, "What is new in 2023 compared with 2018?")
    new, old = answer.sides
    assert new["period"] == {"since": "2023-01-01", "until": "2023-12-31"}
    assert all(p["citations"][0]["date"].startswith("2023") for p in new["points"]) and new["points"]
    assert all(p["citations"][0]["date"].startswith("2018") for p in old["points"]) and old["points"]
    assert answer.warning.startswith("1 of 5 articles have no date")  # the farmers' article is in no year
    assert f"Note: {answer.warning}" in answer.to_text()  # `brief ask` prints it, not only --json and the UI


def test_a_comparison_without_two_sides_is_answered_as_descriptive(dam_desk):
    answer = ask(dam_desk, "What does Rusk want?", mode="comparison")
    assert answer.mode == "descriptive" and answer.warning == NO_SIDES and not answer.refused


# --- descriptive ----------------------------------------------------------------------------------
def test_descriptive_answer_is_a_few_cited_sentences_without_a_short_answer(dam_desk):
    answer = ask(dam_desk, "What did Tollen and Haskel discuss?")
    assert answer.mode == "descriptive" and not answer.refused and answer.short_answer is None
    assert 1 <= len(answer.citations) <= dam_desk.settings.descriptive_sentences
    assert "discussed the height of the dam wall" in answer.citations[0].quote  # both names first
    assert answer.confidence["coverage"] >= dam_desk.settings.descriptive_min_coverage
    assert_verbatim_and_numbered(answer, dam_desk)


def test_descriptive_question_about_what_the_articles_do_not_cover_is_refused(dam_desk):
    answer = ask(dam_desk, "What did Gandor and Frimble discuss?")
    assert answer.refused and answer.confidence["coverage"] == 0.0 and answer.closest


def test_descriptive_question_the_refusal_model_doubts_is_refused_below_its_threshold(dam_desk):
    question = "What did Tollen and Haskel discuss?"
    dam_desk.reader = ScriptedReader({})
    doubted = ask(dam_desk, question)  # the reader finds no span: answerable 0
    assert doubted.refused and doubted.confidence["answerable"] == 0.0 and doubted.closest
    assert (
        doubted.confidence["coverage"] >= dam_desk.settings.descriptive_min_coverage
    )  # covered, still refused
    dam_desk.reader = ScriptedReader({"discuss": "the height of the dam wall"})
    trusted = ask(dam_desk, question)  # a span, and both names in the evidence: answerable 1
    assert not trusted.refused and trusted.confidence["answerable"] == 1.0 and trusted.mode == "descriptive"


def test_every_form_reports_the_answerable_probability(dam_desk):
    dam_desk.reader = ScriptedReader({})
    comparison = ask(dam_desk, "Compare what Tollen and Haskel said about the dam.")
    assert comparison.mode == "comparison" and comparison.confidence["answerable"] == 0.0  # no scripted span
    timeline = ask(dam_desk, "How has Tollen's position on the dam changed since 2018?")
    assert timeline.mode == "timeline" and timeline.confidence["answerable"] == 0.0  # no scripted span
    factoid = ask(dam_desk, "Who opened the Orvin dam?")
    assert factoid.mode == "factoid" and factoid.confidence["answerable"] == 0.0


# --- the mode: override, JSON, command line --------------------------------------------------------
def test_factoid_mode_takes_the_short_answer_path(dam_desk):
    answer = ask(dam_desk, "What did Tollen and Haskel discuss?", mode="factoid")
    assert answer.mode == "factoid" and answer.timeline == [] and answer.sides == []


def test_json_carries_the_mode_the_kind_and_the_structure(dam_desk):
    data = ask(dam_desk, "How has Tollen's position on the dam changed since 2018?").to_json()
    assert data["mode"] == "timeline" and data["answer_kind"] == "extractive"
    assert {"date", "text", "citations", "undated"} <= set(data["timeline"][0])
    factoid = ask(dam_desk, "Who opened the Orvin dam?").to_json()
    assert factoid["mode"] == "factoid" and "timeline" not in factoid and "sides" not in factoid


@pytest.fixture
def cli_env(cli_env):
    """conftest's `brief` environment, with this module's articles ingested."""
    tmp_path = cli_env
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in ARTICLES.items():
        (docs / name).write_text(text, encoding="utf-8")
    assert main(["ingest", "--quiet", str(docs)]) == 0


def test_brief_ask_mode_overrides_and_json_says_it(cli_env, capsys):
    capsys.readouterr()
    assert main(["ask", "--json", "--mode", "comparison", "Tollen vs Rusk on compensation"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mode"] == "comparison" and [s["side"] for s in data["sides"]] == ["Tollen", "Rusk"]
    with pytest.raises(SystemExit):
        main(["ask", "--mode", "essay", "Anything?"])


# --- the chat's control --------------------------------------------------------------------------------
def test_the_chat_control_overrides_how_the_question_is_taken(dam_desk):
    from ui.app import BriefingDeskUI

    app = BriefingDeskUI(dam_desk)
    turns = list(app.ask(dam_desk.name, "c1", "Who opened the Orvin dam?", [], [], "", "", [], "timeline"))
    _, answers, *_ = turns[-1]
    assert answers[-1]["mode"] == "timeline" and answers[-1]["timeline"]
    turns = list(app.ask(dam_desk.name, "c1", "Who opened the Orvin dam?", [], [], "", "", [], None))
    assert turns[-1][1][-1]["mode"] == "factoid"  # no choice: the question_mode setting, 'auto'


def test_statement_lines_are_shown_as_lines():
    from ui import render

    html = render.answer_html("4 of 5 articles mention this.\n2020-06-03: “Tollen said so.” [1]", False)
    assert "<br>2020-06-03" in html and 'href="#bd-src-1"' in html

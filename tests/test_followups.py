"""eval/followups.py on fast fakes: the three conditions, what the LLM's rewrite changes, the scoring."""

from __future__ import annotations

import json

import pytest

from eval import followups as F
from eval import squad
from fakes import RuleRefusal, ScriptedLLM, ScriptedReader
from rag.models.llm import ExtractiveBackend

BRIDGE = "Harbour Bridge\n\nThe harbour bridge opened in 1932. It was designed by the engineer Maria Lind.\n"
PARK = "Glacier Park\n\nGlacier Park covers 4,100 square kilometres of mountains in the north.\n"
ROWS = [
    {
        "id": "f1",
        "article": "Harbour_Bridge",
        "history": ["Who designed the harbour bridge?"],
        "question": "When did it open?",
        "gold_answers": ["1932"],
    },
    {
        "id": "f2",
        "article": "Glacier_Park",
        "history": ["Where is Glacier Park?"],
        "question": "How large is it?",
        "gold_answers": ["4,100 square kilometres"],
    },
]


@pytest.fixture
def desk(make_settings, tmp_path):
    from rag.store.desk import Desk

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "bridge.txt").write_text(BRIDGE, encoding="utf-8")
    (docs / "park.txt").write_text(PARK, encoding="utf-8")
    desk = Desk(make_settings(llm_sentence="never"))
    desk.refusal_model = RuleRefusal()
    desk.reader = ScriptedReader(
        {"bridge open": "1932", "designed": "Maria Lind", "glacier park large": "4,100 square kilometres"}
    )
    desk.ingest([docs])
    return desk


def test_the_three_conditions_differ_only_in_the_question_asked(desk):
    # the LLM's first rewrite keeps the follow-up's words; its second drops them and is not used
    condenser = ScriptedLLM("When did the harbour bridge open?", "Tell me a story.")
    report = F.measure(desk, ROWS, condenser, ExtractiveBackend(desk.settings))
    f1, f2 = report["rows"]
    assert f1["llm"]["asked"] == "When did the harbour bridge open?"
    assert f1["fallback"]["asked"] == "When did it open? (Who designed the harbour bridge?)"
    assert f1["no_history"]["asked"] == "When did it open?"
    assert f1["llm_rewrite_used"] and not f2["llm_rewrite_used"]
    assert f2["llm"]["asked"] == f2["fallback"]["asked"]  # a rejected rewrite falls back
    assert len(condenser.prompts) == 2  # only the LLM condition calls it, once per follow-up
    assert "Who designed the harbour bridge?" in condenser.prompts[0]
    # the rewrite finds 1932; the fallback's appended question makes the reader answer that one
    assert f1["llm"]["short_answer"] == "1932" and f1["llm"]["short_correct"]
    assert f1["fallback"]["short_answer"] == "Maria Lind" and not f1["fallback"]["short_correct"]
    assert f1["no_history"]["refused"] and not f1["no_history"]["answer_correct"]
    conds = report["conditions"]
    assert (conds["llm"]["short_correct"]["k"], conds["fallback"]["short_correct"]["k"]) == (1, 0)
    assert conds["llm"]["llm_rewrite_used"]["k"] == 1 and conds["llm"]["llm_rewrite_used"]["n"] == 2
    assert conds["llm"]["llm_rewrite_unchanged"]["k"] == 0  # the kept rewrite is not the follow-up itself
    assert report["paired"]["llm_vs_fallback"] == {
        "metric": "short_correct",
        "both": 0,
        "only_first": 1,
        "only_second": 0,
        "neither": 1,
        "mcnemar_exact_p": 1.0,
    }
    low, high = conds["llm"]["short_correct"]["wilson95"]
    assert 0 < low < 0.5 < high < 1
    text = F.table({**report, "set": "t.jsonl", "squad": "s.json", "articles": ["a"], "measured_at": "today"})
    assert "| gold answer in the short answer | 50.0% (1/2;" in text
    assert "only llm 1, only fallback 0" in text


def test_sign_test_is_the_exact_two_sided_binomial():
    assert F.sign_test(0, 0) == 1.0
    assert F.sign_test(5, 0) == pytest.approx(2 / 32)
    assert F.sign_test(3, 3) == 1.0
    assert F.sign_test(1, 6) == pytest.approx(2 * 8 / 128)


def test_a_bad_followup_row_names_its_line(tmp_path):
    bad = tmp_path / "f.jsonl"
    good = {"id": "a", "article": "X", "history": ["Q?"], "question": "And?", "gold_answers": ["x"]}
    bad.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "b", "history": []}) + "\n")
    with pytest.raises(ValueError, match="f.jsonl:2"):
        F.load_followups(bad)


@pytest.mark.skipif(not F.SQUAD_DEV.exists(), reason="needs ../shared/public-qa")
def test_the_shipped_followups_are_about_the_reporting_articles_and_their_golds_are_spans():
    rows = F.load_followups(F.FOLLOWUPS)
    report = squad.load_splits()[F.SQUAD_DEV.name]["report"]
    articles = {a.title: a for a in squad.select_articles(squad.load_squad(F.SQUAD_DEV), report)}
    questions = {q.question.strip() for a in articles.values() for q in a.questions if q.answerable}
    assert len(rows) >= 40 and {r["article"] for r in rows} == set(report)
    for row in rows:
        text = "\n".join(articles[row["article"]].paragraphs)
        assert all(g in text for g in row["gold_answers"]), row["id"]
        assert row["history"][0] in questions, row["id"]  # the first turn is a real answerable question

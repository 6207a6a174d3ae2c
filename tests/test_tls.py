"""Timelines: the days a sentence names, the day ranking and summaries (rag/briefings/timeline.py), the
timeline scores checked against hand-computed examples, and `brief eval --tls` on a tiny topic."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from rag.briefings.timeline import select_timeline
from rag.briefings.timeline_dates import day_mentions
from rag.config.settings import load_settings


# --- the days a sentence names -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sentence, published, days",
    [
        (
            "Saturday , 25 April 2009 Experts are concerned",
            "2009-04-28",
            ["2009-04-25"] * 2,
        ),  # two expressions
        ("On April 25 , 2009 the agency met.", None, ["2009-04-25"]),  # tokenised comma, year stated
        ("On April 25 the agency met.", None, []),  # no year and no article date: not guessed
        (
            "The talks on 3 March ended; on March 9th they resumed.",
            "2009-04-28",
            ["2009-03-03", "2009-03-09"],
        ),
        (
            "He arrived yesterday, days after the 2009-04-01 report.",
            "2009-04-28",
            ["2009-04-27", "2009-04-01"],
        ),
        ("Last Tuesday the minister resigned.", "2009-04-28", ["2009-04-21"]),  # 04-28 is a Tuesday
        ("The minister resigned on Tuesday.", "2009-04-28", ["2009-04-28"]),
        ("All 5 may have died in the fire.", "2009-04-28", []),  # 'may' is a verb here
        ("Prices rose in May and again in 2009.", "2009-04-28", []),  # months and years name no day
        ("The vote will be held on June 2.", "2009-04-28", ["2009-06-02"]),
    ],
)
def test_day_mentions(sentence, published, days):
    assert [m.day for m in day_mentions(sentence, published)] == days


# --- choosing days and sentences ------------------------------------------------------------------------
def article(source: str, published: str, *sentences: str) -> SimpleNamespace:
    return SimpleNamespace(source=source, date=published, title=source, text="\n".join(sentences))


VOLCANO = [
    article(
        "a.txt",
        "2020-03-02",
        "The volcano erupted on March 1, spreading ash over the whole valley.",
        "Officials counted the damage to farms near the valley.",
    ),
    article(
        "b.txt",
        "2020-03-05",
        "The March 1 eruption was the largest the valley had seen in decades.",
        "The government declared an emergency on March 4 after new tremors shook the towns.",
        "A smaller tremor on March 3 cracked two old houses.",
    ),
    article(
        "c.txt",
        "2020-03-06",
        "The emergency declared on March 4 closed every school in the region.",
        "The eruption on March 1 displaced thousands of families from their villages.",
    ),
]


@pytest.fixture
def settings():
    return load_settings(embedder="hash", llm_backend="extractive")


def test_the_most_mentioned_days_come_first_then_date_order(settings):
    # mentions: March 1 three times, March 4 twice, March 3 once: two days asked -> March 1 and 4
    timeline = select_timeline(VOLCANO, 2, 1, settings)
    assert [x.date for x in timeline] == ["2020-03-01", "2020-03-04"]
    by_source = {r.source: r for r in VOLCANO}
    for x in timeline:  # verbatim, and located exactly
        assert by_source[x.source].text[x.start : x.end] == x.text
    assert timeline[0].articles == 3  # the three articles that name March 1


DAM = [
    article(
        "a.txt",
        "2020-03-03",
        "The dam broke on March 1, flooding the lower town.",
        "Rescuers reached the lower town on March 2 after the dam broke.",
    ),
    article(
        "b.txt",
        "2020-03-04",
        "The March 1 dam failure was the worst in decades.",
        "On March 2 the army joined the rescue in the lower town.",
    ),
    article(
        "c.txt", "2020-05-12", "The inquiry into the March 1 dam failure opened on May 10 in the capital."
    ),
]


def test_spreading_takes_a_later_milestone_over_the_next_day_of_a_busy_week(settings):
    # mentions: March 1 three times, March 2 twice, May 10 once
    def days(weight: float) -> list[str]:
        spread = settings.model_copy(update={"timeline_spread_weight": weight, "timeline_spread_days": 30.0})
        return [x.date for x in select_timeline(DAM, 2, 1, spread)]

    assert days(0.0) == ["2020-03-01", "2020-03-02"]
    assert days(1.0) == ["2020-03-01", "2020-05-10"]


def test_the_date_wise_baseline_is_the_method_without_our_additions(settings):
    from eval.tls import DATEWISE_AS_PUBLISHED

    plain = settings.model_copy(update=DATEWISE_AS_PUBLISHED)
    assert [x.date for x in select_timeline(DAM, 2, 1, plain)] == ["2020-03-01", "2020-03-02"]
    assert [x.date for x in select_timeline(DAM, 2, 1, settings)] == ["2020-03-01", "2020-05-10"]  # spread


def test_sentences_per_day_window_and_no_repeats(settings):
    timeline = select_timeline(VOLCANO, 3, 2, settings, since="2020-03-02")
    assert all(x.date >= "2020-03-02" for x in timeline)
    assert len({x.text for x in timeline}) == len(timeline)  # a sentence is on a timeline once
    per_day = {d: sum(x.date == d for x in timeline) for d in {x.date for x in timeline}}
    assert max(per_day.values()) <= 2 and len(per_day) == 3
    assert [x.date for x in timeline] == sorted(x.date for x in timeline)
    assert not select_timeline(VOLCANO, 0, 1, settings) and not select_timeline([], 3, 1, settings)


FLOOD = [
    article(
        "x.txt",
        "2020-05-02",
        "The flood on May 1 destroyed the bridge, the school, the market and the old mill by the river in the town centre.",
        "The flood on May 1 destroyed the bridge and the market.",
    )
]


def test_a_day_quotes_its_short_sentences_first(settings):
    def lengths(max_words: int, per_day: int) -> list[int]:
        limited = settings.model_copy(update={"timeline_max_sentence_words": max_words})
        return [len(x.text.split()) for x in select_timeline(FLOOD, 1, per_day, limited)]

    assert lengths(0, 1) == [23]  # no limit: the centroid prefers the longer sentence
    assert lengths(12, 1) == [11]
    # the limit orders, it never takes away: two asked, both given (the short one first); a day with
    # nothing that short still gets its sentence
    assert lengths(12, 2) == [11, 23] and lengths(3, 1) == [23]


def test_the_longer_sentences_topping_up_a_day_are_no_near_repeats_of_the_short_ones(settings):
    repeated = [
        article(
            "x.txt",
            "2020-05-02",
            "The flood on May 1 destroyed the bridge and the market.",
            "The flood on May 1 destroyed the bridge and the market, the bridge and the market, the flood said flood.",
            "On May 1 the river flood also closed the old road to the northern farms near the town for days.",
        )
    ]
    limited = settings.model_copy(update={"timeline_max_sentence_words": 12})
    # three asked; the second sentence repeats the first (tf-idf cosine 0.89), with or without the limit
    assert (
        len(select_timeline(repeated, 1, 3, limited)) == len(select_timeline(repeated, 1, 3, settings)) == 2
    )


def test_days_after_the_last_article_are_plans_not_events(settings):
    plans = [article("p.txt", "2020-03-02", "The summit will be held on March 20 in the capital city.")]
    assert select_timeline(plans, 3, 1, settings) == []


def test_a_subject_keeps_the_timeline_to_it(make_settings, tmp_path):
    from rag.briefings.timeline import dated_statements
    from rag.questions.retrieve import Scope
    from rag.store.desk import Desk

    docs = tmp_path / "docs"
    docs.mkdir()
    for r in VOLCANO + [
        article(
            "vote.txt",
            "2020-03-06",
            "Parliament passed the budget bill on March 4 after a long night session.",
            "Opposition members of parliament voted against the budget bill on Wednesday.",
        )
    ]:
        (docs / r.source).write_text(f"---\ndate: {r.date}\n---\n{r.text}\n", encoding="utf-8")
    desk = Desk(make_settings())
    desk.ingest([docs])
    about = dated_statements(desk, "parliament budget bill vote", 3, 1, Scope())
    assert about and {x.source for x in about} == {"vote.txt"}
    everything = dated_statements(desk, None, 3, 1, Scope())
    assert {x.source for x in everything} - {"vote.txt"}


# --- the scores, against numbers worked out by hand -----------------------------------------------------
def test_alignment_rouge_worked_example():
    from eval.tls_metrics import align_rouge, concat_rouge, date_f1

    gold = {"2020-01-01": ["alpha beta gamma"], "2020-01-05": ["delta epsilon"]}
    predicted = {"2020-01-02": ["alpha beta zeta"], "2020-01-05": ["delta"]}
    # Costs (1 - 1/(days apart + 1)) x (1 - unigram F):
    #   01-02 vs 01-01: (1 - 1/2) x (1 - 2/3) = 1/6     01-02 vs 01-05: (1 - 1/4) x (1 - 0) = 3/4
    #   01-05 vs 01-01: (1 - 1/5) x (1 - 0)   = 4/5     01-05 vs 01-05: 0 x ...         = 0
    # so 01-02 <-> 01-01 and 01-05 <-> 01-05 both ways.
    # ROUGE-1 precision: (1/2 x 2 shared + 1 x 1 shared) / (3 + 1) predicted words = 2/4
    # ROUGE-1 recall:    (1/2 x 2 + 1 x 1) / (3 + 2) gold words = 2/5;  F = 2 x .5 x .4 / .9 = 4/9
    r1 = align_rouge(predicted, gold, 1)
    assert (r1.precision, r1.recall) == pytest.approx((0.5, 0.4)) and r1.f == pytest.approx(4 / 9)
    # ROUGE-2: 'alpha beta' shared by the 01-02/01-01 pair (weight 1/2); 'delta' alone has no bigram.
    #   precision 0.5 / 2 predicted bigrams = 1/4; recall 0.5 / 3 gold bigrams = 1/6; F = 1/5
    r2 = align_rouge(predicted, gold, 2)
    assert (r2.precision, r2.recall, r2.f) == pytest.approx((0.25, 1 / 6, 0.2))
    # concatenated: 3 of 4 predicted words in 5 gold words; dates: 1 of 2 either way
    c1 = concat_rouge(predicted, gold, 1)
    assert (c1.precision, c1.recall) == pytest.approx((0.75, 0.6))
    assert date_f1(predicted, gold).f == pytest.approx(0.5)


def test_alignment_follows_content_over_the_nearest_day():
    from eval.tls_metrics import align_rouge

    gold = {"2020-01-02": ["alpha"], "2020-01-05": ["epsilon"]}
    predicted = {"2020-01-03": ["epsilon"]}
    # 01-03 vs 01-02: (1 - 1/2) x (1 - 0) = 1/2;  vs 01-05: (1 - 1/3) x (1 - 1) = 0 -> aligned to 01-05
    # precision 1/3 x 1 shared / 1 word = 1/3 (the nearest day would give 0)
    # recall: both gold days align to the one predicted day: (0 + 1/3 x 1) / 2 gold words = 1/6
    r1 = align_rouge(predicted, gold, 1)
    assert (r1.precision, r1.recall, r1.f) == pytest.approx((1 / 3, 1 / 6, 2 / 9))


def test_stop_words_do_not_count_and_words_are_stemmed():
    from eval.tls_metrics import concat_rouge

    # 'the', 'of', 'was' are stop words; 'evacuated' and 'evacuating' share a stem
    score = concat_rouge(
        {"2020-01-01": ["The town was evacuated"]}, {"2020-01-01": ["evacuating of the town"]}, 1
    )
    assert (score.precision, score.recall) == (1.0, 1.0)


# --- brief eval --tls --------------------------------------------------------------------------------
def tiny_topic(root):
    """Three tokenised articles in the public-tls layout and a gold timeline of three days."""
    folder = root / "tiny_topic"
    (folder / "articles").mkdir(parents=True)
    for r in VOLCANO:
        text = "\n".join(s.replace(",", " ,").replace(".", " .") for s in r.text.split("\n"))
        (folder / "articles" / f"{r.date}_{r.source[0]}.txt").write_text(text + "\n", encoding="utf-8")
    gold = [
        ("2020-03-01", "The volcano erupted , spreading ash over the valley ."),
        ("2020-03-04", "The government declared an emergency after new tremors ."),
        ("2020-03-06", "Schools stayed closed across the region ."),
    ]
    (folder / "timeline.jsonl").write_text(
        "".join(json.dumps({"date": d, "text": t}) + "\n" for d, t in gold), encoding="utf-8"
    )
    return folder


def test_eval_tls_on_a_tiny_topic(run_brief, tmp_path):
    pytest.importorskip("rouge_score")
    folder = tiny_topic(tmp_path)
    result = run_brief("eval", "--tls", folder, "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out.strip().splitlines()[-1])
    topic = data["topics"]["tiny_topic"]
    # asked for 3 days: March 1 (named 3 times), March 4 (twice), March 3 (once); gold: 03-01, 03-04, 03-06
    assert [t["date"] for t in topic["timeline"]] == ["2020-03-01", "2020-03-03", "2020-03-04"]
    assert topic["date_f1"] == pytest.approx(2 / 3)
    assert all(" ," not in t["text"] for t in topic["timeline"])  # detokenised
    for key in ("date_f1", "rouge1_concat_f", "rouge2_concat_f", "rouge1_align_f", "rouge2_align_f"):
        assert 0 <= topic[key] <= 1 and data["mean"][key] == pytest.approx(topic[key])
    assert set(data["chance"]) == {"random_dates", "first_sentences"}
    # the date-wise method as published, on the same articles: days by mentions alone, so the same 3 here
    assert data["baselines"]["datewise"]["topics"]["tiny_topic"]["date_f1"] == pytest.approx(2 / 3)
    table = run_brief("eval", "--tls", tmp_path)  # a folder of topic folders stands for all of them
    assert table.code == 0 and "| tiny_topic |" in table.out and "chance: random days" in table.out
    assert "baseline: date-wise as published" in table.out


def test_detokenised_like_text():
    from eval.tls import detokenise

    assert detokenise("He said `` we -LRB- all -RRB- do n't know '' , Jackson 's aide said .") == (
        "He said \"we (all) don't know\", Jackson's aide said."
    )


def test_eval_tls_rejects_a_folder_that_is_not_a_topic(run_brief, tmp_path):
    result = run_brief("eval", "--tls", tmp_path)
    assert result.code != 0 and "not a topic folder" in result.err


def test_the_timeline17_script_chooses_then_reports(make_settings, tmp_path, monkeypatch):
    from bench import tls as script
    from rag.store.desk import Desk

    folder = tiny_topic(tmp_path)
    monkeypatch.setattr(script, "part_topics", lambda part: [folder])
    desk = Desk(make_settings())
    chosen = script.choose(desk, None)
    assert len(chosen["grid"]) == len(script.WEIGHTS) ** 2
    assert chosen["best"]["rouge1_align_f"] == max(row["rouge1_align_f"] for row in chosen["grid"])
    lengths = script.choose(desk, None, vary="length")
    assert [row["timeline_max_sentence_words"] for row in lengths["grid"]] == list(script.LENGTHS)
    reported = script.report(desk, None)
    assert reported["topics"]["tiny_topic"]["date_f1"] == pytest.approx(2 / 3)
    after = reported["changes_since"]["tiny_topic"]
    # median of 03-02, 03-05, 03-06 is 03-05: the gold has one day (03-06) on or after it
    assert after["median"] == "2020-03-05" and after["gold_days_after"] == 1 and after["entries_after"]

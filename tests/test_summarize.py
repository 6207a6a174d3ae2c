"""Briefings: structure, citation validity, dates, actors, questions, exports, scope and refusals."""

from __future__ import annotations

import json
import re
from difflib import SequenceMatcher
from html.parser import HTMLParser

import numpy as np
import pytest

from rag.briefings.summarize import Summarizer, resolve_date
from rag.errors import BriefError
from rag.questions.retrieve import Scope
from rag.store.desk import Desk
from tests.fakes import ScriptedLLM
from vectorstore.keyword import fold

SECTIONS = ("bottom_line", "themes", "figures", "timeline", "actors", "open_questions", "sources")


def all_entries(data: dict) -> list[dict]:
    points = [p for t in data["themes"] for p in t["points"]]
    return (
        data["bottom_line"]
        + points
        + data["figures"]
        + data["timeline"]
        + data["undated_events"]
        + data["actors"]
        + data["open_questions"]
    )


def check_briefing(briefing, desk) -> None:
    """Every entry cites exact sentences of the cleaned source; numbering is consistent; no repeats."""
    texts = {r.source: r for r in desk.store.list_sources(with_text=True)}
    data = briefing.to_json()
    numbers = {c.n: c for c in briefing.citations}
    for entry in all_entries(data):
        assert entry["citations"], entry
        for c in entry["citations"]:
            assert texts[c["source"]].text[c["start"] : c["end"]] == c["quote"]
            assert numbers[c["n"]].quote == c["quote"]
    assert sorted(numbers) == list(range(1, len(numbers) + 1))
    markdown = briefing.to_markdown()
    assert {int(n) for n in re.findall(r"\[(\d+)\]", markdown)} == set(numbers)
    points = [p["text"] for p in data["bottom_line"]] + [
        p["text"] for t in data["themes"] for p in t["points"]
    ]
    assert len(points) == len(set(points))
    dated = [t["date"] for t in data["timeline"]]
    assert dated == sorted(dated) and all(re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", d) for d in dated)
    for q in data["open_questions"]:
        assert q["question"].endswith("?")
    for source in data["sources"]:  # a date the source states is shown, never 'undated'
        assert source["date"] == texts[source["source"]].date
    stated = {s for s, r in texts.items() if r.date}
    for entry in data["figures"] + data["timeline"]:
        if entry["citations"][0]["source"] in stated:
            assert entry["date"], entry
    assert not [u for u in data["undated_events"] if u["citations"][0]["source"] in stated]


def spelling_variants(names: list[str]) -> list[tuple[str, str]]:
    """Pairs of names that are one person written two ways (same surname, similar first name, or
    one name contained in the other)."""
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ta, tb = fold(a).split(), fold(b).split()
            if ta[-1] == tb[-1] and (
                SequenceMatcher(None, ta[0], tb[0]).ratio() >= 0.8
                or " ".join(ta) in " ".join(tb)
                or " ".join(tb) in " ".join(ta)
            ):
                out.append((a, b))
    return out


def test_briefing_structure_on_the_seeds(fake_desk):
    calls = []
    briefing = Summarizer(fake_desk).summarize(progress=lambda d, t, s: calls.append((d, t)))
    assert calls[-1][0] == calls[-1][1] and [d for d, _ in calls] == sorted(d for d, _ in calls)
    data = briefing.to_json()
    for section in SECTIONS:
        assert data[section], section
    assert 3 <= len(data["bottom_line"]) <= 5
    assert all(t["label"] and t["points"] for t in data["themes"])
    assert {s["source"] for s in data["sources"]} == {
        r.source for r in fake_desk.sources()
    }  # every article is covered
    check_briefing(briefing, fake_desk)
    assert json.loads(json.dumps(data))  # JSON-able
    markdown = briefing.to_markdown()
    for heading in (
        "# Briefing",
        "## Bottom line",
        "## Developments by theme",
        "## Key figures",
        "## Timeline",
        "## Who's who",
        "## Open questions",
        "## Sources",
    ):
        assert heading in markdown
    assert data["rewrites"]["attempted"] == 0  # the extractive backend writes nothing


def test_actors_are_merged_across_spellings_and_short_forms(fake_desk):
    actors = Summarizer(fake_desk).summarize().to_json()["actors"]
    names = [a["name"] for a in actors]
    assert not spelling_variants(names), spelling_variants(names)
    assert all(a["role"] for a in actors)
    assert any(a["aliases"] for a in actors)  # a short form or second spelling was folded into an entry


def test_html_export_is_self_contained_and_escaped(fake_desk):
    briefing = Summarizer(fake_desk).summarize()
    page = briefing.to_html()
    assert (
        page.startswith("<!DOCTYPE html>") and "<script" not in page and "http" not in page.split("<body>")[1]
    )

    class Ids(HTMLParser):
        ids, links = set(), set()

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if attrs.get("id"):
                self.ids.add(attrs["id"])
            if tag == "a" and attrs.get("href", "").startswith("#"):
                self.links.add(attrs["href"][1:])

    parser = Ids()
    parser.feed(page)
    assert parser.links and parser.links <= parser.ids  # every [n] links to its quote
    for heading in (
        "Bottom line",
        "Developments by theme",
        "Key figures",
        "Timeline",
        "Who's who",
        "Open questions",
        "Sources",
    ):
        assert f">{heading}<" in page


def test_rewrites_are_verified_and_bad_ones_fall_back(make_settings, seeds_dir):
    """A scripted model: a faithful rewrite is kept; one with an invented number falls back."""
    desk = Desk(make_settings())
    desk.ingest([seeds_dir / "003_ab779828a3a3face.txt"])
    desk.llm = ScriptedLLM(
        "López Obrador pledged to support the United States’ migration policies during a video call with Kamala Harris.",
        "Harris announced 999 new rockets for the moon base.",
    )
    briefing = Summarizer(desk).summarize()
    data = briefing.to_json()
    texts = [p["text"] for p in data["bottom_line"]] + [
        p["text"] for t in data["themes"] for p in t["points"]
    ]
    assert not any("999" in t for t in texts)  # the invented line never reaches the briefing
    assert (
        data["rewrites"]["attempted"] > 0 and 0 <= data["rewrites"]["kept"] <= data["rewrites"]["attempted"]
    )
    assert f"{data['rewrites']['kept']} of {data['rewrites']['attempted']} LLM rewrites kept" in data["scope"]
    check_briefing(briefing, desk)


@pytest.mark.model
def test_briefing_on_the_embedded_default(real_desk):
    briefing = Summarizer(real_desk).summarize()
    data = briefing.to_json()
    assert {s["source"] for s in data["sources"]} == {r.source for r in real_desk.sources()}
    check_briefing(briefing, real_desk)
    vectors = real_desk.embedder.embed([p["text"] for p in data["bottom_line"]])
    sims = vectors @ vectors.T - np.eye(len(vectors)) * 2
    assert sims.max() < real_desk.settings.summary_duplicate_similarity  # no point repeats another
    assert not spelling_variants([a["name"] for a in data["actors"]])
    assert all(
        len(p["text"].split()) <= real_desk.settings.summary_point_max_words + 12 for p in data["bottom_line"]
    )
    assert data["rewrites"]["attempted"] > 0


@pytest.mark.parametrize(
    "sentence, article_date, expected",
    [
        (
            "He spoke to reporters on Friday.",
            "2024-01-08",
            ("2024-01-05", "on Friday", False),
        ),  # 2024-01-08 is a Monday
        ("He spoke to reporters on Friday.", None, ("on Friday", "on Friday", True)),
        (
            "The summit is to be held on Nov. 15-17 in San Francisco.",
            "2023-09-26",
            ("2023-11-15", "Nov. 15-17", False),
        ),
        ("On December 30, 32 migrants were kidnapped.", None, ("December 30", "December 30", True)),
        (
            "On December 30, 32 migrants were kidnapped.",
            "2024-01-05",
            ("2023-12-30", "December 30", False),
        ),  # last December
        (
            "The elections are upcoming in November.",
            "2023-12-27",
            ("2024-11", "in November", False),
        ),  # a future month
        ("The plan was proposed in 1961 by Kennedy.", None, ("1961", "in 1961", False)),
        ("He recalled the November 2021 visit.", None, ("2021-11", "November 2021", False)),
        ("The decision came last month.", "2023-09-26", ("2023-08", "last month", False)),
        ("The 2023 summit drew 32 leaders and 2,000 guests.", None, None),  # numbers are not dates
        ("Nothing here is dated.", "2023-09-26", None),
    ],
)
def test_dates_are_resolved_against_the_article_date_or_kept_relative(sentence, article_date, expected):
    assert resolve_date(sentence, article_date) == expected


@pytest.mark.model
def test_topic_keeps_only_relevant_sentences(real_desk):
    """Topic relevance needs real embeddings (the hash embedder's cosines are not on MiniLM's scale)."""
    briefing = Summarizer(real_desk).summarize(topic="kidnapping of migrants on a bus to Matamoros")
    data = briefing.to_json()
    assert "001_144ff8e1c6f8de48.txt" in {s["source"] for s in data["sources"]}
    quotes = " ".join(c.quote for c in briefing.citations)
    assert "32 migrants" in quotes or "kidnapped" in quotes
    check_briefing(briefing, real_desk)


def test_date_scope_excludes_undated_and_out_of_range(fake_desk):
    briefing = Summarizer(fake_desk).summarize(scope=Scope.parse(since="2023-01-01", until="2023-12-31"))
    assert [s["source"] for s in briefing.sources] == ["000_df1640d7f614f3c2.txt"]
    with pytest.raises(BriefError, match="no ingested article matches"):
        Summarizer(fake_desk).summarize(scope=Scope.parse(until="2020-01-01"))


def test_source_scope(fake_desk):
    briefing = Summarizer(fake_desk).summarize(scope=Scope.parse(sources=["003_ab779828a3a3face.txt"]))
    assert [s["source"] for s in briefing.sources] == ["003_ab779828a3a3face.txt"]


def test_many_articles_are_narrowed_to_a_varied_sample(make_settings, tmp_path):
    """Over summary_max_docs, the articles read come from across the corpus (MMR over article vectors)."""
    folder = tmp_path / "many"
    folder.mkdir()
    topics = [
        "border wall funding",
        "coffee harvest prices",
        "election turnout",
        "hurricane damage",
        "vaccine shipments",
    ]
    for i in range(30):
        (folder / f"a{i:02d}.txt").write_text(
            f"Report {i} on {topics[i % 5]}. Officials said the {topics[i % 5]} rose by {i} percent this year in the region.\n",
            encoding="utf-8",
        )
    desk = Desk(make_settings(summary_max_docs=5))
    desk.ingest([folder])
    briefing = Summarizer(desk).summarize()
    assert 1 <= len(briefing.sources) <= 5 and "picked from 30" in briefing.scope
    check_briefing(briefing, desk)


@pytest.mark.model
def test_off_topic_gives_a_clear_message_and_no_briefing(real_desk):
    with pytest.raises(BriefError, match="say nothing about 'quantum chromodynamics lattice'"):
        Summarizer(real_desk).summarize(topic="quantum chromodynamics lattice")


def test_empty_store_is_a_clear_message(make_settings):
    with pytest.raises(BriefError, match="no ingested article"):
        Summarizer(Desk(make_settings())).summarize()


def test_summarize_cli_writes_all_three_exports(fake_desk, tmp_path, monkeypatch, capsys):
    from rag.commands.cli import main

    monkeypatch.setenv("BRIEF_DATA_DIR", str(fake_desk.settings.data_dir))
    monkeypatch.setenv("BRIEF_EMBEDDER", "hash")
    monkeypatch.setenv("BRIEF_LLM_BACKEND", "extractive")
    out = tmp_path / "b.md"
    assert (
        main(
            [
                "summarize",
                "--json",
                "--out",
                str(out),
                "--out",
                str(out.with_suffix(".html")),
                "--out",
                str(out.with_suffix(".json")),
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert set(SECTIONS) <= set(data)
    assert out.read_text(encoding="utf-8").startswith("# Briefing")
    assert out.with_suffix(".html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["bottom_line"]
    assert main(["summarize", "--out", str(tmp_path / "b.docx")]) != 0 and "error:" in capsys.readouterr().err

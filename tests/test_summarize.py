"""Briefings: structure, citation validity, date resolution and ordering, scope, and refusals."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from rag.desk import Desk
from rag.errors import BriefError
from rag.retrieve import Scope
from rag.summarize import Summarizer, resolve_date

ROOT = Path(__file__).resolve().parents[1]


def check_briefing(briefing, desk) -> None:
    """Every entry cites an exact sentence of its source; numbering is consistent; no repeats."""
    texts = {r.source: r for r in desk.store.list_sources(with_text=True)}
    data = briefing.to_json()
    entries = data["points"] + data["timeline"] + data["actors"] + data["open_questions"]
    numbers = {c.n: c for c in briefing.citations}
    for entry in entries:
        assert entry["citations"], entry
        for c in entry["citations"]:
            record = texts[c["source"]]
            assert record.text[c["start"]:c["end"]] == c["quote"]
            assert " ".join(c["quote"].split()) in " ".join(Path(record.path).read_text(encoding="utf-8").split())
            assert numbers[c["n"]].quote == c["quote"]
    assert sorted(numbers) == list(range(1, len(numbers) + 1))
    markdown = briefing.to_markdown()
    assert {int(n) for n in re.findall(r"\[(\d+)\]", markdown)} == set(numbers)
    texts_of_points = [p["text"] for p in data["points"]]
    assert len(texts_of_points) == len(set(texts_of_points))
    dated = [t["date"] for t in data["timeline"] if not t["relative"]]
    assert dated == sorted(dated)
    first_relative = next((i for i, t in enumerate(data["timeline"]) if t["relative"]), len(data["timeline"]))
    assert all(t["relative"] for t in data["timeline"][first_relative:])


def test_briefing_structure_on_the_seeds(fake_desk):
    calls = []
    briefing = Summarizer(fake_desk).summarize(progress=lambda d, t, s: calls.append((d, t)))
    assert calls[-1] == (5, 5)
    data = briefing.to_json()
    assert 5 <= len(data["points"]) <= 10
    assert data["timeline"] and data["actors"] and data["open_questions"]
    assert set(briefing.sources) == {r.source for r in fake_desk.sources()}  # every article is covered
    check_briefing(briefing, fake_desk)
    assert json.loads(json.dumps(data))  # JSON-able
    markdown = briefing.to_markdown()
    for heading in ("# Briefing", "## Headlines", "## Timeline", "## Key actors", "## Open questions", "## Sources"):
        assert heading in markdown


@pytest.mark.model
def test_briefing_on_the_embedded_default(real_desk):
    briefing = Summarizer(real_desk).summarize()
    assert set(briefing.sources) == {r.source for r in real_desk.sources()}
    check_briefing(briefing, real_desk)
    vectors = real_desk.embedder.embed([p["text"] for p in briefing.points])
    sims = vectors @ vectors.T - np.eye(len(vectors)) * 2
    assert sims.max() < real_desk.settings.summary_duplicate_similarity  # no point repeats another
    actors = {a["name"] for a in briefing.to_json()["actors"]}
    assert {"Alejandro Mayorkas", "Salomón Jara", "Kamala Harris"} <= actors


@pytest.mark.parametrize("sentence, article_date, expected", [
    ("He spoke to reporters on Friday.", "2024-01-08", ("2024-01-05", "on Friday", False)),  # 2024-01-08 is a Monday
    ("He spoke to reporters on Friday.", None, ("on Friday", "on Friday", True)),
    ("The summit is on Nov. 15-17 in San Francisco.", "2023-09-26", ("2023-11-15", "Nov. 15-17", False)),
    ("On December 30, 32 migrants were kidnapped.", None, ("December 30", "December 30", True)),
    ("The plan was proposed in 1961 by Kennedy.", None, ("1961", "in 1961", False)),
    ("He recalled the November 2021 visit.", None, ("2021-11", "November 2021", False)),
    ("The decision came last month.", "2023-09-26", ("2023-08", "last month", False)),
    ("Nothing here is dated.", "2023-09-26", None),
])
def test_dates_are_resolved_against_the_article_date_or_kept_relative(sentence, article_date, expected):
    assert resolve_date(sentence, article_date) == expected


@pytest.mark.model
def test_topic_keeps_only_relevant_sentences(real_desk):
    """Topic relevance needs real embeddings (the hash embedder's cosines are not on MiniLM's scale)."""
    briefing = Summarizer(real_desk).summarize(topic="kidnapping of migrants on a bus to Matamoros")
    points = briefing.to_json()["points"]
    assert "001_144ff8e1c6f8de48.txt" in briefing.sources
    assert any("32 migrants" in p["text"] or "kidnapped" in p["text"] for p in points)
    assert len(points) < 8  # off-topic sentences are left out
    check_briefing(briefing, real_desk)


def test_date_scope_excludes_undated_and_out_of_range(fake_desk):
    briefing = Summarizer(fake_desk).summarize(scope=Scope.parse(since="2023-01-01", until="2023-12-31"))
    assert briefing.sources == ["000_df1640d7f614f3c2.txt"]
    with pytest.raises(BriefError, match="no ingested article matches"):
        Summarizer(fake_desk).summarize(scope=Scope.parse(until="2020-01-01"))


def test_source_scope(fake_desk):
    briefing = Summarizer(fake_desk).summarize(scope=Scope.parse(sources=["003_ab779828a3a3face.txt"]))
    assert briefing.sources == ["003_ab779828a3a3face.txt"]


@pytest.mark.model
def test_off_topic_gives_a_clear_message_and_no_briefing(real_desk):
    with pytest.raises(BriefError, match="say nothing about 'quantum chromodynamics lattice'"):
        Summarizer(real_desk).summarize(topic="quantum chromodynamics lattice")


def test_empty_store_is_a_clear_message(make_settings):
    with pytest.raises(BriefError, match="no ingested article"):
        Summarizer(Desk(make_settings())).summarize()

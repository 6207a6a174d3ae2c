"""Timeline dates (an event's year comes from the event's own clause, never from an unrelated number) and theme labels.

Invented sentences (not from the seed articles)."""

from __future__ import annotations

import pytest

from rag.briefings.briefing_text import figures_in, resolve_date


@pytest.mark.parametrize(
    "sentence, article_date, expected",
    [
        # a year inside a relative or subordinate clause dates another event
        (
            "Of the 40 detained, most were students, consistent with the protests that began in 2021.",
            None,
            None,
        ),
        ("The harbour fees were raised for cargo ships which had been exempt until 2019.", None, None),
        (
            "The agency needs the port reopened, as it was able to use it until early 2022.",
            "2024-05-02",
            None,
        ),
        ("The mayor praised volunteers who rebuilt the bridge in 2016.", None, None),
        # a number that is not a year
        ("Rescuers found 2,023 people in the flooded valley.", None, None),
        ("The fund grew to 2023.5 million euros.", None, None),
        # the event's own year is kept, also when reported ('said that ...')
        ("The council approved the budget in 2019.", None, ("2019", "in 2019", False)),
        ("Officials said that the bridge opened in 2014.", None, ("2014", "in 2014", False)),
        ("In 2015 the company moved its headquarters to the coast.", None, ("2015", "In 2015", False)),
        # a date with a month is read wherever it stands, and still resolved against the article
        (
            "The talks, which resumed on March 3, ended without a deal.",
            "2024-05-02",
            ("2024-03-03", "March 3", False),
        ),
    ],
)
def test_an_events_year_is_never_an_unrelated_number(sentence, article_date, expected):
    assert resolve_date(sentence, article_date) == expected


def test_a_count_that_looks_like_a_year_is_a_figure():
    assert figures_in("Rescuers found 2,023 people in the flooded valley.") == [("2,023", "people")]
    assert figures_in("The plant opened in 2019 with 450 workers.") == [("450", "workers")]


def test_a_theme_is_labelled_by_what_its_points_share():
    from types import SimpleNamespace

    from rag.briefings.briefing_layout import label
    from rag.config.settings import default_settings

    texts = [
        "Firefighters contained the wildfire near the reservoir on Sunday.",
        "The wildfire destroyed forty homes, the outlet reported.",
        "The central bank raised interest rates by half a point.",
        "Farmers protested against the new irrigation quotas.",
    ]
    notes = [SimpleNamespace(text=t) for t in texts]
    assert label(notes[:2], notes, default_settings()).startswith("Wildfire")
    assert "outlet" not in label(notes[:2], notes, default_settings()).lower()

"""Glued-word repair, stated publication dates (text, front matter, HTML metadata) and `ingest --date`."""

from __future__ import annotations

import json

import pytest

from vectorstore.clean import clean_document
from vectorstore.dates import date_in_line, front_matter, html_date
from vectorstore.glue import repair_glued_words, split_point

# Real glued words from scraped news pages (a link's text losing its trailing space): (glued, repaired).
GLUED = [
    ("Obradorand", "Obrador and"),
    ("Blinkenmet", "Blinken met"),
    ("Salazarbetween", "Salazar between"),
    ("Palaceoccurs", "Palace occurs"),
    ("Mexicowhere", "Mexico where"),
    ("Alcaldeand", "Alcalde and"),
    ("Randalland", "Randall and"),
    ("Bárcenaalthough", "Bárcena although"),
]
# Real names and words that must stay whole, though some end in a common word ("-land", "-man", "-son").
WHOLE = """Mayorkas Montezuma Matamoros Brownsville Hispanics Crescencio Sembrando AstraZeneca Monterrey Sherwood
    Guatemala Bárcena Salomón Kristiansand Ardmore Andover Westover Pfefferman Gravesend Ouagadougou Tshwane
    Wickramasinghe Sandoval Zelenskyy Budanov Pellegrini Fredman Gudmundson Kowalski Deforestation Portland
    Netherlands Sunderland Ferdinand Oakland Eastwood Immunization Venezuelan Caribbean Northern""".split()


@pytest.mark.parametrize("glued, repaired", GLUED)
def test_glued_words_are_split_where_the_split_is_confident(glued, repaired):
    # the head of a short tail ("met") must occur on its own in the text, as it does in a real article
    text = f"{repaired.split()[0]} spoke first. Later {glued} the others."
    assert repair_glued_words(text) == f"{repaired.split()[0]} spoke first. Later {repaired} the others."


@pytest.mark.parametrize("word", WHOLE)
def test_real_names_and_words_stay_whole(word):
    assert split_point(word, frozenset()) is None
    assert repair_glued_words(f"{word} said so.") == f"{word} said so."


def test_repair_only_inserts_spaces():
    text = "The president met Blinken. López Obradorand Blinkenmet this Wednesday at 10:00, in 2023."
    repaired = repair_glued_words(text)
    assert repaired.replace(" ", "") == text.replace(" ", "") and repaired != text


def test_cleaned_seeds_have_no_glued_words_and_chunks_stay_exact(seeds_dir):
    from vectorstore.chunk import chunk_text

    for path in sorted(seeds_dir.glob("*.txt")):
        text = clean_document(path.read_text(encoding="utf-8")).text
        for glued, _ in GLUED:
            assert glued not in text, (path.name, glued)
        for c in chunk_text(text, path.name, chunk_size=700, chunk_overlap=0):
            assert text[c.start : c.end] == c.text


# --- dates ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line, expected",
    [
        ("January 5, 2024", "2024-01-05"),
        ("Published: 5 Jan 2024 10:32 GMT", "2024-01-05"),
        ("Updated 10:32 AM EST, Fri January 5, 2024", "2024-01-05"),
        ("By Jane Roe, January 5, 2024", "2024-01-05"),
        ("5 de enero de 2024", "2024-01-05"),
        ("2024-01-05", "2024-01-05"),
        ("2023 in review", None),
        ("Top 10 of 2023", None),
        ("2023 Asia-Pacific summit opens November 15, 2023", None),
        ("The plan was proposed in 1961 by Kennedy.", None),
    ],
)
def test_a_dateline_needs_a_full_date_and_little_else(line, expected):
    assert date_in_line(line) == expected


def test_dates_stated_on_top_front_matter_and_none_guessed():
    assert clean_document("January 5, 2024\n\nOfficials met on Friday to talk.").date == "2024-01-05"
    doc = clean_document(
        "---\ntitle: Border talks\ndate: 2024-01-10\nauthor: J. Roe\n---\nOfficials met on Friday.\n"
    )
    assert (doc.date, doc.title, doc.author) == ("2024-01-10", "Border talks", "J. Roe")
    assert "title:" not in doc.text
    assert (
        clean_document("Officials met on Friday, January 5, in the capital after talks in 2023.").date is None
    )
    assert front_matter(["---", "", "Some text after a rule"]) == (["---", "", "Some text after a rule"], {})


def test_html_metadata_dates_and_main_text():
    from vectorstore.loaders import load_html

    page = (
        "<html><head><title>Aid | The Daily</title><meta property='og:site_name' content='The Daily'>"
        '<script type="application/ld+json">'
        + json.dumps(
            {
                "@context": "https://schema.org",
                "@type": "NewsArticle",
                "headline": "Aid pledged for the region",
                "datePublished": "2024-01-05T10:00:00Z",
                "author": {"@type": "Person", "name": "Jane Roe"},
            }
        )
        + "</script></head><body><nav>Home | World | Sport</nav><article><h1>Aid pledged for the region</h1>"
        "<p>The minister said on Friday that aid of $310 million would be sent to the region, the largest package in a decade.</p>"
        "<p>Officials from both countries met in the capital to agree on the details of the plan.</p></article>"
        "<footer>© 2023 The Daily</footer></body></html>"
    )
    text, hints = load_html(page.encode())
    assert hints["date"] == "2024-01-05" and hints["outlet"] == "The Daily" and hints["author"] == "Jane Roe"
    assert "Home | World" not in text and "$310 million" in text
    assert (
        html_date("<html><body><p>Written in 2019 about 1961.</p></body></html>") is None
    )  # nothing in the markup


def test_ingest_date_sets_and_corrects_a_source_date(make_settings, tmp_path, monkeypatch, capsys):
    from rag.commands.cli import main

    doc = tmp_path / "undated.txt"
    doc.write_text("Officials met on Friday to discuss migration at the border crossing.\n", encoding="utf-8")
    monkeypatch.setenv("BRIEF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BRIEF_EMBEDDER", "hash")
    assert main(["ingest", str(doc), "--quiet"]) == 0
    assert main(["ingest", str(doc), "--quiet", "--date", "2024-01-05"]) == 0
    assert main(["sources", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rows[0]["date"] == "2024-01-05"
    assert main(["ingest", str(doc), "--date", "5/1/2024"]) != 0
    assert "error:" in capsys.readouterr().err


def test_ingest_without_a_path_outside_a_checkout_says_what_to_give(tmp_path, monkeypatch, capsys):
    """An installed package has no seeds/ beside it: a bare `brief ingest` asks for a PATH instead of
    reporting a missing folder inside site-packages as a skipped file."""
    import rag.commands.cli

    monkeypatch.setattr(rag.commands.cli, "PROJECT_ROOT", tmp_path / "site-packages")
    monkeypatch.setenv("BRIEF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BRIEF_EMBEDDER", "hash")
    assert rag.commands.cli.main(["ingest", "--quiet"]) != 0
    err = capsys.readouterr().err
    assert "no PATH given" in err and "brief ingest PATH" in err

"""Desks: names, per-desk stores that answer only from their own articles, `brief desks`, deleting
one desk and nothing else. Hash embedder and scripted reader/refusal (tests/fakes.py): no model."""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import pytest

from fakes import RuleRefusal, ScriptedReader
from rag.commands.cli import build_parser, main
from rag.config.settings_desks import check_desk_name
from rag.errors import BriefError
from vectorstore.store import keyword_folder

CRANES = "Harbour report. The harbour authority of Valdora approved 42 new cranes for the east quay. The cranes arrive in May, officials said."
VIOLINS = "Orchestra notes. The Melvik orchestra hired 17 violinists for its winter season. The conductor praised the violinists."
READS = {"cranes": "42", "violinists": "17"}
CRANES_Q = "How many cranes did the harbour authority approve?"
VIOLINS_Q = "How many violinists did the Melvik orchestra hire?"


def article(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def with_fakes(desk):
    desk.reader, desk.refusal_model = ScriptedReader(READS), RuleRefusal()
    return desk


@pytest.fixture
def two_desks(make_settings, tmp_path):
    """'default' holds the cranes article, 'music' the violins one (music shares default's models)."""
    from rag.store.desk import Desk

    harbour = with_fakes(Desk(make_settings()))
    harbour.ingest([article(tmp_path / "a", "cranes.txt", CRANES)])
    music = harbour.sibling("music")
    music.ingest([article(tmp_path / "b", "violins.txt", VIOLINS)])
    return harbour, music


def run_json(capsys, *argv) -> object:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


# --- names -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, stored", [("default", "default"), ("Trade-War_2", "trade-war_2"), ("a", "a")])
def test_desk_names_are_stored_in_lower_case(name, stored):
    assert check_desk_name(name) == stored


@pytest.mark.parametrize("name", ["", "a b", "../x", "-lead", "x/y", "é", "a" * 65, None])
def test_unusable_desk_names_are_one_clear_error(name):
    with pytest.raises(BriefError, match="letters, digits"):
        check_desk_name(name)


def test_a_bad_desk_on_the_command_line_is_a_usage_error_without_traceback(cli_env, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["sources", "--desk", "a b"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "desk name 'a b' is not usable" in err and "Traceback" not in err


def test_a_bad_desk_in_the_environment_is_one_line(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("BRIEF_DESK", "no/slashes")
    assert main(["sources"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: desk name 'no/slashes' is not usable") and "\n" not in err


def test_an_unknown_desk_is_refused_by_commands_that_read(cli_env, capsys):
    assert main(["ask", "--desk", "nowhere", "Anything?"]) == 2
    err = capsys.readouterr().err
    assert "no desk named 'nowhere' (desks: default)" in err and "brief ingest --desk nowhere" in err


# --- one store per desk --------------------------------------------------------------------------------
def test_the_default_desk_keeps_the_names_a_store_had_before_desks(two_desks):
    harbour, music = two_desks
    s = harbour.settings
    before = harbour.store.shape.collection_name(s.collection_prefix)  # how a store was named until now
    assert harbour.store.name == before
    assert harbour.store.keyword.folder == keyword_folder(Path(s.data_dir), before)
    assert music.store.name == harbour.store.shape.collection_name(f"{s.collection_prefix}-desk-music")


def test_each_desk_retrieves_only_its_own_articles(two_desks):
    harbour, music = two_desks
    assert [r.source for r in harbour.sources()] == ["cranes.txt"]
    assert [r.source for r in music.sources()] == ["violins.txt"]
    assert harbour.store.keyword_search("violinists orchestra", 10) == []
    vector = harbour.embedder.embed(["violinists orchestra hired"])[0]
    rows, _ = harbour.store.nearest(vector, 10)
    assert {c.source for c in rows.chunks} == {"cranes.txt"}


def test_each_desk_answers_only_from_its_own_articles(two_desks):
    from rag.questions.answer import Answerer

    harbour, music = two_desks
    own = Answerer(music).ask(VIOLINS_Q)
    assert not own.refused and own.short_answer == "17"
    assert {c.source for c in own.citations} == {"violins.txt"}
    other = Answerer(harbour).ask(VIOLINS_Q)  # the answer is in the other desk only
    assert other.refused and not other.citations
    assert {c.source for c in other.closest} <= {"cranes.txt"}
    assert Answerer(harbour).ask(CRANES_Q).short_answer == "42"


def test_a_store_older_than_the_registry_is_the_default_desk(two_desks, cli_env, capsys, monkeypatch):
    harbour, _ = two_desks
    (Path(harbour.settings.data_dir) / "desks.sqlite3").unlink()  # as a data folder from before desks
    monkeypatch.setenv("BRIEF_DATA_DIR", str(harbour.settings.data_dir))
    listed = run_json(capsys, "desks", "--json")
    assert [(d["name"], d["articles"]) for d in listed] == [("default", 1)]
    assert [s["source"] for s in run_json(capsys, "sources", "--json")] == ["cranes.txt"]


# --- brief desks ---------------------------------------------------------------------------------------
def test_brief_desks_json_counts_articles_chunks_and_dates(cli_env, capsys):
    harbour = article(cli_env / "a", "cranes.txt", CRANES)
    music = article(cli_env / "b", "violins.txt", VIOLINS)
    article(music, "more.txt", "Second notes. The Melvik choir added eight singers.")
    assert main(["ingest", "--quiet", str(harbour / "cranes.txt"), "--date", "2024-03-03"]) == 0
    assert main(["ingest", "--quiet", "--desk", "Music", str(music)]) == 0
    assert (
        main(["ingest", "--quiet", "--desk", "music", str(music / "more.txt"), "--date", "2023-01-09"]) == 0
    )
    listed = run_json(capsys, "desks", "--json")
    assert [d["name"] for d in listed] == ["default", "music"]
    default, music_desk = listed
    assert default == {
        "name": "default",
        "articles": 1,
        "chunks": 1,
        "first_date": "2024-03-03",
        "last_date": "2024-03-03",
        "undated": 0,
    }
    assert music_desk["articles"] == 2 and music_desk["undated"] == 1
    assert music_desk["first_date"] == music_desk["last_date"] == "2023-01-09"
    assert main(["desks"]) == 0
    assert "music\t2 articles" in capsys.readouterr().out


def test_brief_desks_does_not_import_chromadb(cli_env):
    import subprocess
    import sys

    code = "import sys; from rag.commands.cli import main; main(['desks']); print('chromadb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["default\t0 articles\t0 chunks\tno dates", "False"]


def test_desks_create_registers_an_empty_desk(cli_env, capsys):
    assert main(["desks", "create", "Elections"]) == 0
    assert [d["name"] for d in run_json(capsys, "desks", "--json")] == ["default", "elections"]
    assert run_json(capsys, "sources", "--desk", "elections", "--json") == []


# --- deleting a desk -----------------------------------------------------------------------------------
def test_deleting_a_desk_removes_its_data_and_nothing_else(two_desks, tmp_path):
    from rag.store.desk_registry import DeskRegistry
    from rag.store.desks import delete_desk

    harbour, music = two_desks
    near = harbour.sibling("music-x")  # a name that starts like the one deleted
    near.ingest([article(tmp_path / "c", "near.txt", VIOLINS.replace("17", "19"))])
    for desk in (harbour, music, near):
        desk.record_turn("c1", {"question": "q", "answer": "a", "citations": []})
    music_folder = music.store.keyword.folder
    removal = delete_desk(harbour.settings, "music")

    assert sorted(removal.collections) == sorted(music.store.name + s for s in ("", "_src", "_rev"))
    assert not music_folder.exists() and not music.history.path.exists()
    assert DeskRegistry.of(harbour.settings).names() == ["default", "music-x"]
    assert [r.source for r in harbour.sources()] == ["cranes.txt"]
    assert [r.source for r in near.sources()] == ["near.txt"]
    assert near.store.keyword_search("violinists", 5) and harbour.store.keyword_search("cranes", 5)
    assert len(harbour.history.recent()) == len(near.history.recent()) == 1


def test_desks_delete_without_a_terminal_or_yes_deletes_nothing(cli_env, capsys, monkeypatch):
    import io

    article(cli_env / "b", "violins.txt", VIOLINS)
    assert main(["ingest", "--quiet", "--desk", "music", str(cli_env / "b")]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal
    assert main(["desks", "delete", "music"]) == 2
    assert "not deleting without confirmation" in capsys.readouterr().err
    assert [s["source"] for s in run_json(capsys, "sources", "--desk", "music", "--json")] == ["violins.txt"]
    assert main(["desks", "delete", "music", "--yes"]) == 0
    assert [d["name"] for d in run_json(capsys, "desks", "--json")] == ["default"]
    assert main(["desks", "delete", "music", "--yes"]) == 2  # gone: a clear error, not a crash


# --- help --------------------------------------------------------------------------------------------
def subcommand_parsers(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                yield from ((f"{name} {n}", s) for n, s in subcommand_parsers(sub))


def test_every_option_of_every_command_has_help_text():
    missing = [
        f"brief {name} {action.dest}"
        for name, sub in subcommand_parsers(build_parser())
        for action in sub._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]
    assert missing == []


def test_the_registry_records_where_each_desks_keyword_index_is(two_desks):
    harbour, music = two_desks
    with sqlite3.connect(Path(harbour.settings.data_dir) / "desks.sqlite3") as db:
        rows = dict(db.execute("SELECT name, keyword_folder FROM desks").fetchall())
    assert rows == {"default": str(harbour.store.keyword.folder), "music": str(music.store.keyword.folder)}

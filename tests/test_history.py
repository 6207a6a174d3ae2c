"""A desk's history: what `brief ask` and the UI record, `brief history --json`, the Markdown export,
and concurrent writers."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from rag.commands.cli import main
from rag.store.history import History, history_json, history_markdown

CITATION = {
    "n": 1,
    "source": "cranes.txt",
    "title": "Harbour report",
    "date": "2024-03-03",
    "chunk_id": "c0",
    "quote": "The harbour authority approved 42 new cranes.",
    "start": 16,
    "end": 62,
}
CRANES = "Harbour report. The harbour authority of Valdora approved 42 new cranes for the east quay."


def answer_json(question: str, answer: str = "42 [1].", citations=(CITATION,)) -> dict:
    return {
        "id": None,
        "question": question,
        "short_answer": "42" if citations else None,
        "answer": answer,
        "refused": not citations,
        "citations": list(citations),
        "closest": [],
        "mode": "extractive",
    }


@pytest.fixture
def history(tmp_path) -> History:
    return History(tmp_path / "desks" / "default" / "history.sqlite3")


def test_a_history_never_written_is_empty_and_creates_no_file(history):
    assert history.recent() == [] and history.latest() == []
    assert history.conversation("abc").turns == []
    assert not history.path.exists()


def test_turns_come_back_with_their_citations_intact(history):
    first = answer_json("How many cranes?")
    history.record("c1", first, asked_at=100.0)
    history.record("c1", answer_json("When do they arrive?", "In May [1]."), asked_at=101.0)
    history.record("c2", answer_json("Who approved them?", "", citations=()), asked_at=102.0)

    turns = history.conversation("c1").turns
    assert [t.answer["question"] for t in turns] == ["How many cranes?", "When do they arrive?"]
    assert turns[0].answer == first  # every field of the answer's JSON, citations included
    assert [(c.id, c.title, c.turns) for c in history.recent()] == [
        ("c2", "Who approved them?", 1),
        ("c1", "How many cranes?", 2),
    ]
    assert [c.id for c in history.latest(limit=1)] == ["c2"]


def test_history_json_puts_the_time_and_the_question_first(history):
    history.record("c1", answer_json("How many cranes?"), asked_at=0.0)
    data = history_json("default", history.latest())
    turn = data["conversations"][0]["turns"][0]
    assert data["desk"] == "default" and data["conversations"][0]["started_at"] == "1970-01-01T00:00:00Z"
    assert list(turn)[:6] == ["asked_at", "question", "short_answer", "answer", "refused", "citations"]
    assert turn["citations"] == [CITATION]


def test_markdown_export_holds_each_question_answer_and_reference(history):
    history.record("c1", answer_json("How many cranes?"), asked_at=0.0)
    history.record("c2", answer_json("What is unknown?", "The articles do not say.", citations=()))
    text = history_markdown("harbour", history.latest())
    assert text.startswith("# Briefing Desk history: desk `harbour`")
    assert "### How many cranes?" in text and "**Short answer:** 42" in text and "42 [1]." in text
    assert '- [1] cranes.txt (2024-03-03): "The harbour authority approved 42 new cranes."' in text
    assert "### What is unknown?" in text and "The articles do not say." in text
    assert history_markdown("empty", []).endswith("No questions asked yet.\n")


def test_concurrent_writers_lose_no_turn(history):
    """The UI's requests record turns from several threads at once (WAL, one transaction each)."""
    errors: list[Exception] = []

    def ask_many(worker: int) -> None:
        try:
            for i in range(15):
                history.record(f"w{worker}", answer_json(f"question {worker}-{i}"))
                history.recent(5)
        except Exception as exc:  # collected: an exception in a thread would not fail the test
            errors.append(exc)

    threads = [threading.Thread(target=ask_many, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(c.turns for c in history.recent()) == [15] * 6


def test_the_ui_and_the_cli_record_through_the_desk_unless_history_is_off(make_settings):
    from rag.store.desk import Desk

    desk = Desk(make_settings())
    desk.record_turn("c1", answer_json("How many cranes?"))
    assert [c.title for c in desk.history.recent()] == ["How many cranes?"]
    quiet = Desk(make_settings(keep_history=False))
    quiet.record_turn("c2", answer_json("Not kept?"))
    assert [c.id for c in quiet.history.recent()] == ["c1"]


# --- the command line ----------------------------------------------------------------------------------
@pytest.fixture
def cli_env(cli_env):
    """conftest's `brief` environment, with this module's articles ingested."""
    tmp_path = cli_env
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "cranes.txt").write_text(CRANES, encoding="utf-8")
    assert main(["ingest", "--quiet", "--desk", "harbour", str(docs)]) == 0
    return tmp_path


def printed_json(capsys, *argv):
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_brief_history_json_holds_each_answer_as_ask_printed_it(cli_env, capsys):
    asked = printed_json(capsys, "ask", "--desk", "harbour", "--json", "How many cranes did Valdora approve?")
    data = printed_json(capsys, "history", "--desk", "harbour", "--json")
    assert data["desk"] == "harbour" and len(data["conversations"]) == 1
    (turn,) = data["conversations"][0]["turns"]
    assert {k: v for k, v in turn.items() if k != "asked_at"} == asked
    assert printed_json(capsys, "history", "--json") == {"desk": "default", "conversations": []}


def test_no_history_and_a_batch_are_recorded_as_asked(cli_env, capsys):
    batch = cli_env / "batch.jsonl"
    batch.write_text('{"id": "a", "question": "How many cranes?"}\n{"id": "b", "question": "Where?"}\n')
    assert main(["ask", "--desk", "harbour", "--no-history", "How many cranes?"]) == 0
    assert main(["ask", "--desk", "harbour", "--batch", str(batch), "--json"]) == 0
    (conversation,) = printed_json(capsys, "history", "--desk", "harbour", "--json")["conversations"]
    assert [t["id"] for t in conversation["turns"]] == ["a", "b"]


def test_brief_history_exports_markdown_and_lists_conversations(cli_env, capsys):
    assert main(["ask", "--desk", "harbour", "How many cranes did Valdora approve?"]) == 0
    out = cli_env / "export" / "history.md"
    capsys.readouterr()
    assert main(["history", "--desk", "harbour", "--markdown", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert (
        "# Briefing Desk history: desk `harbour`" in text
        and "### How many cranes did Valdora approve?" in text
    )
    assert main(["history", "--desk", "harbour"]) == 0
    line = capsys.readouterr().out.strip()
    conversation = line.split("\t")[0]
    assert line.endswith("1 turn\tHow many cranes did Valdora approve?")
    assert main(["history", "--desk", "harbour", "--conversation", conversation]) == 0
    assert "### How many cranes did Valdora approve?" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["history", "--desk", "nowhere"], "no desk named 'nowhere'"),
        (["history", "--desk", "harbour", "--conversation", "nope"], "no conversation 'nope'"),
        (["history", "--desk", "harbour", "--limit", "0"], "--limit 0"),
    ],
)
def test_bad_history_requests_are_one_line(cli_env, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_history_markdown_to_an_unwritable_place_is_one_line(cli_env, capsys):
    blocker = Path(cli_env) / "file"
    blocker.write_text("x")
    assert main(["history", "--desk", "harbour", "--markdown", str(blocker / "h.md")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_a_history_removed_under_a_running_process_starts_afresh(history):
    """Deleting a desk removes its history file while the UI may hold it open: what is recorded
    next must land in a new file, not in the removed one."""
    import shutil

    history.record("c1", answer_json("Before?"))
    shutil.rmtree(history.path.parent)
    history.record("c2", answer_json("After?"))
    assert history.path.is_file() and [c.id for c in history.recent()] == ["c2"]

"""A desk's history: every question asked there with its answer and citations, in SQLite, so a
conversation outlives the UI process and can be listed, reopened and exported.

One file per desk (<data_dir>/desks/<desk>/history.sqlite3), one row per turn, written and read in
short transactions (rag/store/sqlite_files.py), since the UI serves several users at once.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.store.sqlite_files import transaction

HISTORY_FILE = "history.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation TEXT NOT NULL,
    asked_at REAL NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,  -- JSON list, as `brief ask --json` gives them
    extra TEXT NOT NULL       -- the rest of the answer's JSON (short answer, refused, closest, ...)
);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns (conversation, id);
"""
KEPT_APART = ("question", "answer", "citations")  # the answer JSON's keys that have their own column
LEADING_KEYS = ("question", "short_answer", "answer", "refused", "citations")  # first in a turn's JSON


def new_conversation_id() -> str:
    return uuid.uuid4().hex[:12]


def iso_time(stamp: float) -> str:
    """UTC, to the second: the same for every reader of the history wherever they are."""
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Turn:
    conversation: str
    asked_at: float
    answer: dict[str, Any]  # the answer's JSON (Answer.to_json), citations included

    def to_json(self) -> dict[str, Any]:
        """The answer's JSON (as `brief ask --json` prints it) with the time it was asked, the
        question, short answer, answer and citations first."""
        first = {key: self.answer.get(key) for key in LEADING_KEYS}
        return {"asked_at": iso_time(self.asked_at), **first, **self.answer}


@dataclass
class Conversation:
    id: str
    turns: list[Turn] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.turns[0].answer["question"] if self.turns else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started_at": iso_time(self.turns[0].asked_at) if self.turns else None,
            "turns": [t.to_json() for t in self.turns],
        }


@dataclass(frozen=True)
class ConversationInfo:
    """One line of the list of past conversations: no answers read."""

    id: str
    started_at: float
    updated_at: float
    title: str  # its first question
    turns: int


class History:
    def __init__(self, path: Path):
        self.path = Path(path)

    def _connect(self, write: bool):
        return transaction(self.path, SCHEMA, write)

    def record(self, conversation: str, answer: dict[str, Any], asked_at: float | None = None) -> None:
        """Add one turn: the answer's JSON as `brief ask --json` prints it."""
        extra = {k: v for k, v in answer.items() if k not in KEPT_APART}
        row = (
            conversation,
            time.time() if asked_at is None else asked_at,
            answer.get("question") or "",
            answer.get("answer") or "",
            json.dumps(answer.get("citations") or [], ensure_ascii=False),
            json.dumps(extra, ensure_ascii=False),
        )
        with self._connect(write=True) as db:
            db.execute(
                "INSERT INTO turns (conversation, asked_at, question, answer, citations, extra)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )

    def recent(self, limit: int | None = None) -> list[ConversationInfo]:
        """Conversations, the most recently continued first."""
        query = """SELECT conversation, MIN(asked_at), MAX(asked_at), COUNT(*),
                          (SELECT question FROM turns f WHERE f.conversation = t.conversation ORDER BY id LIMIT 1)
                   FROM turns t GROUP BY conversation ORDER BY MAX(id) DESC LIMIT ?"""
        with self._connect(write=False) as db:
            rows = db.execute(query, (-1 if limit is None else limit,)).fetchall() if db else []
        return [ConversationInfo(cid, first, last, title, n) for cid, first, last, n, title in rows]

    def conversation(self, conversation: str) -> Conversation:
        """Its turns in the order asked (none when the id is unknown)."""
        return self.conversations([conversation])[0]

    def conversations(self, ids: list[str]) -> list[Conversation]:
        """These conversations with their turns, in the order of ``ids``."""
        found = {cid: Conversation(cid) for cid in ids}
        marks = ",".join("?" * len(found))
        query = f"SELECT conversation, asked_at, question, answer, citations, extra FROM turns WHERE conversation IN ({marks}) ORDER BY id"
        with self._connect(write=False) as db:
            rows = db.execute(query, list(found)).fetchall() if db and found else []
        for cid, asked_at, question, answer, citations, extra in rows:
            data = {**json.loads(extra), "question": question, "answer": answer}
            data["citations"] = json.loads(citations)
            found[cid].turns.append(Turn(cid, asked_at, data))
        return [found[cid] for cid in ids]

    def latest(self, limit: int | None = None) -> list[Conversation]:
        """The ``limit`` most recent conversations (all when None) with their turns, newest first."""
        return self.conversations([c.id for c in self.recent(limit)])


def history_json(desk: str, conversations: list[Conversation]) -> dict[str, Any]:
    """What `brief history --json` prints."""
    return {"desk": desk, "conversations": [c.to_json() for c in conversations]}


def history_markdown(desk: str, conversations: list[Conversation]) -> str:
    """The conversations as a Markdown document: each question, its answer, its numbered references."""
    lines = [f"# Briefing Desk history: desk `{desk}`", ""]
    if not conversations:
        lines.append("No questions asked yet.")
    for conversation in conversations:
        lines += [f"## {conversation.title}", "", f"Conversation `{conversation.id}`", ""]
        for turn in conversation.turns:
            lines += turn_markdown(turn)
    return "\n".join(lines).rstrip() + "\n"


def turn_markdown(turn: Turn) -> list[str]:
    data = turn.answer
    short = [f"**Short answer:** {data['short_answer']}", ""] if data.get("short_answer") else []
    refs = [
        f'- [{c["n"]}] {c["source"]} ({c.get("date") or "undated"}): "{c["quote"]}"'
        for c in data.get("citations") or []
    ]
    return [
        f"### {data['question']}",
        "",
        f"*Asked {iso_time(turn.asked_at)}*",
        "",
        *short,
        data["answer"],
        "",
        *(["References:", "", *refs, ""] if refs else []),
    ]

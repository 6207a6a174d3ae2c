"""What an answer is: the Answer record every path returns (its JSON is the `ask --json` contract),
the refused answer, and the passages shown beside a refusal. Shared by the short-answer path
(rag/questions/answer.py) and the timeline, comparison and descriptive answers (rag/questions/answer_modes.py), so
neither imports the other's module for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rag.questions.claims import Citation
from rag.questions.evidence import Evidence

REFUSAL_TEXT = "The articles do not say."
CLOSEST_HEADING = "Closest passages found (not an answer):"
WITHHELD_NOTE = "No short answer: the quoted sentence answers this, but which of its words do is uncertain."


@dataclass
class Answer:
    question: str
    answer: str
    refused: bool
    citations: list[Citation]
    backend: str
    timings_ms: dict[str, int]
    id: str | None = None
    standalone_question: str | None = None
    mode: str = "factoid"  # the question's form: factoid | descriptive | timeline | comparison
    answer_kind: str = "generated"  # generated | extractive | refused
    retrieved_sources: list[str] = field(default_factory=list)  # ranked, for hit@k / MRR
    evidence: list[Evidence] = field(default_factory=list)
    draft: str = ""  # what the LLM wrote before verification
    warning: str | None = None  # e.g. the LLM server failed mid-answer
    short_answer: str | None = (
        None  # verbatim span of a cited quote: the name, number, date or phrase asked for
    )
    short_answer_cites: list[int] = field(
        default_factory=list
    )  # citation numbers the short answer is quoted from
    # answered, but the span was not sure enough to be shown: the cited sentence is the answer
    short_answer_withheld: bool = False
    # the refusal model's probabilities that the articles answer this and that the span is right
    confidence: dict[str, float] = field(default_factory=dict)
    # a refused question's nearest retrieved passages, verbatim: shown, never counted as an answer
    closest: list[Citation] = field(default_factory=list)
    # a timeline or comparison answer's structure (rag/questions/answer_modes.py); mentions: {articles, of}
    timeline: list[dict[str, Any]] = field(default_factory=list)  # [{date, text, citations, undated}]
    sides: list[dict[str, Any]] = field(default_factory=list)  # [{side, period, points, found}]
    mentions: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "short_answer": self.short_answer,
            "short_answer_withheld": self.short_answer_withheld,
            "answer": self.answer,
            "refused": self.refused,
            "citations": [c.to_json() for c in self.citations],
            "backend": self.backend,
            "timings_ms": self.timings_ms,
            "mode": self.mode,
            "answer_kind": self.answer_kind,
            "confidence": {k: round(v, 3) for k, v in self.confidence.items()},
            "closest": [c.to_json() for c in self.closest],
            **{
                k: v
                for k, v in (("timeline", self.timeline), ("sides", self.sides), ("mentions", self.mentions))
                if v
            },
            **({"warning": self.warning} if self.warning else {}),
        }

    def to_text(self) -> str:
        """The short answer first, then the cited answer and its warning, then the numbered quotes
        (the warning often says how to get an answer, e.g. set the undated articles' dates)."""
        refs = reference_lines(self.citations)
        if self.closest:
            refs = [CLOSEST_HEADING, *reference_lines(self.closest)]
        head = [f"Answer: {self.short_answer}", ""] if self.short_answer else []
        head = [WITHHELD_NOTE, ""] if self.short_answer_withheld else head
        note = [f"Note: {self.warning}"] if self.warning else []
        return "\n".join([*head, self.answer, *note, *([""] + refs if refs else [])])


def reference_lines(citations: list[Citation]) -> list[str]:
    return [f'[{c.n}] {c.source} ({c.date or "undated"}): "{c.quote}"' for c in citations]


def finish_refused(answer: Answer, timings: dict[str, float], closest: list[Citation] = ()) -> Answer:
    answer.answer, answer.refused, answer.citations, answer.answer_kind = REFUSAL_TEXT, True, [], "refused"
    answer.closest = list(closest)
    answer.timings_ms = to_ms(timings)
    return answer


def closest_passages(evidence: list[Evidence], n: int) -> list[Citation]:
    """The ``n`` best-scored evidence sentences, each once, numbered as citations: what a refused
    question's reader can check at a glance (the evidence is already ranked by score)."""
    picked: list[Evidence] = []
    for e in sorted(evidence, key=lambda e: -e.score):
        if len(picked) >= n:
            break
        if all(e.text != p.text for p in picked):
            picked.append(e)
    return [
        Citation(i, e.source, e.title, e.date, e.chunk_id, e.text, e.start, e.end)
        for i, e in enumerate(picked, 1)
    ]


def to_ms(timings: dict[str, float]) -> dict[str, int]:
    return {k: round(v * 1000) for k, v in timings.items()}

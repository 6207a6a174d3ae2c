"""Comparison answers: cited points grouped under each side the question names.

Each side retrieves on its own (the side and the topic; a side that is a year retrieves within the
articles dated in it) and keeps the sentences that mention it. A side with nothing found says so, in
the text and in ``sides``. When the question names no topic and its sides are periods ('What is new
in 2024 compared with 2021?'), relevance to the question means little, so each period's sentences are
ranked by how typical they are of their own period and how unlike the other period's: what is new.
"""

from __future__ import annotations

import numpy as np

from rag.questions.evidence import Evidence
from rag.questions.question_parts import Side, Subject, comparison_sides
from rag.questions.retrieve import Scope
from rag.questions.statements import Numbering, about, articles_in_scope, gather, narrowed, refuse, usable

NOTHING_FOUND = "Nothing found in the articles."
DATE_FIX = "set their dates with `brief ingest --date YYYY-MM-DD FILE` or in the Library tab"


def comparison_answer(desk, question: str, scope: Scope, answer) -> bool:
    """Fill ``answer`` with the comparison; False when the question names fewer than two sides."""
    sides, topic = comparison_sides(question)
    if len(sides) < 2:
        return False
    found = [side_sentences(desk, side, topic, question, scope) for side in sides]
    answer.retrieved_sources = list(dict.fromkeys(e.source for side in found for e in side))
    answer.evidence = [e for side in found for e in side]
    if topic.empty and all(side.period for side in sides):
        found = distinctive(found, desk.evidence_embedder)
    points = [side[: desk.settings.comparison_points] for side in found]
    if any(side.period for side in sides):
        answer.warning = undated_warning(desk, scope)
    if not any(points):
        refuse(answer, answer.evidence, desk.settings.refusal_closest_passages)
    else:
        write_comparison(answer, sides, points)
    return True


def undated_warning(desk, scope: Scope) -> str | None:
    """Years draw only on dated articles: say how many in scope are undated (None when none are)."""
    records = articles_in_scope(desk, scope)
    undated = sum(r.date is None for r in records)
    if not undated:
        return None
    return f"{undated} of {len(records)} articles have no date, so no year can draw on them: {DATE_FIX}"


def side_sentences(desk, side: Side, topic: Subject, question: str, scope: Scope) -> list[Evidence]:
    """The side's usable sentences about the topic, best first."""
    query = " ".join(part for part in ("" if side.period else side.label, topic.text) if part) or question
    gathered = gather(desk, query, narrowed(scope, side.period), desk.settings.mode_retrieval_k)
    return usable(desk, about(gathered, topic if side.period else side.subject))


def distinctive(found: list[list[Evidence]], embedder) -> list[list[Evidence]]:
    """Each side's sentences ranked by similarity to its own side's mean less their greatest similarity
    to another side's sentences: typical of this side, unlike the others."""
    vectors = [embedder.embed([e.text for e in side]) if side else np.zeros((0, 1)) for side in found]
    ranked = []
    for i, side in enumerate(found):
        if not side:
            ranked.append(side)
            continue
        own = vectors[i] @ vectors[i].mean(axis=0)
        others = [v for j, v in enumerate(vectors) if j != i and len(v)]
        nearest_other = np.max(np.hstack([vectors[i] @ v.T for v in others]), axis=1) if others else 0.0
        order = np.argsort(-(own - nearest_other), kind="stable")
        ranked.append([side[k] for k in order])
    return ranked


def write_comparison(answer, sides: list[Side], points: list[list[Evidence]]) -> None:
    """The answer's text (each side, then its quoted points or that nothing was found), citations and
    structured sides."""
    numbering = Numbering()
    lines: list[str] = []
    answer.sides = []
    for side, chosen in zip(sides, points):
        lines.append(f"{side.label}:")
        lines += [f"- {numbering.quote(e)}" for e in chosen] or [f"- {NOTHING_FOUND}"]
        answer.sides.append(
            {
                "side": side.label,
                "period": {"since": side.period.since, "until": side.period.until} if side.period else None,
                "points": [{"text": e.text, "citations": [numbering.cite(e).to_json()]} for e in chosen],
                "found": bool(chosen),
            }
        )
    answer.answer, answer.citations = "\n".join(lines), numbering.citations
    answer.answer_kind = "extractive"

"""Answers for the question forms other than factoid: timeline (rag/questions/answer_timeline.py), comparison
(rag/questions/answer_compare.py) and descriptive (rag/questions/answer_describe.py).

Each is an Answer like a factoid one (answer text with [n], citations, refused), so the CLI, the UI
and the eval read it unchanged; ``mode`` says the form, ``answer_kind`` is 'extractive' (every
statement is a verbatim, verified quote) or 'refused', and ``timeline``, ``sides`` and ``mentions``
carry the structure. A follow-up is condensed as for a factoid question; no LLM writes anything here.
A question taken as a comparison whose wording names fewer than two sides is answered as a
descriptive one, and the answer says so in its warning.
"""

from __future__ import annotations

from rag.questions.answer_compare import comparison_answer
from rag.questions.answer_describe import descriptive_answer
from rag.questions.answer_model import Answer, to_ms
from rag.questions.answer_timeline import timeline_answer
from rag.questions.retrieve import Scope
from rag.timing import timed

NO_SIDES = "no two sides found in the question to compare: answered with the sentences about it instead"


def answer_in_form(
    answerer, form: str, question: str, scope: Scope, history: list[str], qid: str | None
) -> Answer:
    """The answer to ``question`` taken in ``form`` (descriptive, timeline or comparison)."""
    timings: dict[str, float] = {}
    standalone = timed(timings, "condense", lambda: answerer.condense(question, history))
    answer = Answer(
        question=question,
        answer="",
        refused=False,
        citations=[],
        backend=answerer.backend_name(),
        timings_ms={},
        id=qid,
        standalone_question=standalone if standalone != question else None,
        mode=form,
        answer_kind="extractive",
    )
    answerable = timed(timings, "read", lambda: answerer.answerable_probability(standalone, scope))
    timed(timings, "retrieve", lambda: build(answerer.desk, form, standalone, scope, answer, answerable))
    answer.confidence["answerable"] = answerable
    answer.timings_ms = to_ms(timings)
    return answer


def build(desk, form: str, question: str, scope: Scope, answer: Answer, answerable: float) -> None:
    """``answerable``: the refusal model's probability from a factoid reading (descriptive answers use it)."""
    if form == "timeline":
        timeline_answer(desk, question, scope, answer)
    elif form == "comparison" and not comparison_answer(desk, question, scope, answer):
        answer.mode, answer.warning = "descriptive", NO_SIDES
        descriptive_answer(desk, question, scope, answer, answerable)
    elif form == "descriptive":
        descriptive_answer(desk, question, scope, answer, answerable)

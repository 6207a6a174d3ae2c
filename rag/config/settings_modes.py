"""The question-mode fields of the one settings object (rag/config/settings.py): how timeline, comparison and
descriptive answers are put together. Kept apart like the briefing fields: ``Settings`` inherits
them, so they are read, validated and printed with all the others."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings


class ModeSettings(BaseSettings):
    """What shapes the answers to timeline, comparison and descriptive questions (rag/questions/answer_modes.py)."""

    question_mode: Literal["auto", "factoid", "descriptive", "timeline", "comparison"] = Field(
        "auto",
        description="How questions are taken when `brief ask --mode` (or the UI's control) does not say: 'auto' lets the question-form classifier (rag/questions/question_form.py) choose factoid, descriptive, timeline or comparison; a form takes every question so (e.g. 'factoid' measures the short-answer path alone with `brief eval`).",
    )
    mode_retrieval_k: int = Field(
        20,
        ge=1,
        le=200,
        description="Chunks retrieved for a timeline, comparison or descriptive answer (each comparison side retrieves its own): these draw on several articles, so more than a factoid answer's retrieval_k.",
    )
    statement_min_words: int = Field(
        6,
        ge=1,
        le=50,
        description="Shortest sentence, in words, quoted as a statement in these answers: shorter lines are mostly headlines, captions and bylines.",
    )
    timeline_answer_dates: int = Field(
        6,
        ge=1,
        le=50,
        description="Most dates in a timeline answer: the dates whose statements weigh most (summed relevance) are chosen, then shown in date order.",
    )
    timeline_answer_per_date: int = Field(
        1,
        ge=1,
        le=5,
        description="Statements shown under each date of a timeline answer (the most relevant first).",
    )
    timeline_answer_undated: int = Field(
        2,
        ge=0,
        le=10,
        description="Statements from undated articles shown after a timeline answer's dated ones, marked as undated.",
    )
    comparison_points: int = Field(
        3, ge=1, le=10, description="Cited points under each side of a comparison answer."
    )
    descriptive_sentences: int = Field(
        4, ge=3, le=5, description="Cited sentences in a descriptive answer (3-5)."
    )
    descriptive_coverage_pool: int = Field(
        10,
        ge=1,
        le=100,
        description="Best-scored retrieved sentences in which a descriptive question's subject (its names and content terms) is looked for, to measure coverage.",
    )
    descriptive_min_coverage: float = Field(
        0.65,
        ge=0,
        le=1,
        description="A descriptive question is refused when less than this share of its subject's names and terms are found in the best retrieved sentences (see descriptive_coverage_pool); chosen by `python -m fit.coverage` on public SQuAD 2.0 train articles (best balanced accuracy on the choosing articles; eval/sets/coverage_report.json), never on the seeds.",
    )

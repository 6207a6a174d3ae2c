"""Descriptive answers ('What did A and B discuss?', 'Why did X travel to Y?', 'What does X want?'): a
few cited sentences about the subject, without a short answer.

Refused when the articles do not cover the subject: coverage is the share of the subject's
names and content terms found in the best retrieved sentences (descriptive_coverage_pool of them),
and the threshold (descriptive_min_coverage) was chosen on public SQuAD articles by
`python -m fit.coverage`, never on the seeds. Also refused when the refusal model, reading the
question as a factoid one, gives it less than refusal_min_answerable (the factoid threshold: one
operating point; on the choosing SQuAD articles it raised the descriptive answers' accuracy from 47% to
60%, README): coverage counts words, so a question about a covered subject that asks what the
articles never say gets through it. The
sentences shown are the best-scored ones that mention the subject.
"""

from __future__ import annotations

from rag.questions.question_parts import subject_of
from rag.questions.retrieve import Scope
from rag.questions.statements import Numbering, about, coverage, gather, refuse, usable


def descriptive_answer(desk, question: str, scope: Scope, answer, answerable: float = 1.0) -> None:
    """Fill ``answer`` with the cited sentences, or refuse it when the subject is not covered or the
    refusal model's ``answerable`` probability is below refusal_min_answerable."""
    s = desk.settings
    subject = subject_of(question)
    gathered = gather(desk, question, scope, s.mode_retrieval_k)
    answer.retrieved_sources, answer.evidence = gathered.sources, gathered.sentences
    covered = coverage(subject, gathered.sentences[: s.descriptive_coverage_pool], gathered.aliases)
    answer.confidence = {"coverage": covered, "answerable": answerable}
    chosen = usable(desk, about(gathered, subject))[: s.descriptive_sentences]
    if covered < s.descriptive_min_coverage or answerable < s.refusal_min_answerable or not chosen:
        refuse(answer, gathered.sentences, s.refusal_closest_passages)
        return
    numbering = Numbering()
    answer.answer = " ".join(numbering.quote(e) for e in chosen)
    answer.citations, answer.answer_kind = numbering.citations, "extractive"

"""Answering a question: retrieve passages, read them (span reader, claims, evidence), take the
question's form (factoid, descriptive, timeline, comparison), verify every cited sentence, refuse what
the articles do not support. Entry point: ``rag.questions.answer.Answerer``.
"""

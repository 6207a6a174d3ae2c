"""Briefings: read the chosen articles (map), write the bottom line, themes, dated timeline, who's
who and open questions with citations (layout, text), optional LLM rewrites checked like every
sentence, and "what changed since". Entry point: ``rag.briefings.summarize``.
"""

"""Fitting the refusal model (rag/models/refusal.py): when to refuse, and when to show the short answer.

- table.py: every question of some articles through the pipeline's own retrieval, evidence and
  reading, with the reading's features and whether its span holds a gold answer (cached as JSON);
- model.py: two logistic heads fitted on one part's table, thresholds chosen on another's;
- run.py: ``python -m fit.refusal``, writing rag/models/refusal_model.json and eval/sets/refusal_report.json.
"""

"""Prompt templates as data files (``*.txt``), shipped with the package; read by ``rag.models.prompts`` only."""

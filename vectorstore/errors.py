"""Errors a user can act on: one line saying what went wrong and how to fix it.

Defined at the lowest layer so that ``vectorstore`` stays independent of ``rag``; ``rag.errors``
re-exports them.
"""

from __future__ import annotations


class BriefError(Exception):
    """An expected failure (bad input, missing backend) shown to the user as one line."""

    def __init__(self, message: str, fix: str | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} ({self.fix})" if self.fix else self.message


class BackendUnavailable(BriefError):
    """A configured backend (LLM server, Chroma server, model package) cannot be used."""


class StoreError(BriefError):
    """The vector store is missing, corrupt or from an incompatible version."""


class SkipFile(Exception):
    """A file that ingest reports and skips (empty, binary, unsupported, too large...)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

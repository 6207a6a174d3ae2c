"""User-facing errors; the base classes live in ``vectorstore.errors`` so both layers share them."""

from vectorstore.errors import BackendUnavailable, BriefError, StoreError


class BackendTimeout(BackendUnavailable):
    """A server backend stopped answering mid-request (callers may fall back instead of failing)."""


__all__ = ["BackendTimeout", "BackendUnavailable", "BriefError", "StoreError"]

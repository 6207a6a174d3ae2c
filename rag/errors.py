"""User-facing errors; the classes live in ``vectorstore.errors`` so both layers share them."""

from vectorstore.errors import BackendUnavailable, BriefError, StoreError

__all__ = ["BackendUnavailable", "BriefError", "StoreError"]

"""The desk and history fields of the one settings object (rag/config/settings.py), and the rule desk names
follow. Kept apart like the briefing fields: ``Settings`` inherits them, so they are read, validated
and printed with all the others. This module imports nothing heavy: the settings load it."""

from __future__ import annotations

import re

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from rag.errors import BriefError

DEFAULT_DESK = "default"
# What a desk name may hold: it becomes part of Chroma collection names ([a-zA-Z0-9._-]) and of a
# folder name on any file system; lower case, since Trade and trade would share a folder on macOS.
DESK_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
DESK_NAME_RULE = "1-64 letters, digits, '-' or '_', starting with a letter or digit; case is ignored"


def check_desk_name(name: object) -> str:
    """The desk name in the form it is stored (lower case), or a BriefError saying what a name may hold."""
    folded = name.strip().lower() if isinstance(name, str) else ""
    if not DESK_NAME.fullmatch(folded):
        raise BriefError(f"desk name {name!r} is not usable", fix=f"use {DESK_NAME_RULE}")
    return folded


class DeskSettings(BaseSettings):
    """Which desk a command acts on, and what it remembers of the questions asked there."""

    desk: str = Field(
        DEFAULT_DESK,
        description=f"The desk (one set of articles, e.g. one story) commands read and write: its own Chroma collections, keyword index, uploads and history; {DESK_NAME_RULE}. 'default' keeps the store a data folder had before desks existed.",
    )
    keep_history: bool = Field(
        True,
        description="Record every question `brief ask` and the UI answer, with the answer and its citations, in the desk's history (SQLite under <data_dir>/desks/<desk>/); `brief history` shows it.",
    )
    history_shown: int = Field(
        50,
        ge=1,
        le=10_000,
        description="Most recent conversations the UI's 'Past conversations' list offers (`brief history` shows all unless given --limit).",
    )

    @field_validator("desk", mode="before")
    @classmethod
    def _desk_name(cls, value: object) -> str:
        return check_desk_name(value)  # a BriefError passes through pydantic: one clear line

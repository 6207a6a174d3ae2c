"""The link and feed fields of the one settings object (rag/config/settings.py), kept apart to keep each file
readable: ``Settings`` inherits them, so they are read, validated and printed with all the others."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class LinkSettings(BaseSettings):
    """How pages and feeds are fetched (`brief ingest URL`, `brief feed`)."""

    fetch_timeout_s: float = Field(
        20.0,
        gt=0,
        le=600,
        description="Seconds a link may take to connect, to send each part of its answer, and to arrive whole; past it the link is reported as timed out.",
    )
    fetch_max_redirects: int = Field(
        5, ge=0, le=30, description="Redirects a link may go through before it is refused as a redirect loop."
    )
    fetch_max_mb: float = Field(
        10.0,
        gt=0,
        le=1000,
        description="Largest page, PDF or feed fetched, in megabytes: a larger stated Content-Length is refused before the body is read, and a download is stopped as soon as it passes this.",
    )
    fetch_concurrency: int = Field(
        4, ge=1, le=64, description="Pages of a feed (or links of one `brief ingest`) fetched at once."
    )
    fetch_user_agent: str = Field(
        "BriefingDesk/0.1 (news reader)",
        description="User-Agent header sent with every fetch (some sites refuse requests without one).",
    )
    feed_max_new_entries: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Most new entries one `brief feed update` ingests from one feed, newest first; the rest wait for the next update.",
    )

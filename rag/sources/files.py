"""Writing the files a user names on the command line (--out, --markdown): a folder made as needed,
and a one-line error instead of a traceback when the place cannot be written."""

from __future__ import annotations

from pathlib import Path

from rag.errors import BriefError


def write_text_safely(path: Path, text: str, option: str = "--out") -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BriefError(
            f"cannot write {path}: {exc.strerror}", fix=f"choose a writable {option} path"
        ) from None

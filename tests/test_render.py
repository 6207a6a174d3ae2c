"""The UI's conversions that write files: each briefing download gets a folder of its own."""

import json
from pathlib import Path

from ui import render


class StubBriefing:
    """Just the three exports briefing_files asks a briefing for."""

    def __init__(self, title: str):
        self.title = title

    def to_markdown(self) -> str:
        return f"# {self.title}\n"

    def to_html(self) -> str:
        return f"<h1>{self.title}</h1>"

    def to_json(self) -> dict:
        return {"title": self.title}


def test_two_briefings_never_share_a_download_file(tmp_path):
    first = render.briefing_files(StubBriefing("first"), tmp_path)
    second = render.briefing_files(StubBriefing("second"), tmp_path)
    assert not set(first) & set(second)
    assert [Path(f).suffix for f in first] == [".md", ".html", ".json"]
    assert Path(first[0]).read_text(encoding="utf-8") == "# first\n"
    assert json.loads(Path(second[2]).read_text(encoding="utf-8")) == {"title": "second"}
    assert all(Path(f).is_relative_to(tmp_path / "briefings") for f in first + second)

"""The UI's conversions that write files: each briefing download gets a folder of its own."""

import json
from pathlib import Path

from ui import render


class StubBriefing:
    """Just the exports briefing_files asks a briefing for."""

    def __init__(self, title: str):
        self.title = title

    def export(self, kind: str) -> str:
        return {
            "md": f"# {self.title}\n",
            "html": f"<h1>{self.title}</h1>",
            "json": json.dumps({"title": self.title}),
        }[kind]


def test_two_briefings_never_share_a_download_file(tmp_path):
    first = render.briefing_files(StubBriefing("first"), tmp_path)
    second = render.briefing_files(StubBriefing("second"), tmp_path)
    assert not set(first) & set(second)
    assert [Path(f).suffix for f in first] == [".md", ".html", ".json"]
    assert Path(first[0]).read_text(encoding="utf-8") == "# first\n"
    assert json.loads(Path(second[2]).read_text(encoding="utf-8")) == {"title": "second"}
    assert all(Path(f).is_relative_to(tmp_path / "briefings") for f in first + second)


def test_every_request_gets_its_own_export_folder(tmp_path):
    first, second = (
        render.export_folder(tmp_path, "eval-reports"),
        render.export_folder(tmp_path, "eval-reports"),
    )
    assert first != second and first.parent == second.parent == tmp_path / "eval-reports"

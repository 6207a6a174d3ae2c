"""The eval runner's logic on fast fakes: SQuAD JSON in a throwaway store, splits, the chance rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eval.cli import run_eval_command
from eval.runner import run_eval
from eval.sets_io import load_eval_questions
from fakes import ScriptedReader

ROOT = Path(__file__).resolve().parents[1]
SHARED_SQUAD = ROOT.parent / "shared" / "public-qa" / "squad2-train-10-articles.json"


def tiny_squad(path: Path) -> Path:
    """Two articles in the official format: three answerable questions, one not."""

    def qa(qid, question, answer=None):
        if answer is None:
            return {
                "id": qid,
                "question": question,
                "answers": [],
                "is_impossible": True,
                "plausible_answers": [{"text": "1901", "answer_start": 0}],
            }
        return {
            "id": qid,
            "question": question,
            "answers": [{"text": answer, "answer_start": 0}],
            "is_impossible": False,
        }

    data = {
        "version": "v2.0",
        "data": [
            {
                "title": "Harbour_Bridge",
                "paragraphs": [
                    {
                        "context": "The harbour bridge opened in 1932. It was designed by the engineer Maria Lind.",
                        "qas": [
                            qa("h1", "When did the harbour bridge open?", "1932"),
                            qa("h2", "Who designed the harbour bridge?", "Maria Lind"),
                        ],
                    },
                    {
                        "context": "The bridge carries eight lanes of traffic and two railway tracks.",
                        "qas": [qa("h3", "When did the harbour bridge close?")],
                    },
                ],
            },
            {
                "title": "Glacier_Park",
                "paragraphs": [
                    {
                        "context": "Glacier Park covers 4,100 square kilometres of mountains.",
                        "qas": [qa("g1", "How large is Glacier Park?", "4,100 square kilometres")],
                    }
                ],
            },
        ],
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_squad_set_runs_in_a_throwaway_store_and_leaves_the_users_store_alone(fake_desk, tmp_path):
    before = [r.source for r in fake_desk.sources()]
    fake_desk.reader = ScriptedReader({"harbour bridge open": "1932", "designed": "the engineer Maria Lind"})
    report = run_eval(fake_desk, tiny_squad(tmp_path / "tiny.json"), split="all")
    assert [r.source for r in fake_desk.sources()] == before  # nothing added to the user's store
    assert not any((Path(fake_desk.settings.data_dir) / "eval-stores").iterdir())  # removed afterwards
    ours = report.ours
    assert (ours["n"], ours["n_answerable"], ours["n_unanswerable"]) == (4, 3, 1)
    assert set(
        "exact_match f1 has_ans_exact has_ans_f1 no_ans_exact citation_precision citation_recall".split()
    ) <= set(ours)
    assert set(report.systems) == {"ours", "refuse_all", "top_sentence"}
    refuse = report.systems["refuse_all"]
    assert (
        refuse["accuracy"] == pytest.approx(1 / 4)
        and refuse["no_ans_exact"] == 1.0
        and refuse["has_ans_f1"] == 0.0
    )
    top = report.systems["top_sentence"]
    assert top["refusal_accuracy"] == 0.0 and top["source_hit_at_k"] == 1.0
    # the top sentence of "When did the harbour bridge open?" holds 1932: lenient recall counts it
    assert report.results["top_sentence"][0].verdicts["lenient_correct"]
    h1, h2, h3, g1 = report.results["ours"]
    assert h1.output.short_answer == "1932" and h1.verdicts["exact"] == 1 and h1.verdicts["gold_supported"]
    assert (
        h2.verdicts["short_correct"] and h2.verdicts["exact"] == 0 and 0 < h2.verdicts["f1"] < 1
    )  # "the engineer Maria Lind"
    assert h3.output.refused and h3.verdicts["exact"] == 1  # no answer, refused
    assert g1.output.refused and not g1.verdicts["short_correct"]
    assert ours["answer_em_recall"] == pytest.approx(2 / 3) and ours["citation_precision"] == 1.0
    # every answer carries the refusal model's probability; the chance rows report none
    assert all(0 <= r.output.confidence["answerable"] <= 1 for r in report.results["ours"])
    assert ours["answerable_auc_n"] == 4 and 0 <= ours["answerable_auc"] <= 1
    assert refuse["answerable_auc"] is None and refuse["answerable_auc_n"] == 0


def test_eval_command_prints_the_metrics_and_writes_the_report(fake_desk, tmp_path, capsys):
    fake_desk.reader = ScriptedReader({"harbour bridge open": "1932"})
    out = tmp_path / "out"
    assert (
        run_eval_command(
            fake_desk,
            tiny_squad(tmp_path / "tiny.json"),
            as_json=True,
            out=out,
            compare=False,
            limit=None,
            split="all",
        )
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed["n"] == 4 and printed["split"] == "all" and "top_sentence" in printed["others"]
    assert {"report.md", "results.jsonl", "metrics.json"} <= {p.name for p in out.iterdir()}


def test_articles_and_limit_pick_questions(tmp_path):
    path = tiny_squad(tmp_path / "tiny.json")
    one = load_eval_questions(path, split="all", articles="1")
    assert {r["id"] for r in one.rows} == {"h1", "h2", "h3"} and one.articles == ["Harbour_Bridge"]
    assert len(one.documents) == 3  # asked among every article of the file (open retrieval)
    alone = load_eval_questions(path, split="all", articles="1", store="part")
    assert len(alone.documents) == 2 and all(name.startswith("Harbour_Bridge-p") for name in alone.documents)
    by_title = load_eval_questions(path, split="all", articles="Glacier_Park")
    assert [r["id"] for r in by_title.rows] == ["g1"]
    spread = load_eval_questions(path, split="all", limit=2)
    assert [r["id"] for r in spread.rows] == ["h1", "h3"]
    with pytest.raises(ValueError, match="no article titled Nowhere"):
        load_eval_questions(path, split="all", articles="Nowhere")
    with pytest.raises(ValueError, match="no fitting/reporting split is recorded"):
        load_eval_questions(path, split="report")
    with pytest.raises(ValueError, match="unknown store scope"):
        load_eval_questions(path, split="all", store="elsewhere")


@pytest.mark.skipif(not SHARED_SQUAD.exists(), reason="needs ../shared/public-qa")
def test_a_part_a_set_does_not_record_is_refused_with_a_message():
    with pytest.raises(ValueError, match="no 'choose' part"):
        load_eval_questions(SHARED_SQUAD, split="choose")


@pytest.mark.skipif(not SHARED_SQUAD.exists(), reason="needs ../shared/public-qa")
def test_shared_squad_defaults_to_its_reporting_articles():
    evalset = load_eval_questions(SHARED_SQUAD)
    assert evalset.split == "report"
    assert evalset.articles == ["The_Legend_of_Zelda:_Twilight_Princess", "Solar_energy"]
    assert any(not r["answerable"] for r in evalset.rows)


@pytest.mark.parametrize(
    "name,content,says",
    [
        ("bad.json", '{"version": "v2.0"}', "no top-level 'data' list"),
        ("bad.jsonl", '{"id": "x"}\n', "bad.jsonl:1"),
    ],
)
def test_a_bad_eval_set_is_a_one_line_error(tmp_path, name, content, says):
    bad = tmp_path / name
    bad.write_text(content)
    env = {
        **os.environ,
        "BRIEF_DATA_DIR": str(tmp_path / "data"),
        "BRIEF_EMBEDDER": "hash",
        "HF_HUB_OFFLINE": "1",
    }
    out = subprocess.run(
        [sys.executable, "-m", "rag.commands.cli", "eval", "--set", str(bad)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith("error: cannot use eval set") and says in out.stderr

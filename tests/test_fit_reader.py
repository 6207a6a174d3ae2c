"""fit.reader on tiny data: windows, examples, cached tokens, a training run that resumes where it
was stopped, and the whole run from the shared public data to a shipped model."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from fit.reader import examples as ex
from fit.reader.tokens import TokenRows, cached_tokens, reader_tokenizer, tokenize
from fit.reader.windows import answer_window, inference_windows

SHARED = Path(__file__).resolve().parents[2] / "shared" / "public-qa"
PARAGRAPH = (
    "The observatory opened in 1903 on the hill above the town. Its first director was Ida Brenner. "
    "She ordered a new dome in 1911. The dome was copper and weighed nine tonnes. Visitors climb 212 steps."
)


def article() -> ex.Article:
    q = [
        ex.Question(
            "a1",
            "Who was the first director of the observatory?",
            "T",
            0,
            "Ida Brenner",
            PARAGRAPH.index("Ida Brenner"),
        ),
        ex.Question("a2", "How many steps do visitors climb?", "T", 0, "212", PARAGRAPH.index("212")),
        ex.Question(
            "u1",
            "Who was the last director of the observatory?",
            "T",
            0,
            "",
            -1,
            "Ida Brenner",  # the plausible (wrong) answer SQuAD 2.0 gives an unanswerable question
            PARAGRAPH.index("Ida Brenner"),
        ),
    ]
    other = "The town has a market every Tuesday. Pears and apple cider are sold in autumn."
    return ex.Article("T", [PARAGRAPH, other], q)


def tokenizer():
    from fit.reader.export import packaged_model_dir

    return reader_tokenizer(packaged_model_dir() / "tokenizer.json", 192)


def test_windows_are_the_pipelines_sentence_with_the_one_before():
    windows = inference_windows(PARAGRAPH)
    assert windows[0].startswith("The observatory opened") and windows[0].endswith("town.")
    assert (
        windows[1]
        == "The observatory opened in 1903 on the hill above the town. Its first director was Ida Brenner."
    )
    start = PARAGRAPH.index("Ida Brenner")
    for seed in range(6):
        text, offset = answer_window(PARAGRAPH, start, start + len("Ida Brenner"), random.Random(seed))
        assert text[start - offset :].startswith("Ida Brenner") and text in PARAGRAPH


def test_an_epochs_examples_hold_their_answers_and_negatives_lack_them():
    made = ex.epoch_examples([article()], seed=3)
    assert made == ex.epoch_examples([article()], seed=3)  # the same for the same seed
    answers = {q.text: q.answer for q in article().questions}
    for e in made:
        if e.kind == "positive":
            assert e.passage[e.answer_start : e.answer_start + len(e.answer)] == e.answer
        else:
            assert e.answer_start == -1 and (not answers[e.question] or answers[e.question] not in e.passage)
    kinds = ex.kinds(made)
    assert kinds["positive"] == 2 and kinds["real_negative"] == ex.REAL_NEGATIVE_WINDOWS


def test_a_real_negative_first_reads_the_window_of_its_plausible_answer_then_the_most_on_topic():
    art = article()
    first, second = ex.real_negatives(art.questions[2], art, 2, random.Random(0))
    assert "Ida Brenner" in first.passage and first.answer_start == -1  # the hard wrong span, labelled none
    assert second.passage != first.passage and "observatory" in second.passage
    assert [e.passage for e in ex.real_negatives(art.questions[2], art, 1, random.Random(0))] == [
        first.passage
    ]


def test_without_a_plausible_answer_real_negatives_are_the_windows_most_on_topic():
    art = article()
    q = ex.Question("u2", "Who was the last director of the observatory?", "T", 0, "", -1)
    (window,) = ex.real_negatives(q, art, 1, random.Random(0))
    assert "director" in window.passage


def test_squad2_unanswerable_questions_keep_their_located_plausible_answer(tmp_path):
    data = {"data": [{"title": "T", "paragraphs": [{"context": PARAGRAPH, "qas": [
        {"id": "u", "question": "Who was the last director?", "is_impossible": True, "answers": [],
         "plausible_answers": [{"text": "Ida Brenner", "answer_start": PARAGRAPH.index("Ida Brenner") + 2}]},
        {"id": "v", "question": "Who built the dome?", "is_impossible": True, "answers": []},
    ]}]}]}  # fmt: skip
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data))
    (art,) = ex.read_articles(path)
    located, bare = art.questions
    assert not located.answerable and located.plausible_start == PARAGRAPH.index("Ida Brenner")
    assert bare.plausible == "" and bare.plausible_start == -1


def test_tokens_label_the_answer_and_drop_what_truncation_cut_off(tmp_path):
    tok = tokenizer()
    positive = ex.Example("Who?", PARAGRAPH, PARAGRAPH.index("Ida Brenner"), "Ida Brenner", "positive")
    long = ex.Example("Who?", "filler " * 300 + "Ida Brenner.", 2100, "Ida Brenner", "positive")
    rows = tokenize(tok, [positive, long, ex.Example("Who?", PARAGRAPH, -1, "", "same_paragraph")])
    assert len(rows) == 2 and rows.starts[1] == rows.ends[1] == 0
    ids = rows.ids[: rows.lengths[0]]
    assert tok.decode(list(ids[rows.starts[0] : rows.ends[0] + 1])) == "ida brenner"
    made = []
    cached = cached_tokens(tmp_path / "t.npz", tok, lambda: made.append(1) or [positive])
    again = cached_tokens(tmp_path / "t.npz", tok, lambda: made.append(1) or [positive])
    assert made == [1] and np.array_equal(cached.ids, again.ids)  # tokenised once


def tiny_rows() -> TokenRows:
    return tokenize(tokenizer(), ex.epoch_examples([article()] * 3, seed=1))


def trained_weights(work: Path, rows: TokenRows, interrupt_at: int | None = None):
    import torch

    from fit.reader.export import load_model, packaged_model_dir
    from fit.reader.train import TrainConfig, Trainer

    class Interrupted(Exception):
        pass

    class Stopping(Trainer):
        def after_step(self, loss):
            super().after_step(loss)
            if self.progress.step == interrupt_at:
                raise Interrupted  # as if the run were killed here

    def run(trainer):
        trainer.run(lambda epoch: rows, lambda epoch, checkpoint: None)

    config = TrainConfig(epochs=2, batch_size=4, save_every_s=0.0, threads=1, bf16=False)
    torch.manual_seed(0)
    trainer = Stopping(load_model(packaged_model_dir()), config, work, log=lambda m: None)
    try:
        run(trainer)
    except Interrupted:
        torch.manual_seed(0)
        trainer = Trainer(load_model(packaged_model_dir()), config, work, log=lambda m: None)
        assert trainer.resume() and trainer.progress.step == interrupt_at - 1  # saved after the step before
        run(trainer)
    return trainer.progress, {k: v.clone() for k, v in trainer.model.state_dict().items()}


@pytest.mark.model
def test_a_stopped_training_run_resumes_where_it_stopped(tmp_path):
    rows = tiny_rows()
    whole, weights = trained_weights(tmp_path / "whole", rows)
    resumed, resumed_weights = trained_weights(tmp_path / "resumed", rows, interrupt_at=3)
    assert whole.step == resumed.step == whole.planned_steps == 2 * -(-len(rows) // 4)
    assert whole.pairs_seen == resumed.pairs_seen == 2 * len(rows)
    for name, tensor in weights.items():
        assert torch_close(tensor, resumed_weights[name]), name
    assert (tmp_path / "whole" / "epoch-1").is_dir() and (tmp_path / "whole" / "epoch-2").is_dir()


def torch_close(a, b) -> bool:
    import torch

    return bool(torch.allclose(a.float(), b.float(), atol=1e-5, rtol=1e-4))


def test_batches_group_similar_lengths_in_a_fixed_random_order():
    from fit.reader.train import bucketed_batches

    lengths = np.array([5, 50, 6, 49, 7, 48, 8, 47])
    batches = bucketed_batches(lengths, 2, seed=4)
    assert [list(b) for b in batches] == [list(b) for b in bucketed_batches(lengths, 2, seed=4)]
    assert sorted(i for b in batches for i in b) == list(range(8))
    assert all(np.ptp(lengths[b]) <= 2 for b in batches)


@pytest.mark.model
@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/public-qa")
def test_the_whole_run_trains_scores_exports_and_reports(tmp_path):
    from fit.reader.run import main
    from rag.models.reader import Reader

    out = tmp_path / "model"
    code = main(
        ["--work", str(tmp_path / "work"), "--out", str(out), "--limit", "2", "--train-articles", "2",
         "--epochs", "1", "--threads", "1"]
    )  # fmt: skip
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["data"]["trained_on"]) == {"squad2-train.json"}  # no dev article is trained on
    chosen_on = report["data"]["epoch_and_int8_chosen_on"]["squad2-dev-32-articles.json"]
    assert chosen_on and not set(chosen_on) & set(report["data"]["never_read"]["squad2-dev-32-articles.json"])
    assert report["training"]["chosen_epoch"] == 1 and report["shipped"] in ("fp32", "int8")
    spans = Reader(out, threads=1).read("Who was the first director?", [PARAGRAPH])
    assert len(spans) == 1
    assert report["training"]["started_from"] is None  # from the packaged MiniLM

    # a second stage from that run's checkpoint reports what the first had cost
    first = tmp_path / "work" / "epoch-1"
    again = tmp_path / "again"
    code = main(
        ["--work", str(tmp_path / "work2"), "--out", str(again), "--limit", "2", "--train-articles", "2",
         "--epochs", "1", "--threads", "1", "--init-from", str(first), "--train-word-embeddings"]
    )  # fmt: skip
    started = json.loads((again / "report.json").read_text())["training"]["started_from"]
    assert code == 0 and started["checkpoint"] == str(first)
    assert started["its_history"][0]["train_seconds"] == report["training"]["history"][0]["train_seconds"]


class KeywordReader:
    """A deterministic stand-in for the ONNX reader: in each window, the word after 'was' is the span,
    with a margin of 2; a window without 'was' has no span."""

    def read(self, question: str, passages: list[str]):
        from rag.models.reader import Span

        spans = []
        for i, p in enumerate(passages):
            words = p.rstrip(".").split()
            at = words.index("was") + 1 if "was" in words[:-1] else None
            text = words[at] if at is not None else ""
            start = p.find(text) if text else 0
            spans.append(Span(i, text, start, start + len(text), 2.0 if text else 0.0, 0.0))
        return spans


def test_the_official_in_paragraph_score_reads_each_question_against_its_own_paragraph():
    from eval.squad import SquadArticle, SquadQuestion
    from fit.reader_official import official_scores

    paragraph = "The castle was granite. It stood on a hill."
    article = SquadArticle(
        "Castle",
        [paragraph],
        [
            SquadQuestion("q1", "What was the castle made of?", ["granite"], "Castle", 0),
            SquadQuestion("q2", "Who built the castle?", [], "Castle", 0),
        ],
    )
    answered_all = official_scores(KeywordReader(), [article], threshold=1.0)
    assert answered_all["at_threshold"]["has_answer_exact"] == 100.0  # the span is the gold answer
    assert answered_all["at_threshold"]["no_answer_accuracy"] == 0.0  # answered an unanswerable one
    assert answered_all["per_article"]["Castle"]["n"] == 2
    refused_all = official_scores(KeywordReader(), [article], threshold=3.0)  # above every margin
    assert (
        refused_all["at_threshold"]["exact"] == 50.0
        and refused_all["at_threshold"]["answerable_refused"] == 100.0
    )

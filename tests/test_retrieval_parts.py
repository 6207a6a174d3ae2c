"""The parts of hybrid retrieval on their own: reciprocal-rank fusion, MMR and the persistent BM25
index, on small inputs whose right answer can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from rag.config.settings import Settings, default_settings
from rag.questions.evidence import Evidence, previous_sentence, score_sentences
from rag.questions.retrieve import mmr, reciprocal_rank_fusion
from vectorstore.keyword import KeywordIndex


# --- reciprocal-rank fusion ------------------------------------------------------------------------
def test_rrf_scores_are_the_weighted_sum_of_inverse_ranks():
    fused = reciprocal_rank_fusion([[("a", 0.9), ("b", 0.8)], [("b", 7.0), ("c", 3.0)]], [1.0, 1.0], rrf_k=60)
    assert [cid for cid, _ in fused] == ["b", "a", "c"]  # found by both beats first in one
    assert dict(fused) == pytest.approx({"a": 1 / 61, "b": 1 / 62 + 1 / 61, "c": 1 / 62})


def test_rrf_uses_ranks_not_the_raw_scores():
    dense = [("a", 0.99), ("b", 0.10)]
    keyword = [("b", 50.0), ("a", 0.01)]
    rescaled = [("b", 1.0), ("a", 0.9)]
    assert reciprocal_rank_fusion([dense, keyword], [1, 1], 60) == reciprocal_rank_fusion(
        [dense, rescaled], [1, 1], 60
    )


def test_rrf_weights_decide_between_the_rankings():
    dense, keyword = [("d1", 1.0), ("d2", 0.5)], [("k1", 9.0), ("k2", 8.0)]
    assert reciprocal_rank_fusion([dense, keyword], [1.0, 2.0], 60)[0][0] == "k1"
    assert reciprocal_rank_fusion([dense, keyword], [2.0, 1.0], 60)[0][0] == "d1"
    muted = reciprocal_rank_fusion([dense, keyword], [1.0, 0.0], 60)
    assert [cid for cid, _ in muted][:2] == ["d1", "d2"] and dict(muted)["k1"] == 0.0


def test_rrf_ties_keep_the_order_of_the_first_ranking():
    fused = reciprocal_rank_fusion([[("x", 1.0), ("y", 0.5)], [("p", 1.0), ("q", 0.5)]], [1.0, 1.0], 60)
    assert [cid for cid, _ in fused] == ["x", "p", "y", "q"]
    assert fused[0][1] == fused[1][1]


def test_a_larger_rrf_constant_flattens_rank_differences():
    ranking = [[("a", 1.0), ("b", 0.5)]]
    steep, flat = (
        dict(reciprocal_rank_fusion(ranking, [1.0], 1)),
        dict(reciprocal_rank_fusion(ranking, [1.0], 600)),
    )
    assert steep["a"] / steep["b"] > flat["a"] / flat["b"] > 1.0


def test_rrf_of_nothing_is_empty():
    assert reciprocal_rank_fusion([[], []], [1.0, 1.0], 60) == []


# --- maximal marginal relevance --------------------------------------------------------------------
def unit(*rows: list[float]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


# Two near-duplicates (0 and 1) that are the most relevant, and two distinct, less relevant chunks.
VECTORS = unit([1, 0, 0], [0.99, 0.14, 0], [0, 1, 0], [0, 0, 1])
RELEVANCE = np.array([1.0, 0.95, 0.6, 0.5], dtype=np.float32)


def test_mmr_with_lambda_one_is_the_relevance_order():
    assert mmr(RELEVANCE, VECTORS, k=4, lam=1.0) == [0, 1, 2, 3]


def test_mmr_skips_a_near_duplicate_for_something_new():
    picked = mmr(RELEVANCE, VECTORS, k=2, lam=0.7)
    assert picked == [0, 2]  # 1 is more relevant than 2 but repeats 0
    assert mmr(RELEVANCE, VECTORS, k=4, lam=0.7) == [0, 2, 1, 3]  # deferred, not dropped


def test_mmr_with_lambda_zero_still_starts_with_the_most_relevant():
    picked = mmr(RELEVANCE, VECTORS, k=3, lam=0.0)
    assert picked[0] == 0 and 1 not in picked


def test_mmr_returns_each_candidate_once_even_when_asked_for_more():
    picked = mmr(RELEVANCE, VECTORS, k=10, lam=0.5)
    assert sorted(picked) == [0, 1, 2, 3]


def test_mmr_ties_go_to_the_earlier_candidate():
    same = np.array([0.5, 0.5, 0.5], dtype=np.float32)
    assert mmr(same, unit([1, 0, 0], [0, 1, 0], [0, 0, 1]), k=3, lam=0.7) == [0, 1, 2]


def test_mmr_of_no_candidates_is_empty():
    assert mmr(np.zeros(0, dtype=np.float32), np.zeros((0, 3), dtype=np.float32), k=5, lam=0.7) == []


# --- BM25 (the persistent keyword index) -----------------------------------------------------------
DOCS = {
    "aid-3": "Aid, aid and more aid for the region.",
    "aid-1": "The region received aid.",
    "harris": "Harris announced aid for Guatemala.",
    "weather": "Rain is expected over the weekend.",
}
DATES = {"aid-3": 20230105, "aid-1": 20230610, "harris": 20211201, "weather": 0}


def keyword_index(folder, docs: dict[str, str], dates: dict[str, int] | None = None) -> KeywordIndex:
    """An index with each document as a chunk of a source of the same name."""
    index = KeywordIndex(folder, writer_memory_mb=16, lock_timeout_s=1)
    with index.writing():
        for cid, text in docs.items():
            index.replace_source(cid, [(cid, (dates or {}).get(cid, 0), text)], stamp=cid)
        index.commit()
    index.reload()
    return index


@pytest.fixture
def index(tmp_path) -> KeywordIndex:
    return keyword_index(tmp_path / "kw", DOCS, DATES)


def test_bm25_ranks_by_term_frequency_and_leaves_out_non_matches(index):
    hits = index.search("aid", k=10)
    assert [cid for cid, _ in hits][0] == "aid-3"
    assert "weather" not in dict(hits) and all(score > 0 for _, score in hits)


def test_bm25_rare_terms_weigh_more_than_common_ones(index):
    assert index.search("Harris aid", k=1)[0][0] == "harris"
    assert index.search("Harris", k=1)[0][1] > index.search("aid", k=3)[2][1]  # one hit vs one of three


def test_bm25_prefers_the_shorter_document_at_equal_term_frequency(tmp_path):
    index = keyword_index(
        tmp_path / "kw",
        {"short": "migrants crossed", "long": "migrants crossed " + "the long border river valley town " * 5},
    )
    hits = index.search("migrants", k=2)
    assert [cid for cid, _ in hits] == ["short", "long"] and hits[0][1] > hits[1][1]


def test_bm25_source_and_date_filters_are_pushed_into_the_search(index):
    assert set(dict(index.search("aid", k=10, sources=("aid-1", "harris")))) == {"aid-1", "harris"}
    in_2023 = index.search("aid", k=10, dates=(20230101, 20231231))
    assert set(dict(in_2023)) == {"aid-3", "aid-1"}
    assert index.search("rain weekend", k=10, dates=(1, 99991231)) == []  # undated: never in a date range
    assert len(index.search("aid", k=1)) == 1


def test_bm25_filters_do_not_change_the_ranking(index):
    unfiltered = [cid for cid, _ in index.search("aid", k=10)]
    filtered = [cid for cid, _ in index.search("aid", k=10, sources=tuple(DOCS))]
    assert filtered == unfiltered


def test_bm25_folds_accents_and_stems(tmp_path):
    index = keyword_index(tmp_path / "kw", {"a": "Lopez expands the programme", "b": "nothing relevant here"})
    assert index.search("López expanding programmes", k=2)[0][0] == "a"


def test_a_number_with_separators_is_one_word(tmp_path):
    index = keyword_index(tmp_path / "kw", {"big": "30,000 migrants", "other": "in 000 and 30 ways"})
    assert [cid for cid, _ in index.search("How many, 30,000?", k=5)] == ["big"]


def test_bm25_tied_documents_score_the_same_and_are_both_returned(tmp_path):
    index = keyword_index(tmp_path / "kw", {"one": "border aid", "two": "border aid", "other": "weather"})
    hits = index.search("aid", k=2)
    assert {cid for cid, _ in hits} == {"one", "two"} and hits[0][1] == hits[1][1]


def test_bm25_query_of_stopwords_or_unknown_words_finds_nothing(index):
    assert index.search("what is the", k=5) == []
    assert index.search("zeppelin", k=5) == []


@pytest.mark.parametrize(
    "question", ['"', '"aid', "aid) OR (", "aid AND NOT rain", "text:aid*", "---", "?!", "", "a" * 5000]
)
def test_query_syntax_in_a_question_is_only_words(index, question):
    """Quotes, operators, field prefixes and wildcards are never parsed: no error, and the words in
    them (if any) are searched like any other."""
    found = {cid for cid, _ in index.search(question, k=5)}
    assert found <= set(DOCS) and ("aid" not in question.lower() or "aid-3" in found)


def test_bm25_empty_index_finds_nothing(tmp_path):
    assert keyword_index(tmp_path / "kw", {}).search("aid", k=5) == []


def test_replacing_a_source_drops_its_old_chunks_and_the_ledger_follows_commits(index):
    with index.writing():
        index.replace_source("aid-3", [("aid-3b", 0, "Rain again")], stamp="v2")
        assert index.stamps()["aid-3"] == "aid-3"  # the ledger changes only with the commit
        index.commit()
        index.remove_sources(["harris"])
        index.commit()
    index.reload()
    assert index.chunk_ids() == {"aid-3b", "aid-1", "weather"}
    assert index.stamps() == {"aid-3": "v2", "aid-1": "aid-1", "weather": "weather"}


def test_a_failed_write_leaves_the_index_as_last_committed(index):
    with pytest.raises(RuntimeError), index.writing():
        index.remove_sources(["aid-1"])
        raise RuntimeError("killed mid-write")
    index.reload()
    assert "aid-1" in index.chunk_ids() and "aid-1" in index.stamps()


def test_one_writer_at_a_time_and_a_waiting_writer_gives_up_with_one_line(index, tmp_path):
    from vectorstore.errors import StoreError

    other = KeywordIndex(index.folder, writer_memory_mb=16, lock_timeout_s=0.3)  # as another process would
    with index.writing():
        with other.writing(wait=False) as mine:
            assert mine is False
        with pytest.raises(StoreError, match="another process is writing"):
            with other.writing():
                pass
    with other.writing(wait=False) as mine:
        assert mine is True


# ---------------------------------------------------------------- evidence scoring weights come from settings


class SameVector:
    """Every text the same unit vector: relevance ties, so only the settings' weights separate sentences."""

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), 2)) / np.sqrt(2)


def candidates(*texts: str) -> list[Evidence]:
    return [Evidence("a.txt", "A", None, "c0", i, i + len(t), t, t, 0.0, 0.0, t) for i, t in enumerate(texts)]


def test_evidence_weights_are_the_settings():
    question = "How many migrants crossed the border?"
    plain, numbered = "Migrants crossed the border.", "It happened 300 times."
    default = score_sentences(question, candidates(numbered, plain), SameVector(), default_settings())
    assert default[0].text == plain  # the question's words outweigh the number at the defaults
    bonus = Settings.model_construct(evidence_keyword_weight=0.1, evidence_type_bonus=0.5)
    ranked = score_sentences(question, candidates(plain, numbered), SameVector(), bonus)
    assert ranked[0].text == numbered and ranked[0].score == pytest.approx(1.0 + 0.5)
    assert ranked[1].score == pytest.approx(
        1.0 + 0.1 * 3 / 4
    )  # 'migrants', 'crossed', 'border' of four terms


def test_the_window_looks_back_as_far_as_the_setting():
    text = "Aid was announced in May. That stopped in June."
    start = text.index("That")
    assert previous_sentence(text, start, lookback=400) == "Aid was announced in May. "
    assert previous_sentence(text, start, lookback=0) == ""

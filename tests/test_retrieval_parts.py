"""The parts of hybrid retrieval on their own: reciprocal-rank fusion, MMR and BM25, on small inputs
whose right answer can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from rag.evidence import Evidence, previous_sentence, score_sentences
from rag.retrieve import mmr, reciprocal_rank_fusion
from rag.settings import Settings, default_settings
from vectorstore.keyword import BM25Index, tokenize


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


# --- BM25 ------------------------------------------------------------------------------------------
DOCS = {
    "aid-3": "Aid, aid and more aid for the region.",
    "aid-1": "The region received aid.",
    "harris": "Harris announced aid for Guatemala.",
    "weather": "Rain is expected over the weekend.",
}


@pytest.fixture
def index() -> BM25Index:
    return BM25Index(list(DOCS), list(DOCS.values()))


def test_bm25_ranks_by_term_frequency_and_leaves_out_non_matches(index):
    hits = index.search("aid", k=10)
    assert [cid for cid, _ in hits][0] == "aid-3"
    assert "weather" not in dict(hits) and all(score > 0 for _, score in hits)


def test_bm25_rare_terms_weigh_more_than_common_ones(index):
    assert index.idf(tokenize("Harris")[0]) > index.idf(tokenize("aid")[0])
    assert index.search("Harris aid", k=1)[0][0] == "harris"


def test_bm25_prefers_the_shorter_document_at_equal_term_frequency():
    index = BM25Index(
        ["short", "long"],
        ["migrants crossed", "migrants crossed " + "the long border river valley town " * 5],
    )
    hits = index.search("migrants", k=2)
    assert [cid for cid, _ in hits] == ["short", "long"] and hits[0][1] > hits[1][1]


def test_bm25_mask_filters_and_k_limits(index):
    allowed = np.array([cid != "aid-3" for cid in DOCS])
    hits = index.search("aid", k=10, allowed=allowed)
    assert "aid-3" not in dict(hits) and set(dict(hits)) == {"aid-1", "harris"}
    assert len(index.search("aid", k=1)) == 1


def test_bm25_folds_accents_and_light_stems():
    index = BM25Index(["a", "b"], ["Lopez expands the programme", "nothing relevant here"])
    assert index.search("López expanding programmes", k=2)[0][0] == "a"


def test_bm25_tied_documents_score_the_same_and_are_both_returned():
    index = BM25Index(["one", "two", "other"], ["border aid", "border aid", "weather"])
    hits = index.search("aid", k=2)
    assert {cid for cid, _ in hits} == {"one", "two"} and hits[0][1] == hits[1][1]


def test_bm25_query_of_stopwords_or_unknown_words_finds_nothing(index):
    assert index.search("what is the", k=5) == []
    assert index.search("zeppelin", k=5) == []


def test_bm25_empty_index_finds_nothing():
    assert BM25Index([], []).search("aid", k=5) == []


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

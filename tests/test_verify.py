"""The verifier on hand-made supported and unsupported sentences, with the real MiniLM embedder."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from rag.questions.verify import Passage, Rules, Verifier

PASSAGE = Passage(
    text="Harris recently announced US $310 million in additional aid for the region, which has been hit hard by the coronavirus pandemic and recent hurricanes.",
    context="The Biden administration has said it is determined to improve the rule of law. Harris recently announced US $310 million in additional aid for the region.",
)
TALKS = Passage(
    text="The meeting between López Obrador and Harris came a day after the federal government sent a diplomatic note to the United States."
)


@pytest.fixture(scope="module")
def verifier(models_root):
    from vectorstore.embed import make_embedder

    return Verifier(make_embedder("minilm", model_dir=models_root), rules=Rules.from_settings())


@pytest.mark.model
@pytest.mark.parametrize(
    "claim",
    [
        "Harris announced $310 million in additional aid for the region.",
        "US $310 million in additional aid for the region, hit hard by the pandemic and hurricanes, was announced by Harris.",
        "The region, hit by the pandemic and hurricanes, will get US $310 million in additional aid announced by Harris.",
        "Harris recently announced US $310 million in additional aid for the region.",
    ],
)
def test_supported_sentences_pass(verifier, claim):
    verdict = verifier.check(claim, [PASSAGE])
    assert verdict.supported, verdict.problems


@pytest.mark.model
@pytest.mark.parametrize(
    "claim, problem",
    [
        ("Harris announced $410 million in additional aid for the region.", "number 410"),
        ("Trudeau announced $310 million in additional aid for the region.", "name trudeau"),
        ("Harris did not announce any additional aid for the region.", "negation"),
        ("Harris announced $310 million in additional aid for the region on Tuesday.", "date word tuesday"),
        ("Mexico will build a border wall paid for by remittances.", "words are in the source"),
    ],
)
def test_unsupported_sentences_fail_with_a_reason(verifier, claim, problem):
    verdict = verifier.check(claim, [PASSAGE])
    assert not verdict.supported
    assert any(problem in p for p in verdict.problems), verdict.problems


@pytest.mark.model
def test_claim_combining_two_cited_passages_is_supported(verifier):
    claim = "The meeting between López Obrador and Harris came after Harris announced US $310 million in additional aid for the region."
    assert verifier.supports(claim, [PASSAGE, TALKS])
    assert not verifier.supports(claim, [TALKS])


def test_no_citation_is_never_supported():
    from vectorstore.embed import make_embedder

    verdict = Verifier(make_embedder("hash")).check("Anything at all.", [])
    assert not verdict.supported and verdict.problems == ["no cited passage"]


# --- swaps the verifier must catch (structural checks: the hash embedder is enough) -----------------
@pytest.fixture(scope="module")
def fast_verifier():
    from vectorstore.embed import make_embedder

    return Verifier(make_embedder("hash"))


def problems_of(verifier, claim, text, context="", rules=None):
    checker = verifier if rules is None else Verifier(verifier.embedder, rules=rules)
    return checker.check(claim, [Passage(text=text, context=context or text)]).problems


DEFAULT_RULES = Rules.from_settings()


@pytest.mark.parametrize(
    "claim, text, problem",
    [
        (
            "The modern town hall was rebuilt in 1870.",
            "The medieval town hall was rebuilt in 1870.",
            "'modern' stands where the source says 'medieval'",
        ),
        (
            "The policy was extended in May.",
            "The policy ended in May.",
            "'extended' stands where the source says 'ended'",
        ),
        (
            "Mexico refused to receive the migrants.",
            "Mexico agreed to receive the migrants.",
            "'refused' stands where the source says 'agreed'",
        ),
        (
            "The long treaty was signed by wealthy rival northern cities, towns, ports and guilds of the coast in 1410.",
            "The long treaty was signed by the cities, towns, ports and guilds of the coast in 1410.",
            "words not in the source: northern, rival, wealthy",
        ),
        ("Globex promised the loan to Acme.", "Acme promised the loan to Globex.", "roles swapped"),
        (
            "The village was attacked by Wolfram, who carried off the children with Brandt in pursuit.",
            "The village was attacked by Brandt, who carried off the children with Wolfram in pursuit.",
            "roles swapped: wolfram stands where the source has brandt",
        ),
        ("The bridge was finished in 1932.", "The bridge was not finished in 1932.", "negation is dropped"),
        (
            "The bridge was not finished in 1932.",
            "The bridge was finished in 1932.",
            "negation not in the source",
        ),
    ],
)
def test_swaps_fail_with_a_reason(fast_verifier, claim, text, problem):
    problems = problems_of(fast_verifier, claim, text)
    assert any(problem in p for p in problems), problems


def test_wrong_entity_from_the_chunk_fails_unless_a_pronoun_refers_back(fast_verifier):
    context = "Acme and Globex met on Friday. The company announced a merger on Monday. She announced a merger on Monday."
    wrong = problems_of(
        fast_verifier,
        "Globex announced a merger on Monday.",
        "The company announced a merger on Monday.",
        context,
    )
    assert any("globex is not in the cited sentence" in p for p in wrong), wrong
    resolved = "Maria Lopez ran Acme. She announced a merger on Monday."
    assert (
        problems_of(
            fast_verifier,
            "Maria Lopez announced a merger on Monday.",
            "She announced a merger on Monday.",
            resolved,
        )
        == []
    )
    never = dataclasses.replace(DEFAULT_RULES, names_from_context="never")
    assert problems_of(
        fast_verifier,
        "Maria Lopez announced a merger on Monday.",
        "She announced a merger on Monday.",
        resolved,
        never,
    )


@pytest.mark.parametrize(
    "claim, text",
    [
        (
            "Smith was elected by Jones as chair.",
            "Jones elected Smith as chair.",
        ),  # passive: order flips with 'by'
        (
            "Jara, the governor of Oaxaca, announced the decision.",
            "Oaxaca Governor Jara announced the decision.",
        ),  # apposition
        (
            "The castle was rebuilt in 1870.",
            "The medieval castle, a popular attraction, was rebuilt in 1870.",
        ),  # trimmed
        (
            "Apple released the iPod Nano in September.",
            "In September, Apple released the iPod Nano.",
        ),  # reordered
    ],
)
def test_paraphrases_that_keep_the_facts_pass(fast_verifier, claim, text):
    assert problems_of(fast_verifier, claim, text) == []


def test_passive_rewrite_fails_only_under_the_strict_order_rule(fast_verifier):
    strict = dataclasses.replace(DEFAULT_RULES, role_order="strict")
    assert problems_of(fast_verifier, "Smith was elected by Jones.", "Jones elected Smith.", rules=strict)
    passive = dataclasses.replace(DEFAULT_RULES, role_order="passive")
    assert (
        problems_of(fast_verifier, "Smith was elected by Jones.", "Jones elected Smith.", rules=passive) == []
    )


def test_names_in_a_list_are_not_taken_for_a_swap(fast_verifier):
    text = (
        "The game will be released in Europe on March 4; in Australia on March 5; and in Japan on March 10."
    )
    assert problems_of(fast_verifier, text, text) == []


# --- the pair generator --------------------------------------------------------------------------------
def answerable(qid: str, question: str, answer: str, start: int) -> dict:
    """A SQuAD 2.0 question with one answer, in the official JSON shape."""
    return {
        "id": qid,
        "question": question,
        "answers": [{"text": answer, "answer_start": start}],
        "is_impossible": False,
    }


TINY_SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "Tiny",
            "paragraphs": [
                {
                    "context": (
                        "Acme Corporation was founded in 1901 by John Smith in Boston. In 1950, Smith sold the company "
                        "to Globex Industries for 40 million dollars. The medieval castle near Boston was rebuilt in 1870 "
                        "and is a popular attraction, drawing visitors from Chicago. Its modern wing, which cost 300 million "
                        "dollars, was added in 1925."
                    ),
                    "qas": [
                        answerable("q1", "When was Acme founded?", "1901", 32),
                        answerable("q2", "Who bought the company?", "Globex Industries", 98),
                        answerable("q3", "For how much?", "300 million dollars", 290),
                        answerable("q4", "What was rebuilt?", "castle", 156),
                        {
                            "id": "q5",
                            "question": "Who founded Globex?",
                            "answers": [],
                            "plausible_answers": [{"text": "John Smith", "answer_start": 46}],
                            "is_impossible": True,
                        },
                    ],
                }
            ],
        }
    ],
}


@pytest.fixture
def tiny_pairs(tmp_path):
    from eval.squad import load_squad
    from fit.support_pairs import build_pairs

    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY_SQUAD), encoding="utf-8")
    return lambda: build_pairs(load_squad(path))


def test_pair_generator_is_deterministic_and_its_negatives_differ(tiny_pairs):
    rows = tiny_pairs()
    assert rows == tiny_pairs()
    kinds = {r["kind"] for r in rows}
    assert {
        "verbatim",
        "wrong_date",
        "wrong_entity",
        "wrong_number",
        "swapped_actor",
        "substituted_modifier",
        "negation",
    } <= kinds
    for r in rows:
        assert r["article"] == "Tiny" and r["passage"] in r["context"]
        assert r["supported"] == (r["kind"] in {"verbatim", "partial"})
        assert (r["sentence"] == r["passage"]) == (r["kind"] == "verbatim"), r
    swap = next(r for r in rows if r["kind"] == "wrong_date")
    assert "1901" not in swap["sentence"] and re.search(r"\b(1950|1870|1925)\b", swap["sentence"])


def test_generated_negatives_fail_the_verifier(tiny_pairs, fast_verifier):
    for r in tiny_pairs():
        verdict = fast_verifier.check(r["sentence"], [Passage(text=r["passage"], context=r["context"])])
        if not r["supported"]:
            assert not verdict.supported, r


def test_substitution_check_survives_tokens_that_fold_to_nothing():
    """A lone apostrophe or "'s" folds to an empty word; it once crashed the check mid-answer."""
    from rag.textfacts import substituted_words

    claim = "Harris ' said the region's aid is ’ new."
    assert substituted_words(claim, "Harris ' announced the region's aid ’ today.", ["new"]) == [
        ("new", "today")
    ]


class CountingEmbedder:
    """Embeds a text as [its length, 1] and records every text it was asked for."""

    name, dim = "counting", 2

    def __init__(self):
        self.seen: list[str] = []

    def embed(self, texts):
        import numpy as np

        self.seen += texts
        return np.array([[len(t), 1.0] for t in texts])


def test_memo_embedder_embeds_each_text_once():
    """Briefings and calibration check many claims against the same passages: each text is embedded once."""
    from rag.questions.verify import MemoEmbedder

    inner = CountingEmbedder()
    memo = MemoEmbedder(inner)
    first = memo.embed(["a", "bb", "a"])
    second = memo.embed(["bb", "ccc"])
    assert inner.seen == ["a", "bb", "ccc"]
    assert first.tolist() == [[1, 1], [2, 1], [1, 1]] and second.tolist() == [[2, 1], [3, 1]]
    assert (memo.name, memo.dim) == ("counting", 2)


def test_memo_embedder_with_a_limit_forgets_the_least_recently_used():
    """A desk's sentence memo is bounded: beyond the limit the vector used longest ago goes first,
    and a forgotten text is embedded again, with the same vector."""
    from rag.questions.verify import MemoEmbedder

    inner = CountingEmbedder()
    memo = MemoEmbedder(inner, limit=2)
    memo.embed(["a", "bb"])
    memo.embed(["a"])  # "a" is now the most recently used
    memo.embed(["ccc"])  # over the limit: "bb" goes
    assert list(memo.vectors) == ["a", "ccc"]
    assert memo.embed(["bb", "a"]).tolist() == [[2, 1], [1, 1]]
    assert inner.seen == ["a", "bb", "ccc", "bb"]

"""The verifier on hand-made supported and unsupported sentences, with the real MiniLM embedder."""

from __future__ import annotations

import pytest

from rag.settings import Settings
from rag.verify import Passage, Verifier

PASSAGE = Passage(
    text="Harris recently announced US $310 million in additional aid for the region, which has been hit hard by the coronavirus pandemic and recent hurricanes.",
    context="The Biden administration has said it is determined to improve the rule of law. Harris recently announced US $310 million in additional aid for the region.",
)
TALKS = Passage(text="The meeting between López Obrador and Harris came a day after the federal government sent a diplomatic note to the United States.")


@pytest.fixture(scope="module")
def verifier(models_root):
    from vectorstore.embed import make_embedder

    return Verifier(make_embedder("minilm", model_dir=models_root), Settings.model_fields["support_threshold"].default)


@pytest.mark.model
@pytest.mark.parametrize("claim", [
    "Harris announced $310 million in additional aid for the region.",
    "The region, hit by the pandemic and hurricanes, will get US $310 million in additional aid announced by Harris.",
    "Harris recently announced US $310 million in additional aid for the region.",
])
def test_supported_sentences_pass(verifier, claim):
    verdict = verifier.check(claim, [PASSAGE])
    assert verdict.supported, verdict.problems


@pytest.mark.model
@pytest.mark.parametrize("claim, problem", [
    ("Harris announced $410 million in additional aid for the region.", "number 410"),
    ("Trudeau announced $310 million in additional aid for the region.", "name trudeau"),
    ("Harris did not announce any additional aid for the region.", "negation"),
    ("Harris announced $310 million in additional aid for the region on Tuesday.", "date word tuesday"),
    ("Mexico will build a border wall paid for by remittances.", "words are in the source"),
])
def test_unsupported_sentences_fail_with_a_reason(verifier, claim, problem):
    verdict = verifier.check(claim, [PASSAGE])
    assert not verdict.supported
    assert any(problem in p for p in verdict.problems), verdict.problems


@pytest.mark.model
def test_claim_combining_two_cited_passages_is_supported(verifier):
    claim = "Harris, who met López Obrador, recently announced US $310 million in additional aid for the region."
    assert verifier.supports(claim, [PASSAGE, TALKS])
    assert not verifier.supports(claim, [TALKS])


def test_no_citation_is_never_supported():
    from vectorstore.embed import make_embedder

    verdict = Verifier(make_embedder("hash"), 0.5).check("Anything at all.", [])
    assert not verdict.supported and verdict.problems == ["no cited passage"]

"""The briefing rewriter: every draft logged with its reason, copies not counted as rewrites, calls
capped, a model that keeps failing not asked again, a long draft cut off early.

Invented sentences (not from the seed articles); a scripted model stands in for the LLM."""

from __future__ import annotations

from rag.briefings.briefing_rewrite import Rewriter
from rag.store.desk import Desk
from tests.fakes import ScriptedLLM

LONG = (
    "The port authority said on Monday that container traffic at the eastern terminal rose 12% in May to 80,000 boxes "
    "from 71,000 boxes a year earlier and that two new shipping lines from three Asian ports began calling at the "
    "deep-water berths in the same month."
)
SHORT_DRAFT = "The port authority said on Monday that container traffic at the eastern terminal rose 12% in May to 80,000 boxes."


def rewriter(make_settings, llm, **overrides) -> Rewriter:
    desk = Desk(make_settings(**overrides))
    desk.llm = llm
    return Rewriter(desk, desk.verifier)


def test_a_faithful_shortening_is_kept_and_logged(make_settings):
    r = rewriter(make_settings, ScriptedLLM(SHORT_DRAFT))
    line = r.point(LONG, "", None)
    assert line.rewritten and line.text == SHORT_DRAFT
    stats = r.stats.to_json()
    assert stats["points"] == {"attempted": 1, "kept": 1} and stats["llm_calls"] == 1 and stats["tokens"] > 0
    assert stats["log"][0]["reason"] is None


def test_a_copy_or_an_invention_is_rejected_with_its_reason(make_settings):
    r = rewriter(
        make_settings,
        ScriptedLLM(LONG, "The port authority said traffic fell 40% after a strike closed the harbour."),
    )
    assert not r.point(LONG, "", None).rewritten
    assert not r.point(LONG.replace("Monday", "Tuesday"), "", None).rewritten
    reasons = [a["reason"] for a in r.stats.attempts]
    assert "longer than" in reasons[0]  # the copy was cut off as soon as it ran past the word limit
    assert reasons[1] and r.stats.kept == 0


def test_a_model_that_keeps_failing_is_not_asked_again(make_settings):
    llm = ScriptedLLM("Nothing to do with it at all, really not.")
    r = rewriter(make_settings, llm, summary_rewrite_patience=2)
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday"):
        r.point(LONG.replace("Monday", day), "", None)
    assert len(llm.prompts) == 2 and r.stats.attempted == 2


def test_calls_are_capped(make_settings):
    llm = ScriptedLLM(SHORT_DRAFT)
    r = rewriter(make_settings, llm, summary_max_rewrites=1)
    r.point(LONG, "", None)
    r.point(LONG.replace("Monday", "Friday"), "", None)
    assert len(llm.prompts) == 1


CONTEXT = "Harbour master Lena Okafor inspected the new cranes on Monday."
PRONOUN_SENTENCE = (
    "She said the cranes would let the port handle 20% more containers, once the dredging of the channel, "
    "delayed twice by storms and a lawsuit from fishermen, is finished next spring by the contractor."
)
RESOLVED = "Lena Okafor said the cranes would let the port handle 20% more containers."


def test_a_pronoun_may_become_the_only_person_named_before(make_settings):
    r = rewriter(make_settings, ScriptedLLM(RESOLVED))
    line = r.point(PRONOUN_SENTENCE, CONTEXT, None, ("Lena Okafor",))
    # the model is shown the sentence before only when it must name someone
    assert "Before: " + CONTEXT in r.llm.prompts[0]
    assert line.rewritten, r.stats.attempts


def test_a_pronoun_is_not_resolved_to_one_of_several_people(make_settings):
    context = CONTEXT + " Mayor Tom Ellis had opposed the dredging."
    r = rewriter(make_settings, ScriptedLLM(RESOLVED))
    line = r.point(PRONOUN_SENTENCE, context, None, ("Lena Okafor", "Tom Ellis"))
    assert not line.rewritten and "okafor" in r.stats.attempts[0]["reason"].lower()


def test_no_call_when_only_an_unresolvable_pronoun_is_wrong(make_settings):
    llm = ScriptedLLM(RESOLVED)
    r = rewriter(make_settings, llm)
    assert r.point("She said the cranes would arrive in May.", CONTEXT, None, ()).text.startswith("She said")
    assert not llm.prompts


def test_no_call_past_the_time_budget(make_settings):
    llm = ScriptedLLM(SHORT_DRAFT)
    r = rewriter(make_settings, llm, summary_rewrite_budget_s=0)
    assert not r.point(LONG, "", None).rewritten and not llm.prompts

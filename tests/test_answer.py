"""The answer pipeline's logic around the reader and the LLM: short answers, verification, repair,
renumbering, refusal, filters.

Runs on the hash embedder with a scripted reader and scripted LLM replies, so every expectation is
deterministic (the real reader and LLM are tested in test_model.py and test_reader.py).
"""

from __future__ import annotations

import json
import re

import pytest

from fakes import FailingLLM, RuleRefusal, ScriptedLLM, ScriptedReader
from rag.errors import BackendTimeout, BackendUnavailable, BriefError
from rag.questions.answer import WITHHELD_NOTE, Answerer, DraftToken, FinalAnswer, check_question, read_batch
from rag.questions.claims import parse_claims, render
from rag.questions.reading import found_in
from rag.questions.retrieve import Scope

AID_Q = "How much additional aid did Harris announce for the region?"
AID_SOURCE = "003_ab779828a3a3face.txt"
URGE_Q = "What did López Obrador urge the U.S. to provide?"
READS = {
    "additional aid": "US $310 million",
    "urge the u.s.": "López Obrador urged",
    "present to biden": "November",
}


def answerer_with(desk, llm, reader=None) -> Answerer:
    desk.llm = llm  # replaces the cached backends with the fakes
    desk.reader = reader or ScriptedReader(READS)
    return Answerer(desk)


def assert_contract(answer, desk):
    """Every [n] has a citation, every citation is used, quotes are exact source text."""
    used = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    assert used == {c.n for c in answer.citations}
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    texts = {r.source: r.text for r in desk.store.list_sources(with_text=True)}
    for c in answer.citations:
        assert texts[c.source][c.start : c.end] == c.quote


def test_supported_sentence_keeps_its_citation(fake_desk):
    llm = ScriptedLLM("Harris recently announced US $310 million in additional aid for the region [1].")
    answer = answerer_with(fake_desk, llm).ask(AID_Q)
    assert not answer.refused and answer.answer_kind == "generated"
    assert answer.short_answer == "US $310 million" and answer.short_answer_cites == [1]
    assert answer.answer.startswith("US $310 million [1]. Harris recently announced")
    assert answer.citations[0].source == AID_SOURCE and "$310 million" in answer.citations[0].quote
    assert answer.to_json()["short_answer"] == "US $310 million"
    assert_contract(answer, fake_desk)
    assert "Evidence:" in llm.prompts[0] and AID_Q in llm.prompts[0]
    assert (
        "[1] Harris recently announced US $310 million" in llm.prompts[0]
    )  # the sentence holding the answer comes first


def test_unsupported_sentence_is_dropped(fake_desk):
    llm = ScriptedLLM(
        "Harris recently announced US $310 million in additional aid for the region [1]. Harris also promised $900 million to Canada for new border walls [1]."
    )
    answer = answerer_with(fake_desk, llm).ask(AID_Q)
    assert "$310 million" in answer.answer
    assert "900" not in answer.answer and "Canada" not in answer.answer
    assert_contract(answer, fake_desk)


def test_citation_pointing_nowhere_is_replaced_by_the_supporting_one(fake_desk):
    llm = ScriptedLLM("Harris recently announced US $310 million in additional aid for the region [9].")
    answer = answerer_with(fake_desk, llm).ask(AID_Q)
    assert "[9]" not in answer.answer
    assert answer.citations and answer.citations[0].source == AID_SOURCE
    assert_contract(answer, fake_desk)


def test_uncited_supported_sentence_gets_a_citation(fake_desk):
    llm = ScriptedLLM("Harris recently announced US $310 million in additional aid for the region.")
    answer = answerer_with(fake_desk, llm).ask(AID_Q)
    assert answer.answer.endswith("[1].")
    assert answer.citations[0].source == AID_SOURCE


def test_invented_answer_falls_back_to_extractive_quote(fake_desk):
    llm = ScriptedLLM("The European Union pledged 45 billion euros to Norway [2].")
    answer = answerer_with(fake_desk, llm).ask(AID_Q)
    assert answer.answer_kind == "extractive" and not answer.refused
    assert "Norway" not in answer.answer
    assert answer.answer.startswith("US $310 million [1]. \u201cHarris recently announced US $310 million")
    assert_contract(answer, fake_desk)


# --- streaming ---------------------------------------------------------------------------------------
def without_timings(answer):
    """An answer's content: two runs differ only in how long their stages took."""
    return {**answer.to_json(), "timings_ms": None, "draft": answer.draft, "evidence": answer.evidence}


def test_stream_yields_the_draft_tokens_then_one_final_answer_equal_to_ask(fake_desk):
    reply = "Harris recently announced US $310 million in additional aid for the region [1]."
    events = list(answerer_with(fake_desk, ScriptedLLM(reply)).stream(AID_Q))
    *drafts, last = events
    assert drafts and all(isinstance(e, DraftToken) for e in drafts)
    assert isinstance(last, FinalAnswer)
    assert "".join(e.text for e in drafts).strip() == reply == last.answer.draft

    asked = answerer_with(fake_desk, ScriptedLLM(reply)).ask(AID_Q)
    assert without_timings(last.answer) == without_timings(asked)
    assert set(last.answer.timings_ms) == {"condense", "retrieve", "read", "generate", "verify"}


def test_ask_passes_the_streamed_tokens_to_on_token(fake_desk):
    reply = "Harris recently announced US $310 million in additional aid for the region [1]."
    seen: list[str] = []
    answer = answerer_with(fake_desk, ScriptedLLM(reply)).ask(AID_Q, on_token=seen.append)
    assert "".join(seen).strip() == reply and answer.answer_kind == "generated"


def test_a_refusal_streams_no_tokens_only_the_answer(fake_desk):
    events = list(
        answerer_with(fake_desk, ScriptedLLM("unused")).stream(
            "What is the price of bitcoin on the Tokyo exchange?"
        )
    )
    assert len(events) == 1 and isinstance(events[0], FinalAnswer) and events[0].answer.refused


def test_a_timeout_mid_stream_keeps_the_tokens_and_puts_the_warning_in_the_final_answer(fake_desk):
    llm = FailingLLM(BackendTimeout("LLM server at http://x did not answer in time"), tokens_first=3)
    *drafts, last = answerer_with(fake_desk, llm).stream(AID_Q)
    assert [e.text.strip() for e in drafts] == ["word0", "word1", "word2"]
    assert "did not answer in time" in last.answer.warning and last.answer.answer_kind == "extractive"


class ClosingLLM(ScriptedLLM):
    """Records whether its token stream was closed before the end, and how many tokens it wrote."""

    closed_early = False
    written = 0

    def stream(self, prompt: str, max_tokens: int, stop: list[str]):
        finished = False
        try:
            for token in super().stream(prompt, max_tokens, stop):
                self.written += 1
                yield token
            finished = True
        finally:
            self.closed_early = not finished


def test_a_reader_who_stops_reading_stops_the_llm(fake_desk):
    """LangChain reads a closed stream to its end: the LLM must not go on writing for nobody."""
    llm = ClosingLLM("Harris recently announced US $310 million in additional aid for the region [1].")
    events = answerer_with(fake_desk, llm).stream(AID_Q)
    assert isinstance(next(events), DraftToken)
    events.close()
    assert llm.closed_early and llm.written <= 2


def test_bad_questions_fail_before_the_stream_yields_anything(fake_desk):
    with pytest.raises(BriefError, match="empty"):
        next(answerer_with(fake_desk, ScriptedLLM("unused")).stream("   "))


def test_states_checks_the_short_answer_ignoring_case_accents_and_spacing():
    from rag.questions.answer import states

    assert states("Lopez  Obrador met BIDEN.", "López Obrador")
    assert not states("The region was hit by hurricanes.", "US $310 million")


def test_off_topic_question_is_refused_without_calling_the_llm(fake_desk):
    llm = ScriptedLLM("Bitcoin costs 5 million yen in Tokyo [1].")
    reader = ScriptedReader(READS)
    answer = answerer_with(fake_desk, llm, reader).ask("What is the price of bitcoin on the Tokyo exchange?")
    assert answer.refused and answer.citations == [] and answer.answer_kind == "refused"
    assert "do not say" in answer.answer and answer.short_answer is None
    assert llm.prompts == []  # refused before any LLM call: "Tokyo" is in no evidence
    assert fake_desk.refusal_model.judged[-1]["salient_coverage"] < 1.0


def test_a_refused_question_shows_its_closest_passages_verbatim_and_not_as_citations(fake_desk):
    reader = ScriptedReader(READS)
    answer = answerer_with(fake_desk, ScriptedLLM("x"), reader).ask(
        "What is the price of bitcoin on the Tokyo exchange?"
    )
    data = answer.to_json()
    assert data["refused"] and data["citations"] == []  # still a refusal, for the eval too
    closest = data["closest"]
    assert 1 <= len(closest) <= fake_desk.settings.refusal_closest_passages
    assert [c["n"] for c in closest] == list(range(1, len(closest) + 1))
    texts = {n: r.text for n, r in fake_desk.source_records(c["source"] for c in closest).items()}
    for c in closest:
        assert texts[c["source"]][c["start"] : c["end"]] == c["quote"]  # verbatim, located
    assert len({c["quote"] for c in closest}) == len(closest)
    assert "not an answer" in answer.to_text() and closest[0]["quote"] in answer.to_text()


def test_closest_passages_can_be_switched_off(fake_desk):
    fake_desk.settings = fake_desk.settings.model_copy(update={"refusal_closest_passages": 0})
    answer = answerer_with(fake_desk, ScriptedLLM("x"), ScriptedReader(READS)).ask(
        "What is the price of bitcoin on the Tokyo exchange?"
    )
    assert answer.refused and answer.to_json()["closest"] == []
    assert "not an answer" not in answer.to_text()


def test_the_reader_reads_the_best_evidence_windows(fake_desk):
    reader = ScriptedReader(READS)
    answer = answerer_with(fake_desk, ScriptedLLM("NOT FOUND"), reader).ask(AID_Q)
    question, passages = reader.reads[0]
    assert question == AID_Q and passages == [
        e.window for e in answer.evidence[: fake_desk.settings.reader_passages]
    ]


def test_not_found_from_a_small_llm_is_overruled_by_the_reader(fake_desk):
    """A 270M model says NOT FOUND too often; when the reader found the answer, its sentence is quoted."""
    answer = answerer_with(fake_desk, ScriptedLLM("NOT FOUND")).ask(AID_Q)
    assert answer.answer_kind == "extractive" and answer.short_answer == "US $310 million"
    assert all(c.quote.strip() in answer.answer for c in answer.citations)


def test_span_in_the_sentence_before_cites_that_sentence(fake_desk):
    from rag.questions.evidence import Evidence

    text = fake_desk.source_records([AID_SOURCE])[AID_SOURCE].text
    second = text.index("Harris recently announced")
    first = text.rindex(".", 0, second - 2) + 2
    e = Evidence(AID_SOURCE, "t", None, "c", second, text.index(".", second) + 1, "", "", 0.5, 0.5)
    e.text, e.window = text[e.start : e.end], text[first : e.end]
    before = found_in(e, 0, 5)
    assert (
        before.carrier.text == text[before.carrier.start : before.carrier.end] == text[first:second].rstrip()
    )
    inside = found_in(e, len(e.window) - len(e.text), len(e.window) - len(e.text) + 6)
    assert inside.carrier is e and inside.short == "Harris"


def test_source_filter_limits_citations(fake_desk):
    llm = ScriptedLLM("López Obrador urged the U.S. to provide visas [1].")
    scope = Scope.parse(sources=["001_144ff8e1c6f8de48.txt"])
    answer = answerer_with(fake_desk, llm).ask(URGE_Q, scope=scope)
    assert answer.retrieved_sources == ["001_144ff8e1c6f8de48.txt"]
    assert answer.citations and {c.source for c in answer.citations} == {"001_144ff8e1c6f8de48.txt"}


def test_date_filter_excludes_undated_and_out_of_range(fake_desk):
    llm = ScriptedLLM("NOT FOUND")
    asker = answerer_with(fake_desk, llm)
    dated = asker.ask(
        "What will López Obrador present to Biden in November?",
        scope=Scope.parse(since="2023-09-01", until="2023-12-31"),
    )
    assert set(dated.retrieved_sources) == {"000_df1640d7f614f3c2.txt"}  # the only article dated in range
    none = asker.ask(AID_Q, scope=Scope.parse(until="2020-01-01"))
    assert none.refused and none.retrieved_sources == []


def test_bad_scope_dates_are_clear_errors():
    with pytest.raises(BriefError, match="not a date"):
        Scope.parse(since="last week")
    with pytest.raises(BriefError, match="after"):
        Scope.parse(since="2024-02-01", until="2024-01-01")


@pytest.mark.parametrize(
    "question, message", [("", "empty"), ("   ", "empty"), ("?!...", "no words"), ("why " * 3000, "limit")]
)
def test_bad_questions_are_clear_errors(question, message):
    with pytest.raises(BriefError, match=message):
        check_question(question)


def test_parse_claims_drops_markers_that_point_nowhere():
    claims = parse_claims(
        "Mexico agreed to help [1][4]. It will take 30,000 migrants a month [2].", n_evidence=2
    )
    assert [c.cites for c in claims] == [[0], [1]]
    assert claims[0].text == "Mexico agreed to help."


def test_render_numbers_citations_in_order_of_first_use(fake_desk):
    from rag.questions.answer import Claim
    from rag.questions.evidence import Evidence

    ev = [
        Evidence("s.txt", "t", None, f"c{i}", i * 10, i * 10 + 5, f"quote{i}", "", 0.9, 0.9) for i in range(4)
    ]
    text, citations = render([Claim("First claim.", [3]), Claim("Second claim", [1, 3])], ev)
    assert text == "First claim [1]. Second claim [2][1]."
    assert [(c.n, c.quote) for c in citations] == [(1, "quote3"), (2, "quote1")]


def test_follow_up_is_condensed_with_history(fake_desk):
    fake_desk.settings = fake_desk.settings.model_copy(update={"llm_condense": "always"})
    llm = ScriptedLLM(
        "How much additional aid did Harris announce for the region?",
        "Harris recently announced US $310 million in additional aid for the region [1].",
    )
    answer = answerer_with(fake_desk, llm).ask(
        "And how much aid was that?", history=["What did Harris announce for the region?"]
    )
    assert answer.standalone_question == AID_Q
    assert "Conversation:" in llm.prompts[0]
    assert "$310 million" in answer.answer


def test_the_embedded_model_does_not_condense_by_default(fake_desk):
    """llm_condense=auto: only server LLMs rewrite follow-ups; the embedded one's rewrites answered
    fewer public follow-ups than the follow-up asked beside the previous question (README)."""
    follow_up, previous = "And how much aid was that?", ["What did Harris announce for the region?"]
    for backend, asks_the_llm in (("llamacpp", False), ("openai", True)):
        fake_desk.settings = fake_desk.settings.model_copy(update={"llm_backend": backend})
        llm = ScriptedLLM(AID_Q)
        standalone = answerer_with(fake_desk, llm).condense(follow_up, previous)
        assert bool(llm.prompts) == asks_the_llm
        assert standalone == (AID_Q if asks_the_llm else f"{follow_up} ({previous[0]})")


def test_llm_timeout_mid_answer_gives_extractive_answer_with_warning(fake_desk):
    llm = FailingLLM(BackendTimeout("LLM server at http://x did not answer in time"), tokens_first=3)
    answer = answerer_with(fake_desk, llm).ask(AID_Q)
    assert answer.answer_kind == "extractive" and answer.short_answer == "US $310 million"
    assert "did not answer in time" in answer.warning
    assert "warning" in answer.to_json()


def test_unreachable_llm_before_any_token_is_a_clear_error(fake_desk):
    llm = FailingLLM(
        BackendUnavailable(
            "cannot reach the LLM server at http://127.0.0.1:9",
            fix="start the server or fix BRIEF_LLM_BASE_URL",
        )
    )
    with pytest.raises(BriefError, match="BRIEF_LLM_BASE_URL"):
        answerer_with(fake_desk, llm).ask(AID_Q)


def test_extractive_backend_answers_from_quotes(make_settings, seeds_dir):
    from rag.store.desk import Desk

    desk = Desk(make_settings(llm_backend="extractive"))
    desk.ingest([seeds_dir])
    desk.reader, desk.refusal_model = ScriptedReader(READS), RuleRefusal()
    answer = Answerer(desk).ask(AID_Q)
    assert answer.answer_kind == "extractive" and answer.backend == "extractive"
    assert answer.answer.startswith("US $310 million [1]. \u201c")


def test_read_batch_names_the_bad_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "a", "question": "x?"}) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(BriefError, match=r"q.jsonl:2"):
        read_batch(path)
    path.write_text(json.dumps({"id": "a"}) + "\n", encoding="utf-8")
    with pytest.raises(BriefError, match="question"):
        read_batch(path)


def test_backend_switch_only_to_configured_backends(make_settings):
    from rag.store.desk import Desk

    desk = Desk(make_settings(llm_backend="extractive"))
    assert desk.backend_choices() == ["llamacpp", "extractive"]
    with pytest.raises(BriefError, match="BRIEF_LLM_BASE_URL"):
        desk.switch_backend("openai")
    served = Desk(make_settings(llm_backend="extractive", llm_base_url="http://127.0.0.1:9/v1"))
    assert served.switch_backend("openai") == "openai:default" and served.settings.llm_backend == "openai"


def test_warm_up_loads_the_llm_and_catches_the_keyword_index_up_before_any_question(fake_desk):
    fake_desk.llm = ScriptedLLM("unused")
    fake_desk.warm_up()
    store = fake_desk.store
    assert fake_desk.llm.warmed
    assert store.keyword.synced_revision() == store.revision() == store._seen_revision


def test_a_failing_warm_up_is_one_line_not_a_traceback(fake_desk, capsys):
    from ui.app import warm_up_quietly

    class BrokenLLM(ScriptedLLM):
        def warm_up(self):
            raise BackendUnavailable("no GGUF model at /nowhere", fix="set BRIEF_LLM_MODEL")

    fake_desk.llm = BrokenLLM("unused")
    warm_up_quietly(fake_desk)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no GGUF model" in err and "Traceback" not in err


def test_salient_coverage_sees_a_near_miss_name_or_number():
    from rag.questions.reading import salient_coverage

    text = "Harris announced US $310 million in additional aid for the region in March."
    assert salient_coverage("How much aid did Harris announce for the region?", text) == 1.0
    assert (
        salient_coverage("How much aid did Harris announce for Haiti?", text) == 0.5
    )  # Harris yes, Haiti no
    assert salient_coverage("What did Harris announce in 2024?", text) == 0.5
    assert salient_coverage("what was announced?", text) == 1.0  # nothing salient to miss


def test_an_uncertain_span_is_answered_with_the_cited_sentence_alone(fake_desk):
    llm = ScriptedLLM("Harris recently announced US $310 million in additional aid for the region [1].")
    fake_desk.refusal_model = RuleRefusal(withhold=True)
    answer = answerer_with(fake_desk, llm).ask(AID_Q)
    assert (
        not answer.refused and answer.answer_kind == "extractive" and llm.prompts == []
    )  # no draft asked for
    assert answer.short_answer is None and answer.short_answer_withheld
    assert answer.answer.startswith("\u201c") and answer.answer.endswith("[1].")
    assert "US $310 million" in answer.citations[0].quote
    shown = answer.to_json()
    assert shown["short_answer"] is None and shown["short_answer_withheld"] is True
    assert answer.to_text().startswith(WITHHELD_NOTE)
    assert_contract(answer, fake_desk)


def test_the_refusal_models_probabilities_travel_with_the_answer(fake_desk):
    answer = answerer_with(fake_desk, ScriptedLLM("NOT FOUND")).ask(AID_Q)
    assert answer.to_json()["confidence"] == {"answerable": 1.0, "short_answer": 1.0}
    refused = answerer_with(fake_desk, ScriptedLLM("x")).ask(
        "What is the price of bitcoin on the Tokyo exchange?"
    )
    assert refused.to_json()["confidence"]["answerable"] == 0.0


@pytest.mark.parametrize(
    "backend, mode, writes",
    [
        ("llamacpp", "auto", False),
        ("extractive", "auto", False),
        ("openai", "auto", True),
        ("ollama", "auto", True),
        ("llamacpp", "always", True),
        ("openai", "never", False),
    ],
)
def test_who_writes_the_supporting_sentence(make_settings, backend, mode, writes):
    from rag.store.desk import Desk

    settings = make_settings(llm_backend=backend, llm_sentence=mode, llm_base_url="http://127.0.0.1:9/v1")
    assert Answerer(Desk(settings)).writes_sentences() is writes


def test_the_answer_path_ranks_evidence_with_the_users_evidence_settings(fake_desk):
    """The evidence_* settings reach the answer path (it once ranked with the defaults whatever the
    user set): with the keyword share weighted up, the ranking follows word overlap."""
    answerer = answerer_with(fake_desk, ScriptedLLM(""))
    default_order = [e.text for e in answerer.gather_evidence(AID_Q, Scope())[1]]
    answerer.settings = fake_desk.settings.model_copy(update={"evidence_keyword_weight": 50.0})
    weighted_order = [e.text for e in answerer.gather_evidence(AID_Q, Scope())[1]]
    assert weighted_order != default_order


def test_questions_about_one_collection_embed_its_sentences_once(fake_desk):
    """Evidence selection remembers sentence vectors between questions (evidence_vector_cache)."""
    answerer = Answerer(fake_desk)
    inner = fake_desk.evidence_embedder.inner
    embedded: list[str] = []
    original = inner.embed
    inner.embed = lambda texts: embedded.extend(texts) or original(texts)
    question = "How much additional aid did Harris announce for the region?"
    answerer.gather_evidence(question, Scope())
    first = len(embedded)
    answerer.gather_evidence(question, Scope())
    assert first > 1 and embedded[first:] == [question]  # the second time only the query (retrieval)


def test_the_llm_stops_once_it_has_finished_a_sentence_stating_the_short_answer(fake_desk):
    """Only sentences stating the short answer are kept, so writing on after the first costs time
    for nothing; a sentence that does not state it does not stop the LLM."""
    llm = ScriptedLLM(
        "The region needs help [1]. Harris recently announced US $310 million in additional aid for the "
        "region [1]. She spoke in Guatemala [1]. She spoke again [1]."
    )
    answer = answerer_with(fake_desk, llm).ask(AID_Q)
    assert answer.draft == (
        "The region needs help [1]. Harris recently announced US $310 million in additional aid for the region [1]."
    )
    assert answer.short_answer == "US $310 million" and "Harris recently announced" in answer.answer


def test_finished_sentences_are_those_followed_by_the_next():
    from rag.questions.answer import finished_sentences

    assert finished_sentences("It rose 4% [1]. The") == "It rose 4% [1]."
    assert finished_sentences("It rose 4% [1].") == ""  # the LLM may still add to it
    assert finished_sentences("It rose [1]. Then fell [2]. Wh") == "It rose [1]. Then fell [2]."

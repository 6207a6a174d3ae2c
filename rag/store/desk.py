"""The core services the CLI, the UI and the eval runner share.

Backends are built on first use, so `brief sources` never loads torch and `brief config` opens nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path

from rag.config.settings import Settings
from rag.config.settings_desks import check_desk_name
from rag.errors import BriefError
from rag.models.llm import EMBEDDED_BACKEND, SERVER_BACKENDS
from rag.questions.retrieve import check_date
from rag.store.desk_registry import DeskRegistry, collection_prefix, desk_folder
from rag.store.history import HISTORY_FILE, History
from vectorstore.catalog import read_catalog
from vectorstore.client import embedded_store_readable, open_client
from vectorstore.embed import Embedder, make_embedder
from vectorstore.ingest import IngestOptions, IngestReport, Progress, ingest
from vectorstore.keyword import KeywordIndex
from vectorstore.loaders import FetchedDocument
from vectorstore.store import STATUS_COMPLETE, ChunkStore, SourceRecord, StoreShape, keyword_folder

# The models a desk loads that every desk of a process can share (rag/store/desks.py DeskPool).
SHARED_MODELS = ("embedder", "evidence_embedder", "verifier", "reader", "refusal_model", "span_scorer", "llm")


class Desk:
    """One desk (settings.desk): its own articles, keyword index and history, and the models that
    read them."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._records: dict[str, SourceRecord] = {}  # source_records' cache, for one store revision
        self._records_revision: str | None = None
        self._lock = threading.RLock()

    @property
    def name(self) -> str:
        return self.settings.desk

    def sibling(self, name: str) -> Desk:
        """Another desk with this one's settings and loaded models (the UI switching desks)."""
        other = Desk(self.settings.model_copy(update={"desk": check_desk_name(name)}))
        other.adopt_models(self)
        return other

    def adopt_models(self, source: Desk) -> None:
        """Use ``source``'s models and LLM backend from now on (they are loaded once per process)."""
        for attr in SHARED_MODELS:
            self.__dict__[attr] = getattr(source, attr)
        self.settings = source.settings.model_copy(update={"desk": self.name})

    # --- backends ------------------------------------------------------------------------------
    @cached_property
    def embedder(self) -> Embedder:
        s = self.settings
        return make_embedder(
            s.embedder,
            device=s.embed_device,
            batch_size=s.embed_batch_size,
            model_dir=s.resolved_model_dir,
            threads=s.embed_threads,
        )

    @cached_property
    def evidence_embedder(self) -> Embedder:
        """The embedder evidence selection uses: it remembers sentence vectors between questions."""
        from rag.questions.verify import MemoEmbedder

        limit = self.settings.evidence_vector_cache
        return MemoEmbedder(self.embedder, limit=limit) if limit else self.embedder

    def store_place(self) -> tuple[StoreShape, str, Path]:
        """(shape, collection prefix, keyword index folder) of the desk's store, found without opening it."""
        s = self.settings
        shape = StoreShape(
            embedder=self.embedder.name,
            dim=self.embedder.dim,
            chunk_size=s.chunk_size,
            chunk_overlap=s.chunk_overlap,
        )
        prefix = collection_prefix(s.collection_prefix, s.desk)
        return shape, prefix, keyword_folder(Path(s.data_dir), shape.collection_name(prefix))

    @cached_property
    def store(self) -> ChunkStore:
        s = self.settings
        client = open_client(Path(s.data_dir), s.chroma_host, s.chroma_port, s.chroma_timeout_s)
        shape, prefix, folder = self.store_place()
        keyword = KeywordIndex(
            folder, writer_memory_mb=s.keyword_writer_memory_mb, lock_timeout_s=s.keyword_lock_timeout_s
        )
        store = ChunkStore(client, shape, prefix, keyword)
        DeskRegistry.of(s).remember(s.desk, folder)  # `brief desks` reads the desk's index from here
        return store

    @cached_property
    def history(self) -> History:
        return History(desk_folder(Path(self.settings.data_dir), self.name) / HISTORY_FILE)

    def record_turn(self, conversation: str, answer_json: dict) -> None:
        """Keep a question's answer in the desk's history (unless keep_history is off)."""
        if self.settings.keep_history:
            self.history.record(conversation, answer_json)

    @property
    def uploads_dir(self) -> Path:
        return desk_folder(Path(self.settings.data_dir), self.name) / "uploads"

    @cached_property
    def verifier(self):
        """The one citation checker answers, briefings and the eval share, built from the settings."""
        from rag.questions.verify import Verifier

        return Verifier.from_settings(self.embedder, self.settings)

    @cached_property
    def reader(self):
        """The extractive reader that picks the answer's span (ONNX). Whether to answer is the refusal
        model's call (Answerer.find_answer), so no threshold is given here."""
        from rag.models.reader import Reader

        s = self.settings
        return Reader(
            max_length=s.reader_max_length,
            max_answer_tokens=s.reader_max_answer_tokens,
            threads=s.reader_threads,
        )

    @cached_property
    def refusal_model(self):
        """When to answer and when to show the short answer (rag/models/refusal.py; numpy only)."""
        from rag.models.refusal import load_refusal_model
        from rag.questions.reading import FEATURES

        return load_refusal_model(expected=FEATURES)

    @cached_property
    def span_scorer(self):
        """The second opinion on the reader's candidate answers (None when span_scorer is 'none')."""
        from rag.models.span_scorer import make_scorer

        return make_scorer(self.settings, self.packaged_llama)

    def packaged_llama(self):
        """The embedded LLM's loaded Llama when it runs the packaged model, else None (the scorer
        then loads the weights itself)."""
        borrow = getattr(self.llm, "packaged_llama", None)
        return borrow() if borrow else None

    @cached_property
    def llm(self):
        from rag.models.llm import make_llm

        return make_llm(self.settings)

    def warm_up(self) -> None:
        """Load the models and open the keyword index now (bringing it up to date if the store moved
        on), so the first question does not wait for them (1-2 s for the models)."""
        self.embedder.embed(["warm up"])
        self.store.refresh_keyword()
        self.reader.read("warm up", ["warm up"])
        if self.span_scorer is not None:
            self.span_scorer.warm_up()
        self.llm.warm_up()

    def backend_choices(self) -> list[str]:
        """LLM backends this configuration can switch between (servers only when a URL is set)."""
        choices = [EMBEDDED_BACKEND, "extractive"]
        if self.settings.llm_base_url:
            choices += SERVER_BACKENDS
        return choices

    def switch_backend(self, name: str) -> str:
        """Use another configured LLM backend from now on; returns its display name."""
        from rag.errors import BriefError
        from rag.models.llm import make_llm

        if name not in self.backend_choices():
            raise BriefError(
                f"backend '{name}' is not configured", fix="set BRIEF_LLM_BASE_URL for server backends"
            )
        settings = self.settings.model_copy(update={"llm_backend": name})
        self.llm = make_llm(settings)
        self.settings = settings
        return self.llm.name

    def source_records(self, names) -> dict[str, SourceRecord]:
        """These sources' records with their cleaned text (unknown names left out): read by id for
        just the sources a question or a page needs, and kept until the store changes."""
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return {}
        with self._lock:
            revision = self.store.revision()
            if revision != self._records_revision:
                self._records, self._records_revision = {}, revision
            fetched = {
                r.source: r for r in self.store.get_sources([n for n in wanted if n not in self._records])
            }
            known = {**self._records, **fetched}
            self.remember_records(fetched)
            return {name: known[name] for name in wanted if name in known}

    def remember_records(self, fetched: dict[str, SourceRecord]) -> None:
        """Bounded by source_cache: past it the cache starts afresh (texts run to tens of KB each)."""
        limit = self.settings.source_cache
        if len(self._records) + len(fetched) > limit:
            self._records = {}
        if len(fetched) <= limit:
            self._records.update(fetched)

    # --- library -------------------------------------------------------------------------------
    def ingest_options(self) -> IngestOptions:
        s = self.settings
        return IngestOptions(
            chunk_size=s.chunk_size,
            chunk_overlap=s.chunk_overlap,
            max_bytes=int(s.max_file_mb * 1_000_000),
            allowed_extensions=[e.lower() for e in s.allowed_extensions],
            write_batch_chunks=s.write_batch_chunks,
        )

    def ingest(
        self,
        paths: list[Path],
        prune: bool = False,
        progress: Progress | None = None,
        fetched: Sequence[FetchedDocument] = (),
        date: str | None = None,
    ) -> IngestReport:
        """Files and folders, and pages fetched from links (rag/sources/links.py); ``date`` (YYYY-MM-DD) is
        the publication date of every one of them, else each keeps the date it states."""
        with self._lock:
            return ingest(
                [Path(p) for p in paths],
                self.store,
                self.embedder,
                replace(self.ingest_options(), date=date),
                prune=prune,
                progress=progress,
                fetched=fetched,
            )

    def sources(self) -> list[SourceRecord]:
        return self.store.list_sources()

    def listed_sources(self) -> list[SourceRecord]:
        """The complete sources, by name (`brief sources`). An embedded store's catalog in step is read
        from its keyword index's ledger without opening Chroma (vectorstore/catalog.py); otherwise the
        store is opened and asked (it fills the catalog of a store older than it when it can)."""
        s = self.settings
        if "store" not in self.__dict__ and not s.chroma_host and embedded_store_readable(Path(s.data_dir)):
            listed = read_catalog(self.store_place()[2])
            if listed is not None:
                return listed
        return self.store.listed_sources()

    def remove_source(self, source: str) -> int:
        with self._lock:
            return self.store.delete_source(source)

    def set_source_date(self, source: str, stated: str) -> SourceRecord:
        """Set or correct a source's publication date (YYYY-MM-DD) without re-embedding it; returns its
        updated record. Date filters and citations use the new date from the next question on."""
        iso = check_date(stated, "publication date")
        if iso is None:
            raise BriefError("no publication date given", fix="type a date as YYYY-MM-DD")
        if not source:
            raise BriefError("no source chosen", fix="choose one of the ingested sources")
        with self._lock:
            known = self.store.get_source(source)
            if known is None:
                raise BriefError(f"no source named {source!r}", fix="pick one listed by `brief sources`")
            if known.status != STATUS_COMPLETE:
                raise BriefError(f"{source} was only partly ingested", fix="run `brief ingest` again first")
            return self.store.set_source_date(source, iso)

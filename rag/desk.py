"""The core services the CLI, the UI and the eval runner share.

Backends are built on first use, so `brief sources` never loads torch and `brief config` opens nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from rag.errors import BriefError
from rag.retrieve import check_date
from rag.settings import Settings
from vectorstore.embed import Embedder, make_embedder
from vectorstore.ingest import IngestOptions, IngestReport, Progress, ingest
from vectorstore.keyword import BM25Index
from vectorstore.store import STATUS_COMPLETE, ChunkStore, SourceRecord, StoredChunk, StoreShape, open_client


@dataclass
class ChunkIndex:
    """An in-memory snapshot of the store for one revision: BM25 over the chunks, plus each chunk's
    text and vector so a query never goes back to Chroma for the candidates it ranked."""

    revision: str
    keyword: BM25Index
    chunks: list[StoredChunk]  # aligned with keyword.ids and vectors
    vectors: np.ndarray

    @classmethod
    def build(cls, revision: str, chunks: list[StoredChunk], vectors: np.ndarray) -> ChunkIndex:
        return cls(
            revision, BM25Index([c.chunk_id for c in chunks], [c.text for c in chunks]), chunks, vectors
        )

    def lookup(self, ids: list[str]) -> tuple[list[StoredChunk], np.ndarray]:
        """Chunks and vectors for ids, in that order; ids the snapshot lacks are left out."""
        rows = [self.keyword.position[i] for i in ids if i in self.keyword.position]
        return [self.chunks[r] for r in rows], self.vectors[rows]


class Desk:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._index: ChunkIndex | None = None
        self._sources: tuple[str, dict[str, SourceRecord]] | None = None
        self._lock = threading.RLock()

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
        from rag.verify import MemoEmbedder

        limit = self.settings.evidence_vector_cache
        return MemoEmbedder(self.embedder, limit=limit) if limit else self.embedder

    @cached_property
    def store(self) -> ChunkStore:
        s = self.settings
        client = open_client(Path(s.data_dir), s.chroma_host, s.chroma_port, s.chroma_timeout_s)
        shape = StoreShape(
            embedder=self.embedder.name,
            dim=self.embedder.dim,
            chunk_size=s.chunk_size,
            chunk_overlap=s.chunk_overlap,
        )
        return ChunkStore(client, shape, s.collection_prefix)

    @cached_property
    def verifier(self):
        """The one citation checker answers, briefings and the eval share, built from the settings."""
        from rag.verify import Verifier

        return Verifier.from_settings(self.embedder, self.settings)

    @cached_property
    def reader(self):
        """The extractive reader that picks the answer's span (int8 ONNX, ~22 MB). The pipeline applies
        reader_threshold to the margins it returns (Answerer.find_answer), so none is given here."""
        from rag.reader import Reader

        s = self.settings
        return Reader(
            max_length=s.reader_max_length,
            max_answer_tokens=s.reader_max_answer_tokens,
            threads=s.reader_threads,
        )

    @cached_property
    def span_scorer(self):
        """The second opinion on the reader's candidate answers (None when span_scorer is 'none')."""
        from rag.span_scorer import make_scorer

        return make_scorer(self.settings, self.packaged_llama)

    def packaged_llama(self):
        """The embedded LLM's loaded Llama when it runs the packaged model, else None (the scorer
        then loads the weights itself)."""
        borrow = getattr(self.llm, "packaged_llama", None)
        return borrow() if borrow else None

    @cached_property
    def llm(self):
        from rag.llm import make_llm

        return make_llm(self.settings)

    def warm_up(self) -> None:
        """Load the models and build the chunk snapshot now, so the first question does not wait
        for them (about 4 s for the snapshot at 21k chunks, 1-2 s for the models)."""
        self.embedder.embed(["warm up"])
        self.chunk_index()
        self.reader.read("warm up", ["warm up"])
        if self.span_scorer is not None:
            self.span_scorer.warm_up()
        self.llm.warm_up()

    def backend_choices(self) -> list[str]:
        """LLM backends this configuration can switch between (servers only when a URL is set)."""
        choices = ["llamacpp", "extractive"]
        if self.settings.llm_base_url:
            choices += ["openai", "ollama"]
        return choices

    def switch_backend(self, name: str) -> str:
        """Use another configured LLM backend from now on; returns its display name."""
        from rag.errors import BriefError
        from rag.llm import make_llm

        if name not in self.backend_choices():
            raise BriefError(
                f"backend '{name}' is not configured", fix="set BRIEF_LLM_BASE_URL for server backends"
            )
        settings = self.settings.model_copy(update={"llm_backend": name})
        self.llm = make_llm(settings)
        self.settings = settings
        return self.llm.name

    def chunk_index(self) -> ChunkIndex:
        """The in-memory snapshot of the stored chunks, rebuilt only when the store's revision changes."""
        with self._lock:
            revision = self.store.revision()
            if self._index is None or self._index.revision != revision:
                self._index = ChunkIndex.build(revision, *self.store.all_chunks_with_vectors())
            return self._index

    def keyword_index(self) -> BM25Index:
        return self.chunk_index().keyword

    def source_index(self) -> dict[str, SourceRecord]:
        """Source records with their cleaned text, cached until the store changes."""
        with self._lock:
            revision = self.store.revision()
            if self._sources is None or self._sources[0] != revision:
                self._sources = (revision, {r.source: r for r in self.store.list_sources(with_text=True)})
            return self._sources[1]

    def keyword_mask(self, scope) -> np.ndarray:
        """Which BM25 rows a scope (date range, sources) allows, aligned with keyword_index().ids."""
        return np.array([scope.allows(c.source, c.date) for c in self.chunk_index().chunks], dtype=bool)

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
        self, paths: list[Path], prune: bool = False, progress: Progress | None = None
    ) -> IngestReport:
        with self._lock:
            return ingest(
                [Path(p) for p in paths],
                self.store,
                self.embedder,
                self.ingest_options(),
                prune=prune,
                progress=progress,
            )

    def sources(self) -> list[SourceRecord]:
        return self.store.list_sources()

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

"""The baseline a user would build from the LangChain tutorials, to measure ourselves against.

RecursiveCharacterTextSplitter(1000, 200) -> HuggingFaceEmbeddings(all-MiniLM-L6-v2) ->
Chroma.from_documents -> similarity_search(k=4) -> "stuff" prompt asking for [n] citations -> the same
LLM backend. It reads the same cleaned text we do, and its citations are parsed from what it writes,
so both are judged the same way.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from eval.metrics import split_sentences_with_markers
from rag.errors import BriefError
from rag.models.llm import as_langchain_llm
from rag.models.prompts import load_prompt

# what the naive chain imports: the `compare` extra (the default install leaves them out)
COMPARE_MODULES = (
    "langchain_chroma",
    "langchain_text_splitters",
    "langchain_huggingface",
    "sentence_transformers",
)


def require_compare_extra() -> None:
    """A clear error before any question is asked when the naive chain's packages are missing."""
    import importlib.util

    missing = [m for m in COMPARE_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise BriefError(
            f"`brief eval --compare` needs {', '.join(missing)}", fix="run `make install EXTRAS=compare`"
        )


NAIVE_CHUNK_SIZE, NAIVE_CHUNK_OVERLAP, NAIVE_K = 1000, 200, 4  # the tutorial's values, on purpose
NAIVE_STOP = ["\n\n", "\nQuestion:"]
SAYS_UNKNOWN = re.compile(
    r"(don'?t|do not|does not) know|not (found|mentioned|stated)|no information|cannot (answer|be answered)|not say",
    re.I,
)


@dataclass
class NaiveAnswer:
    question: str
    answer: str
    refused: bool
    contexts: list[str]
    sources: list[str]
    seconds: float
    citations: list[dict[str, Any]] = field(default_factory=list)  # the [n] it wrote, n -> its chunk


def minilm_path() -> str:
    from rag.toolkit import packaged_model_dir

    return str(packaged_model_dir())


def naive_embeddings():
    """The tutorial's embedder: sentence-transformers on PyTorch, from the packaged MiniLM."""
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=minilm_path(), model_kwargs={"device": "cpu"})


def build_naive_store(documents: dict[str, str], embeddings=None):
    """The tutorial's index over {source name: text}: (Chroma store, number of chunks)."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    docs = [Document(page_content=text, metadata={"source": name}) for name, text in documents.items()]
    splits = RecursiveCharacterTextSplitter(
        chunk_size=NAIVE_CHUNK_SIZE, chunk_overlap=NAIVE_CHUNK_OVERLAP
    ).split_documents(docs)
    store = Chroma.from_documents(
        splits, embeddings or naive_embeddings(), collection_name=f"naive_{uuid.uuid4().hex[:8]}"
    )
    return store, len(splits)


def parse_citations(answer: str, contexts: list[str], sources: list[str]) -> list[dict[str, Any]]:
    """One citation per [n] the chain wrote that points at a chunk it was shown."""
    used = dict.fromkeys(
        n for _, ns in split_sentences_with_markers(answer) for n in ns if 1 <= n <= len(contexts)
    )
    return [{"n": n, "source": sources[n - 1], "quote": contexts[n - 1]} for n in used]


class NaiveChain:
    def __init__(self, documents: dict[str, str], llm_backend, max_tokens: int):
        self.store, self.n_chunks = build_naive_store(documents)
        self.llm = as_langchain_llm(llm_backend, max_tokens, NAIVE_STOP)

    def ask(self, question: str) -> NaiveAnswer:
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.runnables import RunnableLambda

        started = time.perf_counter()
        docs = self.store.similarity_search(question, k=NAIVE_K)
        contexts, sources = [d.page_content for d in docs], [d.metadata["source"] for d in docs]
        prompt = load_prompt("naive_answer")
        chain = (
            RunnableLambda(lambda q: prompt.render(contexts=contexts, question=q))
            | self.llm
            | StrOutputParser()
        )
        text = chain.invoke(question).strip()
        refused = bool(SAYS_UNKNOWN.search(text)) or not text
        return NaiveAnswer(
            question=question,
            answer=text,
            refused=refused,
            contexts=contexts,
            sources=sources,
            seconds=time.perf_counter() - started,
            citations=[] if refused else parse_citations(text, contexts, sources),
        )

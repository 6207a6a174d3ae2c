"""The baseline a user would build from the LangChain tutorials, to measure ourselves against.

RecursiveCharacterTextSplitter(1000, 200) -> HuggingFaceEmbeddings(all-MiniLM-L6-v2) ->
Chroma.from_documents -> similarity_search(k=4) -> "stuff" prompt -> the same LLM backend.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from rag.llm import as_langchain_llm
from rag.prompts import load_prompt

NAIVE_CHUNK_SIZE, NAIVE_CHUNK_OVERLAP, NAIVE_K = 1000, 200, 4  # the tutorial's values, on purpose
NAIVE_STOP = ["\n\n", "\nQuestion:"]
SAYS_UNKNOWN = re.compile(r"(don'?t|do not|does not) know|not (found|mentioned|stated)|no information|cannot (answer|be answered)|not say", re.I)


@dataclass
class NaiveAnswer:
    question: str
    answer: str
    refused: bool
    contexts: list[str]
    sources: list[str]
    seconds: float
    timings_ms: dict[str, int] = field(default_factory=dict)


def minilm_path() -> str:
    from vectorstore.embed import packaged_model_dir

    return str(packaged_model_dir())


class NaiveChain:
    def __init__(self, files: list[Path], llm_backend, max_tokens: int):
        from langchain_chroma import Chroma
        from langchain_core.documents import Document
        from langchain_huggingface import HuggingFaceEmbeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        docs = [Document(page_content=f.read_text(encoding="utf-8"), metadata={"source": f.name}) for f in files]
        splits = RecursiveCharacterTextSplitter(chunk_size=NAIVE_CHUNK_SIZE, chunk_overlap=NAIVE_CHUNK_OVERLAP).split_documents(docs)
        embeddings = HuggingFaceEmbeddings(model_name=minilm_path(), model_kwargs={"device": "cpu"})
        self.store = Chroma.from_documents(splits, embeddings, collection_name=f"naive_{uuid.uuid4().hex[:8]}")
        self.llm = as_langchain_llm(llm_backend, max_tokens, NAIVE_STOP)
        self.n_chunks = len(splits)

    def ask(self, question: str) -> NaiveAnswer:
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.runnables import RunnableLambda

        started = time.perf_counter()
        docs = self.store.similarity_search(question, k=NAIVE_K)
        context = "\n\n".join(d.page_content for d in docs)
        prompt = load_prompt("naive_answer")
        chain = RunnableLambda(lambda q: prompt.render(context=context, question=q)) | self.llm | StrOutputParser()
        text = chain.invoke(question).strip()
        return NaiveAnswer(
            question=question, answer=text, refused=bool(SAYS_UNKNOWN.search(text)) or not text,
            contexts=[d.page_content for d in docs], sources=[d.metadata["source"] for d in docs], seconds=time.perf_counter() - started,
        )

"""The parts of vectorstore/ that the tools above rag/ reuse, re-exported.

eval/, bench/ and ui/ reach vectorstore/ only through this module (the layer rule, kept by
tests/test_layers.py): they clean, split, chunk and fold text exactly as the pipeline does and find
the same packaged model files, while vectorstore/ stays free to change behind rag/'s surface.
"""

from __future__ import annotations

from vectorstore.chunk import chunk_text, split_sentences
from vectorstore.clean import clean_document
from vectorstore.embed import packaged_model_dir
from vectorstore.keyword import STOPWORDS, KeywordIndex, fold
from vectorstore.onnx_minilm import quantize_int8

__all__ = [
    "STOPWORDS",
    "KeywordIndex",
    "chunk_text",
    "clean_document",
    "fold",
    "packaged_model_dir",
    "quantize_int8",
    "split_sentences",
]

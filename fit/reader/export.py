"""The trained checkpoint as the ONNX model rag/models/reader.py runs, and its dynamic int8 variant."""

from __future__ import annotations

from pathlib import Path

from rag.models.reader import INPUTS

EXPORT_OPSET = 17


def load_model(source: Path):
    """A question-answering MiniLM from a checkpoint or the packaged weights (a new head then)."""
    from transformers import AutoModelForQuestionAnswering
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # "qa_outputs newly initialised" is the point, not a warning
    hf_logging.disable_progress_bar()
    return AutoModelForQuestionAnswering.from_pretrained(str(source), local_files_only=True)


def packaged_model_dir() -> Path:
    from rag.toolkit import packaged_model_dir as packaged

    return packaged()


def export_onnx(checkpoint: Path, target: Path) -> None:
    import warnings

    import torch

    class Logits(torch.nn.Module):
        # transformers 5 takes inputs only as keywords; the exporter passes positionals
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.start_logits, out.end_logits

    model = Logits(load_model(checkpoint).eval())
    ids = torch.full((2, 8), 100, dtype=torch.long)
    mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3])  # one padded row, so the traced graph masks padding
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "start_logits", "end_logits")}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shape-dependent branches that do not vary here
        torch.onnx.export(
            model,
            (ids, mask, torch.zeros_like(ids)),
            str(target),
            input_names=list(INPUTS),
            output_names=["start_logits", "end_logits"],
            dynamic_axes=axes,
            opset_version=EXPORT_OPSET,
            dynamo=False,
        )


def quantize(fp32: Path, target: Path) -> None:
    from rag.toolkit import quantize_int8

    quantize_int8(fp32, target)

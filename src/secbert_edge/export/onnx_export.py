"""torch -> ONNX with named dynamic axes, P(harmful) computed in the graph, validated against PyTorch.

The axes are declared once, here, as data; after export the graph is read back to check they are dynamic,
and the ONNX model is compared with PyTorch on shapes unlike the export dummy, comparing only what the
attention mask keeps (each row's probability; padded positions never reach the pooled [CLS]).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import ConfigError, PackageError, ParityError, require
from ..manifest import INPUT_NAMES
from .checks import VALIDATION_SHAPES, validation_batch

torch = require("torch", "export", "Exporting to ONNX")
onnx = require("onnx", "export", "Exporting to ONNX")

OUTPUT_NAMES = ("logits", "probability")
DYNAMIC_AXES = {
    **{name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES},
    "logits": {0: "batch"},
    "probability": {0: "batch"},
}
MIN_OPSET = 17
EXPORT_DUMMY = (2, 16)  # (batch, sequence): deliberately unlike every validation shape
FP32_TOLERANCE = 1e-4


class _ExportWrapper(torch.nn.Module):
    """Returns (logits, probability) so the runtime never re-implements the head's activation."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        logits = self.model(input_ids, attention_mask, token_type_ids)
        return logits, self.model.probability(logits)


def export_onnx(model, path: str | Path, opset: int = MIN_OPSET) -> Path:
    """Write ``model`` (a BertMLPClassifier in eval mode) to ``path`` as ONNX with dynamic batch/sequence."""
    if opset < MIN_OPSET:
        raise ConfigError(
            f"opset {opset} is below the supported minimum {MIN_OPSET}; use --opset {MIN_OPSET} or higher"
        )
    path = Path(path)
    batch, seq = EXPORT_DUMMY
    dummy = (
        torch.full((batch, seq), 5, dtype=torch.long),
        torch.ones((batch, seq), dtype=torch.long),
        torch.zeros((batch, seq), dtype=torch.long),
    )
    # The exporter restores the *wrapper's* training flag on every submodule afterwards: a wrapper left in
    # training mode would switch the model's dropout on for everything that follows. Both go in eval.
    wrapper = _ExportWrapper(model.eval()).eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about python control flow on shapes: checked below
        torch.onnx.export(
            wrapper,
            dummy,
            str(path),
            input_names=list(INPUT_NAMES),
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=DYNAMIC_AXES,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,  # the TorchScript exporter's graph is what ORT's BERT fusion patterns recognise
        )
    if model.training:
        raise PackageError(
            "the model was left in training mode by the exporter (dropout on); refusing to validate it. "
            "Report this with your torch version."
        )
    check_dynamic_axes(path)
    return path


def check_dynamic_axes(path: str | Path) -> None:
    """Every declared axis must be symbolic in the written graph (a fixed dim would break other shapes)."""
    graph = onnx.load(str(path), load_external_data=False).graph
    declared = {vi.name: vi for vi in list(graph.input) + list(graph.output)}
    problems = []
    for name, axes in DYNAMIC_AXES.items():
        if name not in declared:
            problems.append(f"{name}: not in graph")
            continue
        dims = declared[name].type.tensor_type.shape.dim
        for axis, label in axes.items():
            if axis >= len(dims) or dims[axis].dim_param != label:
                got = dims[axis].dim_value if axis < len(dims) else "absent"
                problems.append(f"{name}[{axis}] should be '{label}', found {got!r}")
    if problems:
        raise PackageError(
            f"{path}: exported graph has fixed or missing axes: {'; '.join(problems)}; the exporter "
            "traced a shape as a constant. Re-export with another --opset or report this."
        )


def torch_probability(model, feeds: dict[str, np.ndarray]) -> np.ndarray:
    with torch.no_grad():
        logits = model(*(torch.from_numpy(feeds[name]) for name in INPUT_NAMES))
        return model.probability(logits).numpy().astype(np.float64)


def validate_against_torch(
    model,
    onnx_path: str | Path,
    *,
    vocab_size: int,
    max_length: int,
    tolerance: float = FP32_TOLERANCE,
    shapes=VALIDATION_SHAPES,
    seed: int = 0,
) -> dict:
    """Compare ONNX Runtime (CPU) with PyTorch on every shape; raise ParityError listing all failures."""
    ort = require("onnxruntime", "export", "Validating the ONNX export")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}
    rng = np.random.default_rng(seed)
    checked, diffs, failures = [], [], []
    for batch, seq in shapes:
        seq = min(seq, max_length)
        feeds = validation_batch(batch, seq, vocab_size, rng)
        ref = torch_probability(model, feeds)
        (got,) = session.run(["probability"], {k: v for k, v in feeds.items() if k in wanted})
        diff = np.abs(got.astype(np.float64) - ref)
        diffs.append(diff)
        checked.append([batch, seq])
        if got.shape != ref.shape:
            failures.append(f"batch {batch} x seq {seq}: shape {got.shape} vs {ref.shape}")
        elif diff.max() > tolerance:
            failures.append(f"batch {batch} x seq {seq}: max |dP| {diff.max():.3g} > {tolerance:g}")
    all_diffs = np.concatenate(diffs)
    if failures:
        raise ParityError(f"{onnx_path} disagrees with PyTorch: " + "; ".join(failures))
    return {
        "max_abs_diff": float(all_diffs.max()),
        "mean_abs_diff": float(all_diffs.mean()),
        "tolerance": tolerance,
        "shapes": checked,
        "reference": "pytorch fp32 eager",
    }

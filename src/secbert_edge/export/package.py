"""Write a model package: checkpoint + backbone folder -> validated ONNX + tokenizer.json + manifest.json.

Nothing is written at ``out`` until every check passed: the package is assembled in a temporary folder
beside it and renamed into place, so a failed export never leaves a half-written package behind.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from .. import __version__
from ..errors import ConfigError, PackageError
from ..manifest import DEFAULT_LABELS, MANIFEST_NAME, TOKENIZER_NAME, Manifest, Pooling, Task, Variant, sha256_file
from ..modeling import load_reference_model, torch, transformers
from ..variants import SPECS, Precision, VariantName
from . import onnx_export, optimize
from .checks import graph_opset
from .tokenizer import build_tokenizer, check_tokenizer_parity

MODEL_FILE = SPECS[VariantName.FP32].file
TENSORRT_FILE = SPECS[VariantName.TENSORRT].file  # the unfused graph, kept with --tensorrt


def _noop(_: str) -> None:
    pass


def _check_target(out: Path, force: bool) -> None:
    if out.exists() and not force:
        raise ConfigError(f"{out} already exists; pass --force (force=True) to replace it")
    if out.exists() and not (out / MANIFEST_NAME).is_file():
        raise ConfigError(
            f"{out} exists and is not a secbert-edge package (no {MANIFEST_NAME}); refusing to replace it even "
            "with --force. Choose another --out."
        )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def replace_dir(tmp: Path, out: Path) -> None:
    """Move ``tmp`` to ``out``; an existing ``out`` is moved aside first and deleted only after the swap."""
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; a package should get the usual directory permissions
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{_dt.datetime.now().strftime('%Y%m%d%H%M%S%f')}")
        out.rename(old)
    try:
        tmp.rename(out)
    except OSError:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def export_package(
    checkpoint: str | Path,
    backbone: str | Path,
    out: str | Path,
    *,
    task: str | Task = Task.PROMPT,
    pooling: str | Pooling | None = None,
    max_length: int | None = None,
    opset: int = onnx_export.MIN_OPSET,
    ks_threshold: float | None = None,
    default_threshold: float = 0.5,
    tolerance: float = onnx_export.FP32_TOLERANCE,
    fuse: bool = True,
    tensorrt: bool = False,
    force: bool = False,
    progress: Callable[[str], None] = _noop,
) -> Manifest:
    """Export the fp32 package and return its manifest. Raises before writing anything on any failure.

    ``pooling``: None decides it from the checkpoint (pooler tensors -> cls, none -> mean); see
    :func:`secbert_edge.modeling.decide_pooling` for the override and its errors."""
    out = Path(out)
    task = Task(task)
    _check_target(out, force)
    for name, value in (("default threshold", default_threshold), ("ks threshold", ks_threshold)):
        if value is not None and not 0.0 <= value <= 1.0:
            raise ConfigError(f"{name} {value} is outside [0, 1]")

    progress("loading checkpoint")
    model, ckpt = load_reference_model(checkpoint, backbone, pooling)
    config = model.config
    if model.pooling is Pooling.MEAN and ckpt.pooler_tensors:
        progress("pooling: mean (as asked); the checkpoint's pooler tensors are not used")
    limit = min(config.max_position_embeddings, 512)
    max_length = limit if max_length is None else max_length
    if not 8 <= max_length <= config.max_position_embeddings:
        raise ConfigError(
            f"max length {max_length} must lie in [8, {config.max_position_embeddings}] "
            "(the backbone's max_position_embeddings)"
        )

    progress("building tokenizer")
    tokenizer, tok_settings = build_tokenizer(backbone)
    # XLM-R-vocabulary checkpoints often pad the embedding past the vocabulary (rows no text can reach); a WordPiece
    # vocab.txt lists every row.
    padded = tok_settings.get("kind") == "unigram" and tok_settings["vocab_size"] < config.vocab_size
    if tok_settings["vocab_size"] != config.vocab_size and not padded:
        raise PackageError(
            f"the tokenizer of {str(backbone)!r} has {tok_settings['vocab_size']} tokens but the model's embedding "
            f"matrix has {config.vocab_size} rows: the tokenizer files do not belong to this backbone"
        )
    parity_texts = check_tokenizer_parity(tokenizer, backbone)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        progress("exporting to ONNX")
        onnx_path = onnx_export.export_onnx(model, tmp / MODEL_FILE, opset=opset)
        fused, cls_only = {}, False
        plain = tmp / TENSORRT_FILE
        if fuse:
            progress("fusing the transformer graph (ONNX Runtime optimizer)")
            onnx_path.rename(plain)
            fused = optimize.fuse(
                plain, onnx_path, num_heads=config.num_attention_heads, hidden_size=config.hidden_size
            )
            if model.pooling is Pooling.CLS:  # mean pooling reads every position of the last layer
                progress("computing the last layer for [CLS] only")
                cls_only = optimize.prune_to_cls(onnx_path, onnx_path)
            if not tensorrt:
                plain.unlink()
        elif tensorrt:
            shutil.copyfile(onnx_path, plain)
        progress("validating ONNX against PyTorch")
        parity = onnx_export.validate_against_torch(
            model, onnx_path, vocab_size=config.vocab_size, max_length=max_length, tolerance=tolerance
        )
        variants = {
            Precision.FP32.value: Variant(
                precision=Precision.FP32,
                file=MODEL_FILE,
                sha256=sha256_file(onnx_path),
                opset=graph_opset(onnx_path),
                parity=parity,
                options={"fused": fused, "cls_only_last_layer": bool(fuse and cls_only)},
            )
        }
        if tensorrt:
            progress("validating the unfused (TensorRT) graph against PyTorch")
            variants["tensorrt"] = Variant(
                precision=Precision.FP32,
                file=TENSORRT_FILE,
                sha256=sha256_file(plain),
                opset=graph_opset(plain),
                parity=onnx_export.validate_against_torch(
                    model, plain, vocab_size=config.vocab_size, max_length=max_length, tolerance=tolerance
                ),
                options={"fused": {}, "graph": "standard ONNX ops only (for TensorRT; fp16/int8 by TensorRT flags)"},
            )
        tokenizer.save(str(tmp / TOKENIZER_NAME))
        positive, negative = DEFAULT_LABELS[task]
        manifest = Manifest(
            task=task,
            head=model.head_type,
            num_labels=model.num_labels,
            max_length=max_length,
            vocab_size=config.vocab_size,
            positive_label=positive,
            negative_label=negative,
            thresholds={"default": default_threshold, "ks_optimal": ks_threshold},
            variants=variants,
            tokenizer={
                "file": TOKENIZER_NAME,
                "sha256": sha256_file(tmp / TOKENIZER_NAME),
                "parity_texts_checked": parity_texts,
                **tok_settings,
            },
            source={
                "checkpoint": Path(checkpoint).name,
                "checkpoint_sha256": ckpt.sha256,
                "checkpoint_prefix": ckpt.prefix,
                "head_keys": ckpt.source_keys,
                "pooler_tensors": "used"
                if model.pooling is Pooling.CLS
                else "unused"
                if ckpt.pooler_tensors
                else "none",
                "backbone": Path(backbone).resolve().name,
                "layers": config.num_hidden_layers,
                "hidden": config.hidden_size,
                "heads": config.num_attention_heads,
                "intermediate": config.intermediate_size,
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "onnx": onnx_export.onnx.__version__,
            },
            package_version=__version__,
            created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            pooling=model.pooling,
        )
        manifest.write(tmp)
        manifest.verify_files(tmp)
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest

"""Graph fusion and the int8 / fp16 variants, with ONNX Runtime's own tools (needs onnx + onnxruntime, no torch).

- **fusion**: ``onnxruntime.transformers.optimizer`` (model_type bert) -> EmbedLayerNormalization, Attention,
  SkipLayerNormalization, BiasGelu. The fused graph is the package's fp32 variant (checked against PyTorch at
  export).
- **int8 dynamic**: ``quantize_dynamic`` on the fused graph, per-channel int8 weights, with ``reduce_range``
  chosen for the target ISA: u8s8 kernels saturate on AVX2/AVX-512 without VNNI, so 7-bit weights there.
  Activation scales are computed per call over the whole batch, so the runtime runs this variant one text at
  a time (no padding): that keeps a text's score independent of its batch-mates, and on CPU it is as fast.
- **int8 static (QDQ)**: ``quantize_static`` with calibration texts (MinMax / Entropy / Percentile): fixed scales,
  so batching is safe; also the TensorRT int8 path.
- **fp16**: ``convert_float_to_float16`` keeping float32 inputs/outputs and the LayerNorm family in fp32.

Each variant is compared with the package's fp32 variant (itself within 1e-4 of PyTorch) before it is written.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import platform
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..errors import PackageError, ParityError, require
from ..manifest import Manifest, Variant, sha256_file
from ..variants import Precision

VARIANT_FILES = {"int8": "model.int8.onnx", "int8-static": "model.int8-static.onnx", "fp16": "model.fp16.onnx",
                 "tensorrt-int8": "model.tensorrt-int8.onnx"}
FP16_KEEP_FP32 = ["LayerNormalization", "SkipLayerNormalization", "EmbedLayerNormalization", "SimplifiedLayerNormalization"]
FP16_TOLERANCE = 1e-2


class Target(str, enum.Enum):
    """The instruction set int8 kernels will run on."""

    AVX2 = "avx2"
    AVX512 = "avx512"
    VNNI = "vnni"  # AVX-512 VNNI or AVX-VNNI: u8s8 dot products without saturation
    ARM64 = "arm64"


# Per target: reduce_range (7-bit weights) where u8s8 multiply-adds can saturate (x86 without VNNI).
INT8_RECIPES = {
    Target.AVX2: {"reduce_range": True},
    Target.AVX512: {"reduce_range": True},
    Target.VNNI: {"reduce_range": False},
    Target.ARM64: {"reduce_range": False},
}


class CalibrationMethod(str, enum.Enum):
    MINMAX = "minmax"
    ENTROPY = "entropy"
    PERCENTILE = "percentile"


def detect_target(cpuinfo: str | None = None, machine: str | None = None) -> Target:
    """The int8 target of this machine, from the CPU flags in /proc/cpuinfo."""
    machine = (machine or platform.machine()).lower()
    if machine in ("aarch64", "arm64"):
        return Target.ARM64
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8")
        except OSError:
            return Target.AVX2
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            break
    if {"avx512_vnni", "avx_vnni", "amx_int8"} & flags:
        return Target.VNNI
    if {"avx512f", "avx512bw"} <= flags:
        return Target.AVX512
    return Target.AVX2


def fuse(src: str | Path, dst: str | Path, *, num_heads: int, hidden_size: int) -> dict[str, int]:
    """ORT's BERT fusion; returns the counts of fused operators (all zero means nothing fused)."""
    optimizer = require("onnxruntime.transformers.optimizer", "export", "Fusing the transformer graph")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = optimizer.optimize_model(
            str(src), model_type="bert", num_heads=num_heads, hidden_size=hidden_size, opt_level=0
        )
    model.save_model_to_file(str(dst))
    return {k: v for k, v in model.get_fused_operator_statistics().items() if v}


def prune_to_cls(src: str | Path, dst: str | Path) -> bool:
    """After fusion: compute the last encoder layer's output for the [CLS] position only.

    The pooler reads position 0 alone, and after the last attention no position mixes with another, so the last
    layer's output projection, residual LayerNorm and feed-forward are needed for one row, not all of them
    (-6.9% of the model's FLOPs at 128 tokens). Two Slice nodes (attention output and its residual, positions
    0:1) do it; attention itself still reads every position. Written by hand: ORT's optimizer has no such pass.
    Returns False (and writes nothing) when the fused pattern is not found; the caller keeps the graph as is.
    """
    onnx = require("onnx", "export", "Graph pruning")
    model = onnx.load(str(src))
    graph = model.graph
    attention = [n for n in graph.node if n.op_type == "Attention"]
    if not attention:
        return False
    last = attention[-1]
    x, a = last.input[0], last.output[0]

    def consumers(tensor):
        return [n for n in graph.node if tensor in n.input]

    # The residual LayerNorm after the last attention: reached from its output, and also reading its input.
    skip, frontier, seen = None, [a], set()
    while frontier and skip is None:
        tensor = frontier.pop()
        for node in consumers(tensor):
            if node.op_type == "SkipLayerNormalization" and x in node.input:
                skip = node
                break
            if id(node) not in seen:
                seen.add(id(node))
                frontier.extend(node.output)
    if skip is None:
        return False
    a_cls, x_cls = f"{a}_cls", f"{x}_cls"
    for node in consumers(a):
        node.input[:] = [a_cls if t == a else t for t in node.input]
    skip.input[:] = [x_cls if t == x else t for t in skip.input]
    graph.initializer.extend([
        onnx.numpy_helper.from_array(np.array([0], np.int64), "cls_slice_start"),
        onnx.numpy_helper.from_array(np.array([1], np.int64), "cls_slice_end"),
        onnx.numpy_helper.from_array(np.array([1], np.int64), "cls_slice_axis"),
    ])
    at = list(graph.node).index(last) + 1
    for tensor, out in ((x, x_cls), (a, a_cls)):
        graph.node.insert(at, onnx.helper.make_node(
            "Slice", [tensor, "cls_slice_start", "cls_slice_end", "cls_slice_axis"], [out], name=f"cls_only_{out}"))
    onnx.save(model, str(dst))
    return True


def quantize_int8_dynamic(src: str | Path, dst: str | Path, target: Target) -> dict:
    q = require("onnxruntime.quantization", "export", "int8 quantization")
    recipe = INT8_RECIPES[Target(target)]
    q.quantize_dynamic(
        str(src), str(dst), per_channel=True, reduce_range=recipe["reduce_range"], weight_type=q.QuantType.QInt8,
        # Fused contrib ops (Attention, SkipLayerNormalization) defeat shape inference: tell it they are float.
        extra_options={"MatMulConstBOnly": True, "DefaultTensorType": 1},
    )
    return {"method": "dynamic", "per_channel": True, "weight_type": "int8", "target": Target(target).value,
            **recipe, "activation_scales": "dynamic"}


class _Calibration:
    """Feeds calibration batches (one text each, unpadded) to ORT's calibrator."""

    def __init__(self, feeds: list[dict[str, np.ndarray]]):
        self._iter = iter(feeds)

    def get_next(self):
        return next(self._iter, None)


def quantize_int8_static(
    src: str | Path,
    dst: str | Path,
    feeds: list[dict[str, np.ndarray]],
    method: CalibrationMethod,
    target: Target,
    *,
    tensorrt: bool = False,
) -> dict:
    """QDQ int8 with calibrated scales. ``tensorrt``: TensorRT's int8 rules -- signed int8 activations and
    weights, both symmetric (zero point 0), full range -- on the unfused graph."""
    q = require("onnxruntime.quantization", "export", "int8 quantization")
    if not feeds:
        raise PackageError("static quantization needs calibration texts; pass --calibration FILE")
    methods = {
        CalibrationMethod.MINMAX: q.CalibrationMethod.MinMax,
        CalibrationMethod.ENTROPY: q.CalibrationMethod.Entropy,
        CalibrationMethod.PERCENTILE: q.CalibrationMethod.Percentile,
    }
    recipe = {"reduce_range": False, "symmetric": True} if tensorrt else INT8_RECIPES[Target(target)]
    kwargs = dict(
        quant_format=q.QuantFormat.QDQ, per_channel=True, reduce_range=recipe["reduce_range"],
        activation_type=q.QuantType.QInt8 if tensorrt else q.QuantType.QUInt8, weight_type=q.QuantType.QInt8,
        calibrate_method=methods[CalibrationMethod(method)], op_types_to_quantize=["MatMul", "Gemm"],
        extra_options={"DefaultTensorType": 1, **({"ActivationSymmetric": True, "WeightSymmetric": True} if tensorrt else {})},
    )
    if "calibration_providers" in inspect.signature(q.quantize_static).parameters:
        kwargs["calibration_providers"] = ["CPUExecutionProvider"]
    onnx = require("onnx", "export", "int8 quantization")
    symbolic = require("onnxruntime.tools.symbolic_shape_infer", "export", "int8 quantization")
    with tempfile.TemporaryDirectory() as tmp:
        # ONNX's own shape inference does not know the fused contrib ops (Attention, SkipLayerNormalization), and
        # the QDQ quantizer silently skips every tensor whose type it cannot infer: ORT's symbolic inference does.
        inferred = Path(tmp) / "inferred.onnx"
        onnx.save(symbolic.SymbolicShapeInference.infer_shapes(onnx.load(str(src)), auto_merge=True), str(inferred))
        q.quantize_static(str(inferred), str(dst), _Calibration(feeds), **kwargs)
    return {"method": "static", "format": "QDQ", "calibration": CalibrationMethod(method).value,
            "calibration_texts": len(feeds), "per_channel": True,
            "target": "tensorrt" if tensorrt else Target(target).value, **recipe,
            "activation_scales": "static"}


def convert_fp16(src: str | Path, dst: str | Path) -> dict:
    onnx = require("onnx", "export", "fp16 conversion")
    onnx_model = require("onnxruntime.transformers.onnx_model", "export", "fp16 conversion")
    # OnnxModel's converter (not the bare float16 helper) inserts the casts a blocked op's fp16 neighbours need.
    model = onnx_model.OnnxModel(onnx.load(str(src)))
    model.convert_float_to_float16(keep_io_types=True, op_block_list=FP16_KEEP_FP32)
    model.save_model_to_file(str(dst))
    return {"method": "float16", "keep_io_types": True, "fp32_ops": FP16_KEEP_FP32}


def compare_variants(reference: str | Path, candidate: str | Path, feeds: Sequence[dict[str, np.ndarray]]) -> dict:
    """max / mean |dP| of ``candidate`` against ``reference`` (both ONNX, CPU provider) over ``feeds``."""
    ort = require("onnxruntime", "runtime", "Comparing variants")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    sessions = [ort.InferenceSession(str(p), options, providers=["CPUExecutionProvider"]) for p in (reference, candidate)]
    diffs = []
    for feed in feeds:
        outs = []
        for session in sessions:
            wanted = {i.name for i in session.get_inputs()}
            outs.append(session.run(["probability"], {k: v for k, v in feed.items() if k in wanted})[0])
        diffs.append(np.abs(outs[0].astype(np.float64) - outs[1].astype(np.float64)))
    d = np.concatenate(diffs)
    return {"max_abs_diff": float(d.max()), "mean_abs_diff": float(d.mean()), "inputs": int(d.size)}


def text_feeds(package_dir: str | Path, texts: Sequence[str], max_length: int | None = None) -> list[dict[str, np.ndarray]]:
    """One unpadded batch per text, tokenized exactly as the runtime does (truncate policy)."""
    from ..runtime.tokenization import LongInputPolicy, TextEncoder, fit_sequence

    manifest = Manifest.read(package_dir)
    encoder = TextEncoder(Path(package_dir) / manifest.tokenizer["file"], manifest.vocab_size)
    limit = max_length or manifest.max_length
    feeds = []
    for ids in encoder.encode([t for t in texts if isinstance(t, str) and t.strip()]):
        if not ids:
            continue
        (seq,), _ = fit_sequence(ids, limit, LongInputPolicy.TRUNCATE, manifest.tokenizer["cls_id"], manifest.tokenizer["sep_id"])
        arr = np.array([seq], dtype=np.int64)
        feeds.append({"input_ids": arr, "attention_mask": np.ones_like(arr), "token_type_ids": np.zeros_like(arr)})
    return feeds


def add_variant(
    package_dir: str | Path,
    precision: str | Precision,
    *,
    static: bool = False,
    calibration_texts: Sequence[str] = (),
    method: str | CalibrationMethod = CalibrationMethod.MINMAX,
    target: str | Target | None = None,
    check_texts: Sequence[str] = (),
    tensorrt: bool = False,
    log: Callable[[str], None] = lambda _: None,
) -> Manifest:
    """Add an int8 (dynamic or static) or fp16 variant to a package, checked against its fp32 variant.

    ``tensorrt`` (with static int8): QDQ on the package's unfused ``tensorrt`` graph -> ``tensorrt-int8``.
    """
    from ..export.onnx_export import VALIDATION_SHAPES, graph_opset, validation_batch
    from ..export.tokenizer import PARITY_CORPUS

    package_dir = Path(package_dir)
    manifest = Manifest.read(package_dir)
    manifest.verify_files(package_dir)
    precision = Precision(precision)
    if precision is Precision.FP32:
        raise PackageError("the fp32 variant is written by `secbert-edge export`; quantize adds int8 or fp16")
    if static and precision is not Precision.INT8:
        raise PackageError("--static applies to int8 only")
    if tensorrt and not (static and precision is Precision.INT8):
        raise PackageError("--tensorrt builds TensorRT's int8 graph: use it with --precision int8 --static "
                           "(TensorRT makes fp16 itself from the tensorrt variant: run it with --precision fp16)")
    target = Target(target) if target else detect_target()
    fp32 = package_dir / manifest.variant(Precision.FP32).file
    source = package_dir / manifest.variant("tensorrt").file if tensorrt else fp32
    key = "tensorrt-int8" if tensorrt else "int8-static" if static else precision.value
    dst = package_dir / VARIANT_FILES[key]
    tmp = dst.with_name(f".{dst.name}.tmp")
    try:
        log(f"building {key} variant")
        if precision is Precision.FP16:
            options = convert_fp16(fp32, tmp)
        elif static:
            feeds = text_feeds(package_dir, calibration_texts)
            options = quantize_int8_static(source, tmp, feeds, CalibrationMethod(method), target, tensorrt=tensorrt)
        else:
            options = quantize_int8_dynamic(fp32, tmp, target)
        log("comparing with the fp32 variant")
        rng = np.random.default_rng(0)
        random_feeds = [validation_batch(b, min(s, manifest.max_length), manifest.vocab_size, rng)
                        for b, s in VALIDATION_SHAPES]
        # Dynamic int8 is run one text at a time by the runtime: compare it the same way.
        if options.get("activation_scales") == "dynamic":
            random_feeds = [_row(f, r) for f in random_feeds for r in range(f["input_ids"].shape[0])]
        parity = {
            "reference": "fp32 variant (itself within its tolerance of PyTorch)",
            "random_tokens": compare_variants(fp32, tmp, random_feeds),
            "texts": compare_variants(fp32, tmp, text_feeds(package_dir, list(check_texts) or list(PARITY_CORPUS))),
        }
        parity["max_abs_diff"] = max(parity["random_tokens"]["max_abs_diff"], parity["texts"]["max_abs_diff"])
        if precision is Precision.FP16 and parity["max_abs_diff"] > FP16_TOLERANCE:
            raise ParityError(f"fp16 variant differs from fp32 by {parity['max_abs_diff']:.3g} > {FP16_TOLERANCE}")
        tmp.rename(dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    variant = Variant(precision=precision, file=dst.name, sha256=sha256_file(dst), opset=graph_opset(dst),
                      parity=parity, options=options)
    variants = {**manifest.variants, key: variant}
    updated = dataclasses.replace(manifest, variants=variants)
    updated.write(package_dir)
    return updated


def _row(feed: dict[str, np.ndarray], r: int) -> dict[str, np.ndarray]:
    n = int(feed["attention_mask"][r].sum())
    return {k: v[r:r + 1, :n] for k, v in feed.items()}

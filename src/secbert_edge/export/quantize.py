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

import contextlib
import dataclasses
import enum
import inspect
import platform
import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..errors import PackageError, ParityError, require
from ..manifest import Manifest, Precision, Variant, sha256_file

VARIANT_FILES = {"int8": "model.int8.onnx", "int8-static": "model.int8-static.onnx", "fp16": "model.fp16.onnx",
                 "tensorrt-int8": "model.tensorrt-int8.onnx"}
FP16_KEEP_FP32 = ["LayerNormalization", "SkipLayerNormalization", "EmbedLayerNormalization", "SimplifiedLayerNormalization"]
# Random-token shapes (batch, length) every candidate is compared on, besides the parity texts. Same shapes as the
# fp32 check at export (onnx_export.VALIDATION_SHAPES), repeated here because that module needs torch.
CHECK_SHAPES = ((1, 8), (3, 33), (5, 96), (3, 154), (1, 512))


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """How far a quantized variant may move from the package's fp32 variant before quantize refuses to write it."""

    max_abs_diff: float  # max |P(candidate) - P(fp32)| over the parity texts and random shapes
    flip_rate: float  # max share of those inputs whose label changes at tau or at tau*


# ONE table for every variant quantize writes. fp16: 1e-2 and 0.5% flips (DESIGN.md's tolerances). int8: DESIGN.md
# asks <= 1% flips and leaves |dP| "reported"; the bound 0.15 is ~2x the largest |dP| a sound int8 variant showed
# here (0.076: dynamic int8 of the response-judge demo) and 3x below the broken static variant of issue 10 (0.497,
# calibrated on 10 harmful prompts): a text must already sit within 0.15 of tau for such a variant to flip it.
TOLERANCES: dict[str, Tolerance] = {
    "fp16": Tolerance(max_abs_diff=1e-2, flip_rate=0.005),
    "int8": Tolerance(max_abs_diff=0.15, flip_rate=0.01),
    "int8-static": Tolerance(max_abs_diff=0.15, flip_rate=0.01),
    "tensorrt-int8": Tolerance(max_abs_diff=0.15, flip_rate=0.01),
}
FP16_TOLERANCE = TOLERANCES["fp16"].max_abs_diff


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
    optimizer = require("onnxruntime.transformers.optimizer", "quantize", "Fusing the transformer graph")
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
    onnx = require("onnx", "quantize", "Graph pruning")
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
    q = require("onnxruntime.quantization", "quantize", "int8 quantization")
    recipe = INT8_RECIPES[Target(target)]
    q.quantize_dynamic(
        str(src), str(dst), per_channel=True, reduce_range=recipe["reduce_range"], weight_type=q.QuantType.QInt8,
        # Fused contrib ops (Attention, SkipLayerNormalization) defeat shape inference: tell it they are float.
        extra_options={"MatMulConstBOnly": True, "DefaultTensorType": 1},
    )
    return {"method": "dynamic", "per_channel": True, "weight_type": "int8", "target": Target(target).value,
            **recipe, "activation_scales": "dynamic"}


class _Calibration:
    """Feeds calibration batches (one text each, unpadded) to ORT's calibrator, one batch per collection pass.

    ORT's Entropy / Percentile calibrators gather every batch's activations of a tensor into one list and call
    ``np.asarray`` on it, which fails on unpadded batches of different lengths ("inhomogeneous shape"). Padding
    them to one length would put [PAD] positions into the histograms. Instead ``quantize_static`` is told to collect
    one batch at a time (``CalibStridedMinMax`` = 1, which despite its name drives every calibrator): each pass sees
    a single array per tensor, the histogram collector merges the passes' histograms, and only one batch's
    activations are held in memory at a time. MinMax gives the same ranges either way (a running min / max).
    """

    def __init__(self, feeds: list[dict[str, np.ndarray]]):
        self._feeds = feeds
        self._start, self._end = 0, len(feeds)
        self._next = 0

    def __len__(self) -> int:
        return len(self._feeds)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._start, self._end = start_index, min(end_index, len(self._feeds))
        self._next = start_index

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._next >= self._end:
            return None
        self._next += 1
        return self._feeds[self._next - 1]

    def rewind(self) -> None:
        self.set_range(0, len(self._feeds))


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
    q = require("onnxruntime.quantization", "quantize", "int8 quantization")
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
        extra_options={"DefaultTensorType": 1, "CalibStridedMinMax": 1,
                       **({"ActivationSymmetric": True, "WeightSymmetric": True} if tensorrt else {})},
    )
    if "calibration_providers" in inspect.signature(q.quantize_static).parameters:
        kwargs["calibration_providers"] = ["CPUExecutionProvider"]
    onnx = require("onnx", "quantize", "int8 quantization")
    symbolic = require("onnxruntime.tools.symbolic_shape_infer", "quantize", "int8 quantization")
    with tempfile.TemporaryDirectory() as tmp:
        # ONNX's own shape inference does not know the fused contrib ops (Attention, SkipLayerNormalization), and
        # the QDQ quantizer silently skips every tensor whose type it cannot infer: ORT's symbolic inference does.
        inferred = Path(tmp) / "inferred.onnx"
        onnx.save(symbolic.SymbolicShapeInference.infer_shapes(onnx.load(str(src)), auto_merge=True), str(inferred))
        with contextlib.redirect_stdout(sys.stderr):  # ORT's histogram calibrators print progress to stdout
            q.quantize_static(str(inferred), str(dst), _Calibration(feeds), **kwargs)
    return {"method": "static", "format": "QDQ", "calibration": CalibrationMethod(method).value,
            "calibration_texts": len(feeds), "per_channel": True,
            "target": "tensorrt" if tensorrt else Target(target).value, **recipe,
            "activation_scales": "static"}


def convert_fp16(src: str | Path, dst: str | Path) -> dict:
    onnx = require("onnx", "quantize", "fp16 conversion")
    onnx_model = require("onnxruntime.transformers.onnx_model", "quantize", "fp16 conversion")
    # OnnxModel's converter (not the bare float16 helper) inserts the casts a blocked op's fp16 neighbours need.
    model = onnx_model.OnnxModel(onnx.load(str(src)))
    model.convert_float_to_float16(keep_io_types=True, op_block_list=FP16_KEEP_FP32)
    model.save_model_to_file(str(dst))
    return {"method": "float16", "keep_io_types": True, "fp32_ops": FP16_KEEP_FP32}


def _probabilities(path: str | Path, feeds: Sequence[dict[str, np.ndarray]]) -> np.ndarray:
    """P(positive) of ONNX model ``path`` (CPU provider) for every row of every feed, concatenated."""
    ort = require("onnxruntime", "runtime", "Comparing variants")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}
    outs = [session.run(["probability"], {k: v for k, v in feed.items() if k in wanted})[0] for feed in feeds]
    return np.concatenate([np.asarray(o, dtype=np.float64).reshape(-1) for o in outs]) if outs else np.zeros(0)


def compare_variants(reference: str | Path, candidate: str | Path, feeds: Sequence[dict[str, np.ndarray]]) -> dict:
    """max / mean |dP| of ``candidate`` against ``reference`` (both ONNX, CPU provider) over ``feeds``."""
    d = np.abs(_probabilities(reference, feeds) - _probabilities(candidate, feeds))
    return {"max_abs_diff": float(d.max()), "mean_abs_diff": float(d.mean()), "inputs": int(d.size)}


def parity_check(
    reference: np.ndarray, candidate: np.ndarray, thresholds: dict[str, float], tolerance: Tolerance
) -> dict:
    """Compare candidate with reference probabilities: max / mean |dP| and label flips at each threshold.

    Returns the numbers plus ``passed`` and ``failures`` (one sentence per tolerance missed).
    """
    d = np.abs(reference - candidate)
    n = int(d.size)
    flips = {name: int(np.sum((reference >= tau) != (candidate >= tau))) for name, tau in thresholds.items()}
    worst = max(flips.values(), default=0)
    failures = []
    if d.max() > tolerance.max_abs_diff:
        failures.append(f"max |dP| {d.max():.3g} > {tolerance.max_abs_diff:g}")
    if worst / n > tolerance.flip_rate:
        at = ", ".join(f"{k} {thresholds[k]:g}: {v}" for k, v in flips.items())
        failures.append(f"{worst} of {n} labels flip ({worst / n:.1%} > {tolerance.flip_rate:.1%}; at {at})")
    return {"max_abs_diff": float(d.max()), "mean_abs_diff": float(d.mean()), "inputs": n,
            "flips": flips, "thresholds": dict(thresholds),
            "tolerance": dataclasses.asdict(tolerance), "passed": not failures, "failures": failures}


def random_feeds(
    vocab_size: int, max_length: int, *, per_row: bool = False, seed: int = 0
) -> list[dict[str, np.ndarray]]:
    """Random token batches of CHECK_SHAPES, right-padded to varied lengths with type-1 tails (the export check's
    inputs). ``per_row``: one unpadded feed per row instead (how the runtime runs dynamic int8)."""
    rng = np.random.default_rng(seed)
    feeds = []
    for batch, seq in CHECK_SHAPES:
        seq = min(seq, max_length)
        ids = rng.integers(5, vocab_size, size=(batch, seq), dtype=np.int64)
        lengths = rng.integers(max(1, seq // 4), seq + 1, size=batch)
        lengths[0] = seq
        mask = (np.arange(seq)[None, :] < lengths[:, None]).astype(np.int64)
        ids = np.where(mask == 1, ids, 0)
        types = ((np.arange(seq)[None, :] >= (lengths // 2)[:, None]) & (mask == 1)).astype(np.int64)
        feeds.append({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    if per_row:
        feeds = [_row(f, r) for f in feeds for r in range(f["input_ids"].shape[0])]
    return feeds


def graph_opset(path: str | Path) -> int:
    onnx = require("onnx", "quantize", "Reading an ONNX graph")
    model = onnx.load(str(path), load_external_data=False)
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


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


def variant_key(precision: str | Precision, *, static: bool = False, tensorrt: bool = False) -> str:
    """The manifest name of the variant quantize writes for these options."""
    return "tensorrt-int8" if tensorrt else "int8-static" if static else Precision(precision).value


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
    force: bool = False,
    log: Callable[[str], None] = lambda _: None,
) -> Manifest:
    """Add an int8 (dynamic or static) or fp16 variant to a package, checked against its fp32 variant.

    The candidate is compared with the fp32 variant on the parity texts (``check_texts``, default the tokenizer's
    parity corpus) and random token shapes: max |dP| and label flips at the package's tau and tau*, against
    ``TOLERANCES[variant]``. A candidate that misses raises ParityError and nothing is written, unless ``force``:
    then it is written and its manifest entry records ``parity.passed = False`` with the failures. ``force`` also
    allows replacing a variant the package already has.

    ``tensorrt`` (with static int8): QDQ on the package's unfused ``tensorrt`` graph -> ``tensorrt-int8``.
    """
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
    key = variant_key(precision, static=static, tensorrt=tensorrt)
    if key in manifest.variants and not force:
        raise PackageError(f"{package_dir} already has the {key} variant ({manifest.variants[key].file}); pass --force "
                           f"(force=True) to replace it")
    target = Target(target) if target else detect_target()
    fp32 = package_dir / manifest.variant(Precision.FP32).file
    source = package_dir / manifest.variant("tensorrt").file if tensorrt else fp32
    dst = package_dir / VARIANT_FILES[key]
    tmp = dst.with_name(f".{dst.name}.tmp")
    tolerance = TOLERANCES[key]
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
        # Dynamic int8 is run one text at a time by the runtime: compare it the same way.
        shapes = random_feeds(manifest.vocab_size, manifest.max_length,
                              per_row=options.get("activation_scales") == "dynamic")
        texts = text_feeds(package_dir, list(check_texts) or list(PARITY_CORPUS))
        ref = {"random_tokens": _probabilities(fp32, shapes), "texts": _probabilities(fp32, texts)}
        cand = {"random_tokens": _probabilities(tmp, shapes), "texts": _probabilities(tmp, texts)}
        thresholds = {"tau": float(manifest.thresholds["default"])}
        if manifest.thresholds.get("ks_optimal") is not None:
            thresholds["tau*"] = float(manifest.thresholds["ks_optimal"])
        overall = parity_check(np.concatenate(list(ref.values())), np.concatenate(list(cand.values())),
                               thresholds, tolerance)
        parity = {
            "reference": "fp32 variant (itself within its tolerance of PyTorch)",
            **{part: {k: v for k, v in parity_check(ref[part], cand[part], thresholds, tolerance).items()
                      if k in ("max_abs_diff", "mean_abs_diff", "inputs", "flips")} for part in ref},
            **overall,
        }
        if not overall["passed"]:
            measured = "; ".join(overall["failures"])
            fix = ("calibrate on a few hundred texts that look like production traffic: both classes, short and "
                   "long, including the odd ones (obfuscated, code, lists) "
                   "(--calibration FILE), or try --method minmax|entropy|percentile" if static else
                   "keep the fp32 variant for this model" if precision is Precision.INT8 else
                   "run fp32 on this model")
            if not force:
                raise ParityError(
                    f"{key} variant misses its tolerance against fp32 on {overall['inputs']} inputs: {measured}. "
                    f"Nothing was written. Fix: {fix}; or pass --force (force=True) to write it anyway (the "
                    f"manifest records that it missed)."
                )
            log(f"WARNING: writing {key} although it misses its tolerance ({measured}) because of --force")
        tmp.replace(dst)
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

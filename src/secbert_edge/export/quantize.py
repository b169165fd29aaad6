"""The int8 and fp16 variants, made by ONNX Runtime's own tools (onnx + onnxruntime; no torch).

- **int8 dynamic**: ``quantize_dynamic`` on the fused graph, per-channel int8 weights, with ``reduce_range``
  chosen for the target ISA: u8s8 kernels saturate on AVX2/AVX-512 without VNNI, so 7-bit weights there.
  Activation scales are computed per call over the whole batch, so the runtime runs this variant one text at
  a time (no padding): that keeps a text's score independent of its batch-mates, and on CPU it is as fast.
- **int8 static (QDQ)**: ``quantize_static`` with calibration texts (MinMax / Entropy / Percentile): fixed scales,
  so batching is safe; with TensorRT's rules (symmetric int8) on the unfused graph, the tensorrt-int8 variant.
- **fp16**: ``convert_float_to_float16`` keeping float32 inputs/outputs and the LayerNorm family in fp32.

Which variant is built how, from which graph, and its check against fp32 come from :mod:`secbert_edge.variants`.
Each candidate is compared with the package's fp32 variant (itself within 1e-4 of PyTorch) before it is written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import inspect
import platform
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError, ParityError, require
from ..manifest import Manifest, Variant, sha256_file
from ..variants import FP32Check, Graph, Precision, Recipe, VariantName, spec
from .checks import graph_opset, item_feeds, parity_check, probabilities, random_feeds
from .optimize import unfuse_skip_layernorm
from .pertext import quantize_per_text
from .smooth import smooth_matmuls

FP16_KEEP_FP32 = [
    "LayerNormalization",
    "SkipLayerNormalization",
    "EmbedLayerNormalization",
    "SimplifiedLayerNormalization",
]


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
    for line in cpuinfo.split("\n"):
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            break
    if {"avx512_vnni", "avx_vnni", "amx_int8"} & flags:
        return Target.VNNI
    if {"avx512f", "avx512bw"} <= flags:
        return Target.AVX512
    return Target.AVX2


EMBEDDING_OPS = ("EmbedLayerNormalization", "Gather")

# Groups of MatMuls that dynamic int8 can leave in fp32 (``keep_fp32``), by the exported graph's node names. The
# feed-forward matrices read the activations with the widest outliers (after GELU: "ffn-out"; the LayerNorm output
# into the 4x expansion: "ffn-in"), where per-tensor dynamic activation scales lose the most.
FP32_GROUPS = {
    "ffn-out": lambda name: name.endswith("/output/dense/MatMul") and "/attention/" not in name,
    "ffn-in": lambda name: name.endswith("/intermediate/dense/MatMul"),
    "attention-out": lambda name: name.endswith("/attention/output/dense/MatMul"),
}
SMOOTH_GROUPS = ("ffn-in", "ffn-out")  # the MatMuls --smooth rescales (the attention ones measured no gain)


def _layers(spec: str) -> set[int]:
    """ "0-3" -> {0, 1, 2, 3}; "0+2+5" -> {0, 2, 5} (commas separate --keep-fp32 groups)."""
    out: set[int] = set()
    for part in spec.split("+"):
        lo, _, hi = part.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise ValueError(part)
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


_LAYER = re.compile(r"/layer\.(\d+)/")


def fp32_nodes(graph, groups: Sequence[str]) -> list[str]:
    """The MatMul nodes of ``groups`` in ``graph``: a FP32_GROUPS name, or ``name@layers`` for some layers only
    (``ffn-in@0-3``, ``ffn-out@0+2``; layers counted from 0 at the embeddings, as in the node names). A group or layer
    that matches nothing is an error (a graph exported some other way would silently stay all-int8)."""
    names = []
    for group in groups:
        name, at, layers = group.partition("@")
        if name not in FP32_GROUPS:
            raise ConfigError(f"unknown --keep-fp32 group {group!r}: choose from {sorted(FP32_GROUPS)}")
        try:
            wanted = _layers(layers) if at else None
        except ValueError:
            raise ConfigError(
                f"--keep-fp32 {group}: layers after @ are a range or +-joined list, like ffn-in@0-3 or ffn-out@0+5"
            ) from None
        found = {
            n.name: int(m.group(1)) if (m := _LAYER.search(n.name)) else None
            for n in graph.node
            if n.op_type == "MatMul" and FP32_GROUPS[name](n.name)
        }
        if not found:
            raise ConfigError(f"--keep-fp32 {name}: no MatMul of that group in this graph (node names differ)")
        if wanted is not None:
            missing = sorted(wanted - set(found.values()))
            if missing:
                have = sorted({x for x in found.values() if x is not None})
                raise ConfigError(f"--keep-fp32 {group}: no layer {missing} in this graph (it has layers {have})")
            found = {n: layer for n, layer in found.items() if layer in wanted}
        names += list(found)
    return names


class ActivationScales(str, enum.Enum):
    """How dynamic int8 scales a MatMul's input: one scale over the whole batch (ORT's ``quantize_dynamic``; the runtime
    then scores one text at a time), or one per text (:mod:`.pertext`; exact in batches, so the runtime batches)."""

    PER_BATCH = "per-batch"
    PER_TEXT = "per-text"


def quantize_int8_dynamic(
    src: str | Path,
    dst: str | Path,
    target: Target,
    *,
    embedding: bool = True,
    keep_fp32: Sequence[str] = (),
    activation_scales: str | ActivationScales = ActivationScales.PER_BATCH,
    smooth: float | None = None,
    calibration: Sequence[dict[str, np.ndarray]] = (),
) -> dict:
    """Dynamic int8. ``embedding``: also the embedding tables: ORT's quantizer turns the fused graph's
    EmbedLayerNormalization into QEmbedLayerNormalization (uint8 word, position and type tables, dequantized per
    looked-up row), 4x smaller, which is most of an XLM-R-vocabulary model's bytes (47,284 x 384 fp32 = 73 MB);
    False keeps them fp32 (measured for comparison). ``keep_fp32``: FP32_GROUPS left in fp32 (ORT's
    ``nodes_to_exclude``), for a model whose all-int8 variant misses its parity check. ``activation_scales``:
    per-batch (ORT's recipe, recorded as "dynamic": one text a run) or per-text (recorded as "per-text": batchable).
    ``smooth``: SmoothQuant's alpha (:mod:`.smooth`) for the feed-forward MatMuls not kept fp32, with max |x| per
    channel measured on the ``calibration`` feeds (per-batch scales only)."""
    q = require("onnxruntime.quantization", "quantize", "int8 quantization")
    onnx = require("onnx", "quantize", "int8 quantization")
    recipe = INT8_RECIPES[Target(target)]
    per_text = ActivationScales(activation_scales) is ActivationScales.PER_TEXT
    graph = onnx.load(str(src), load_external_data=False).graph
    keep = [] if embedding else [n.name for n in graph.node if n.op_type in EMBEDDING_OPS]
    kept = fp32_nodes(graph, keep_fp32)
    keep += kept
    # Fused contrib ops (Attention, SkipLayerNormalization) defeat shape inference: tell it they are float.
    common = {"per_channel": True, "reduce_range": recipe["reduce_range"], "weight_type": q.QuantType.QInt8}
    extra = {"MatMulConstBOnly": True, "DefaultTensorType": 1}
    if smooth is not None and per_text:
        raise ConfigError("--smooth is measured with per-batch activation scales only; drop --activation-scales")
    smoothed = 0
    with tempfile.TemporaryDirectory(dir=Path(dst).parent) as tmp:
        if per_text:
            embedded = Path(src)
            if embedding:  # ORT still quantizes the tables; the MatMuls are rewritten per text below
                embedded = Path(tmp) / "embedding.onnx"
                q.quantize_dynamic(
                    str(src), str(embedded), op_types_to_quantize=list(EMBEDDING_OPS), extra_options=extra, **common
                )
            count = quantize_per_text(embedded, dst, reduce_range=recipe["reduce_range"], exclude=kept)
        else:
            source = Path(src)
            if smooth is not None:  # the feed-forward MatMuls left int8, rescaled first
                source = Path(tmp) / "smoothed.onnx"
                targets = [n for n in fp32_nodes(graph, SMOOTH_GROUPS) if n not in set(kept)]
                smoothed = smooth_matmuls(src, source, targets, calibration, smooth)
            q.quantize_dynamic(str(source), str(dst), nodes_to_exclude=keep, extra_options=extra, **common)
    return {
        "method": "dynamic",
        "per_channel": True,
        "weight_type": "int8",
        "target": Target(target).value,
        **recipe,
        # "dynamic" (one scale per call, over the batch) is what runtimes before per-text read as "one text a run".
        "activation_scales": "per-text" if per_text else "dynamic",
        "embedding": "int8" if embedding_quantized(dst) else "fp32",
        **({"int8_matmuls": count} if per_text else {}),
        **({"fp32_matmuls": {"groups": list(keep_fp32), "count": len(kept)}} if keep_fp32 else {}),
        **(
            {"smooth": {"alpha": smooth, "matmuls": smoothed, "calibration_texts": len(calibration)}}
            if smooth is not None
            else {}
        ),
    }


def embedding_quantized(path: str | Path) -> bool:
    """Whether a graph looks its tokens up in an int8/uint8 table: QEmbedLayerNormalization (fused graphs) or a Gather
    of ``input_ids`` over a quantized initializer (ORT's dynamic Gather quantization)."""
    onnx = require("onnx", "quantize", "Reading an ONNX graph")
    graph = onnx.load(str(path), load_external_data=False).graph
    small = {t.name for t in graph.initializer if t.data_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8)}
    return any(
        n.op_type == "QEmbedLayerNormalization"
        or (n.op_type == "Gather" and "input_ids" in n.input and n.input[0] in small)
        for n in graph.node
    )


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
        raise ConfigError(
            "static quantization needs calibration texts that tokenize to something; pass --calibration FILE"
        )
    methods = {
        CalibrationMethod.MINMAX: q.CalibrationMethod.MinMax,
        CalibrationMethod.ENTROPY: q.CalibrationMethod.Entropy,
        CalibrationMethod.PERCENTILE: q.CalibrationMethod.Percentile,
    }
    recipe = {"reduce_range": False, "symmetric": True} if tensorrt else INT8_RECIPES[Target(target)]
    kwargs = dict(
        quant_format=q.QuantFormat.QDQ,
        per_channel=True,
        reduce_range=recipe["reduce_range"],
        activation_type=q.QuantType.QInt8 if tensorrt else q.QuantType.QUInt8,
        weight_type=q.QuantType.QInt8,
        calibrate_method=methods[CalibrationMethod(method)],
        op_types_to_quantize=["MatMul", "Gemm"],
        extra_options={
            "DefaultTensorType": 1,
            "CalibStridedMinMax": 1,
            **({"ActivationSymmetric": True, "WeightSymmetric": True} if tensorrt else {}),
        },
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
    return {
        "method": "static",
        "format": "QDQ",
        "calibration": CalibrationMethod(method).value,
        "calibration_texts": len(feeds),
        "per_channel": True,
        "target": "tensorrt" if tensorrt else Target(target).value,
        **recipe,
        "activation_scales": "static",
    }


def convert_fp16(src: str | Path, dst: str | Path) -> dict:
    onnx = require("onnx", "quantize", "fp16 conversion")
    onnx_model = require("onnxruntime.transformers.onnx_model", "quantize", "fp16 conversion")
    # OnnxModel's converter (not the bare float16 helper) inserts the casts a blocked op's fp16 neighbours need.
    model = onnx_model.OnnxModel(onnx.load(str(src)))
    model.convert_float_to_float16(keep_io_types=True, op_block_list=FP16_KEEP_FP32)
    model.save_model_to_file(str(dst))
    return {"method": "float16", "keep_io_types": True, "fp32_ops": FP16_KEEP_FP32}


def add_variant(
    package_dir: str | Path,
    variant: str | VariantName,
    *,
    calibration_texts: Sequence[str | tuple[str, str]] = (),
    method: str | CalibrationMethod = CalibrationMethod.MINMAX,
    target: str | Target | None = None,
    check_texts: Sequence[str | tuple[str, str]] = (),
    force: bool = False,
    drop_fp32: bool = False,
    embedding: bool = True,
    keep_fp32: Sequence[str] = (),
    activation_scales: str | ActivationScales = ActivationScales.PER_BATCH,
    smooth: float | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> Manifest:
    """Build ``variant`` (int8, int8-static, fp16 or tensorrt-int8) from its source graph and add it to a package.

    The candidate is compared with the fp32 variant on the parity texts (``check_texts``, default the tokenizer's
    parity corpus) and random token shapes: max |dP| and label flips at the package's tau and tau*, against the
    variant's ``fp32_check`` in :mod:`secbert_edge.variants`. A candidate that misses raises ParityError and nothing
    is written, unless ``force``: then it is written and its manifest entry records ``parity.passed = False`` with
    the failures. ``force`` also allows replacing a variant the package already has.

    ``drop_fp32`` (int8 and int8-static only): once the candidate passed its check, delete the fp32 file, record its
    entry under the manifest's ``not_shipped`` (what export measured stays on record) and make the candidate the
    default variant: a package of one int8 file (an XLM-R-vocabulary e5-small: ~40 MB instead of ~200 MB). No further
    variant can be built from such a package. ``embedding=False`` keeps the embedding tables fp32 (dynamic int8 only;
    for comparison: ~2.4x the size on e5-small). ``keep_fp32`` (dynamic int8 only): groups of MatMuls left in fp32
    (FP32_GROUPS: ``ffn-out``, ``ffn-in``, ``attention-out``), recorded in the variant's recipe.
    ``activation_scales`` (dynamic int8 only): ``per-text`` scales each text's activations alone, so the runtime
    may batch the variant (see :mod:`.pertext`); ``per-batch`` is ORT's recipe, scored one text at a time.
    ``smooth`` (dynamic int8, per-batch): SmoothQuant's alpha for the feed-forward MatMuls, calibrated on
    ``calibration_texts`` (:mod:`.smooth`; texts, or (prompt, response) pairs for a judge): all-int8 where those
    MatMuls would otherwise be kept fp32.
    """
    row = spec(variant)
    key = row.name.value
    if row.built_by_export or row.fp32_check is None:
        raise ConfigError(
            f"the {key} variant is written by `secbert-edge export` ({row.hint}); quantize builds "
            "int8, int8-static, fp16 and tensorrt-int8"
        )
    package_dir = Path(package_dir)
    manifest = Manifest.read(package_dir)
    manifest.verify_files(package_dir)
    if key in manifest.variants and not force:
        raise ConfigError(
            f"{package_dir} already has the {key} variant ({manifest.variants[key].file}); pass --force to replace it"
        )
    if drop_fp32 and (row.precision is not Precision.INT8 or row.graph is not Graph.FUSED):
        raise ConfigError(
            f"--drop-fp32 leaves the package with the variant just built as its only CPU variant: build int8 or "
            f"int8-static with it, not {key}"
        )
    if VariantName.FP32.value in manifest.not_shipped:
        raise ConfigError(
            f"{package_dir} does not ship its fp32 variant (dropped with --drop-fp32), which quantize builds every "
            "variant from and checks it against: re-export the checkpoint to add variants"
        )
    static = row.recipe in (Recipe.STATIC_INT8, Recipe.TENSORRT_INT8)
    if keep_fp32 and row.recipe is not Recipe.DYNAMIC_INT8:
        raise ConfigError(f"--keep-fp32 applies to the dynamic int8 variant, not {key}")
    if ActivationScales(activation_scales) is ActivationScales.PER_TEXT and row.recipe is not Recipe.DYNAMIC_INT8:
        raise ConfigError(f"--activation-scales per-text applies to the dynamic int8 variant, not {key}")
    if smooth is not None and row.recipe is not Recipe.DYNAMIC_INT8:
        raise ConfigError(f"--smooth applies to the dynamic int8 variant, not {key}")
    if smooth is not None and not calibration_texts:
        raise ConfigError(
            "--smooth needs calibration texts (--calibration FILE): a few hundred texts like production traffic, "
            "both classes, short and long; the activation maxima it divides by come from them"
        )
    if static and not calibration_texts:
        raise ConfigError(
            f"the {key} variant needs calibration texts (--calibration FILE): a few hundred texts like "
            "production traffic, both classes"
        )
    target = Target(target) if target else detect_target()
    fp32 = package_dir / manifest.variant(VariantName.FP32).file
    source = package_dir / manifest.variant(row.source).file  # type: ignore[arg-type]
    dst = package_dir / row.file
    tmp = dst.with_name(f".{dst.name}.tmp")
    try:
        log(f"building the {key} variant from {source.name}")
        if row.recipe is Recipe.FP16:
            options = convert_fp16(source, tmp)
        elif static:
            feeds = item_feeds(package_dir, calibration_texts)
            options = quantize_int8_static(
                source, tmp, feeds, CalibrationMethod(method), target, tensorrt=row.recipe is Recipe.TENSORRT_INT8
            )
        else:
            options = quantize_int8_dynamic(
                source,
                tmp,
                target,
                embedding=embedding,
                keep_fp32=keep_fp32,
                activation_scales=activation_scales,
                smooth=smooth,
                calibration=item_feeds(package_dir, calibration_texts) if smooth is not None else (),
            )
        if recipe_unfuses(row.recipe):
            options["unfused_skip_layernorm"] = unfuse_skip_layernorm(tmp, tmp)
        log("comparing with the fp32 variant")
        parity = compare_variants(
            package_dir, manifest, fp32, tmp, row.fp32_check, check_texts, options.get("activation_scales") == "dynamic"
        )
        parity = {"reference": FP32_REFERENCE, **parity}
        if not parity["passed"]:
            measured = "; ".join(parity["failures"])
            fix = (
                "calibrate on a few hundred texts that look like production traffic: both classes, short and "
                "long, including the odd ones (obfuscated, code, lists) (--calibration FILE), or try --method "
                "minmax|entropy|percentile"
                if static
                else "keep the fp32 variant for this model, or leave its worst MatMuls fp32 (--keep-fp32 ffn-out, "
                "ffn-in@0-3, ...); where a few borderline inputs decide (the default check has ~40; more texts resolve "
                "a smaller flip rate), compare on a few hundred of your own texts (--check-texts FILE)"
            )
            if not force:
                raise ParityError(
                    f"{key} variant misses its tolerance against fp32 on {parity['inputs']} inputs: {measured}. "
                    f"Nothing was written. Fix: {fix}; or pass --force to write it anyway (the manifest records "
                    "that it missed)."
                )
            if drop_fp32:
                raise ParityError(
                    f"{key} variant misses its tolerance against fp32 ({measured}): not dropping the fp32 variant for "
                    "it. Nothing was written."
                )
            log(f"WARNING: writing {key} although it misses its tolerance ({measured}) because of --force")
        tmp.replace(dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    entry = Variant(
        precision=row.precision,
        file=dst.name,
        sha256=sha256_file(dst),
        opset=graph_opset(dst),
        parity=parity,
        options=options,
    )
    updated = dataclasses.replace(manifest, variants={**manifest.variants, key: entry})
    if drop_fp32:
        fp32_entry = manifest.variants[VariantName.FP32.value]
        updated = dataclasses.replace(
            updated,
            variants={k: v for k, v in updated.variants.items() if k != VariantName.FP32.value},
            not_shipped={**manifest.not_shipped, VariantName.FP32.value: fp32_entry},
            default_variant=key if manifest.default_name == VariantName.FP32.value else manifest.default_variant,
        )
    updated.write(package_dir)
    if drop_fp32:
        log(f"dropped {fp32.name} ({fp32.stat().st_size / 1e6:.1f} MB): {key} is now the package's default variant")
        fp32.unlink()
    return updated


# What a quantized variant's parity record is measured against (add_variant, refresh_variant with fp32 shipped).
FP32_REFERENCE = "fp32 variant (itself within its tolerance of PyTorch)"

# A graph rewrite that only reorders float arithmetic (refresh_variant) against the file it replaces. In a dynamic
# int8 graph that can tip an activation across a rounding step: on the defaults' 600-text test splits mean |dP|
# 0.0005-0.0009, max 0.026-0.033 (int8 itself against fp32: mean 0.0048, max 0.094). 0.05 is 1.5x that max and 3x
# under int8's 0.15, so a rewrite that changed what the graph computes is refused. Flips as int8's.
REFRESH_CHECK = FP32Check(0.05, 0.01)


def recipe_unfuses(recipe: Recipe) -> bool:
    """Whether a variant's graph gets SkipLayerNormalization unfused (optimize.unfuse_skip_layernorm): dynamic int8,
    which only runs on CPU, where that kernel is the slow one. fp32 and fp16 keep the node (CUDA's fused kernel);
    int8-static (QDQ) was not measured with it."""
    return recipe is Recipe.DYNAMIC_INT8


def compare_variants(
    package_dir: Path,
    manifest: Manifest,
    reference: Path,
    candidate: Path,
    tolerance: FP32Check,
    check_texts: Sequence[str | tuple[str, str]],
    per_row: bool,
) -> dict:
    """``candidate``'s probabilities against ``reference``'s on random token shapes and the parity texts (default
    the tokenizer's parity corpus), at the package's tau and tau*: parity_check's result, per part and overall.
    ``per_row``: a per-batch dynamic int8 graph is run one text at a time by the runtime, so it is compared so."""
    from .tokenizer import PARITY_CORPUS

    shapes = random_feeds(manifest.vocab_size, manifest.max_length, per_row=per_row)
    texts = item_feeds(package_dir, list(check_texts) or list(PARITY_CORPUS))
    ref = {"random_tokens": probabilities(reference, shapes), "texts": probabilities(reference, texts)}
    cand = {"random_tokens": probabilities(candidate, shapes), "texts": probabilities(candidate, texts)}
    thresholds = {"tau": manifest.threshold("default")}
    if manifest.thresholds.get("ks_optimal") is not None:
        thresholds["tau*"] = manifest.threshold("ks")
    overall = parity_check(
        np.concatenate(list(ref.values())), np.concatenate(list(cand.values())), thresholds, tolerance
    )
    return {
        **{
            part: {
                k: v
                for k, v in parity_check(ref[part], cand[part], thresholds, tolerance).items()
                if k in ("max_abs_diff", "mean_abs_diff", "inputs", "flips")
            }
            for part in ref
        },
        **overall,
    }


def refresh_variant(
    package_dir: str | Path,
    variant: str | VariantName = VariantName.INT8,
    *,
    check_texts: Sequence[str | tuple[str, str]] = (),
    log: Callable[[str], None] = lambda _: None,
) -> tuple[Manifest, int]:
    """Rewrite a package's existing dynamic int8 variant with this version's graph passes that need neither the
    checkpoint nor the fp32 graph (today: SkipLayerNormalization unfused, :func:`.optimize.unfuse_skip_layernorm`),
    for packages quantized before them. Returns (the manifest, the nodes rewritten); 0 = already current, nothing
    written.

    The rewritten graph is compared before it replaces the file: with the fp32 variant when the package ships it
    (the parity record is measured anew, as quantize does), else with the file it replaces, against REFRESH_CHECK
    (a rewrite moves scores by float rounding only); the fp32 record then stays, and ``parity.refreshed`` holds the
    pass, the replaced file's sha256 and that comparison. A candidate that misses raises ParityError, nothing written.
    """
    row = spec(variant)
    key = row.name.value
    package_dir = Path(package_dir)
    manifest = Manifest.read(package_dir)
    manifest.verify_files(package_dir)
    if not recipe_unfuses(row.recipe):
        raise ConfigError(f"--refresh rewrites the dynamic int8 variant (int8); {key} has no graph pass to refresh")
    if key not in manifest.variants:
        raise ConfigError(f"{package_dir} has no {key} variant to refresh; build it with {row.hint}")
    entry = manifest.variants[key]
    path = package_dir / entry.file
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        count = unfuse_skip_layernorm(path, tmp)
        if not count:
            log(f"{entry.file} has no SkipLayerNormalization left to unfuse: already current, nothing written")
            tmp.unlink(missing_ok=True)
            return manifest, 0
        per_row = entry.options.get("activation_scales") == "dynamic"
        fp32 = manifest.variants.get(VariantName.FP32.value)
        if fp32 is not None:
            log(f"unfused {count} SkipLayerNormalization nodes; comparing with the fp32 variant")
            assert row.fp32_check is not None  # dynamic int8 has one (variants.SPECS)
            measured = compare_variants(
                package_dir, manifest, package_dir / fp32.file, tmp, row.fp32_check, check_texts, per_row
            )
            parity = {"reference": FP32_REFERENCE, **measured}
        else:
            log(f"unfused {count} SkipLayerNormalization nodes; comparing with the file it replaces (no fp32 shipped)")
            measured = compare_variants(package_dir, manifest, path, tmp, REFRESH_CHECK, check_texts, per_row)
            parity = {
                **entry.parity,
                "refreshed": {
                    "pass": "SkipLayerNormalization unfused into Add + LayerNormalization",
                    "nodes": count,
                    "previous_sha256": entry.sha256,
                    "against_previous": measured,
                    "note": "the fp32 record above was measured on the previous file",
                },
            }
        if not measured["passed"]:
            raise ParityError(
                f"the refreshed {key} graph misses its check ({'; '.join(measured['failures'])}): nothing was "
                f"written; {entry.file} stays as it was. Report this: the rewrite should move scores by rounding only"
            )
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    refreshed = dataclasses.replace(
        entry,
        sha256=sha256_file(path),
        opset=graph_opset(path),
        parity=parity,
        options={**entry.options, "unfused_skip_layernorm": count},
    )
    updated = dataclasses.replace(manifest, variants={**manifest.variants, key: refreshed})
    updated.write(package_dir)
    return updated, count

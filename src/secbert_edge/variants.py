"""The variants a model package can hold, in ONE table: name -> precision, graph, file, who builds it, default
tolerances, and how to add it. Every other module (manifest, export, quantize, runtime, verify, bench, CLI) reads it.

A variant is one ONNX file of the package:

| name          | precision | graph   | built by                        | runs on                          |
|---------------|-----------|---------|---------------------------------|----------------------------------|
| fp32          | fp32      | fused   | export                          | CPU, CUDA                        |
| int8          | int8      | fused   | quantize (dynamic, per-channel) | CPU (one text a run; per-text: batched) |
| int8-static   | int8      | fused   | quantize (QDQ, calibrated)      | CPU                              |
| fp16          | fp16      | fused   | quantize (float16 converter)    | CUDA                             |
| tensorrt      | fp32      | unfused | export --tensorrt               | TensorRT (fp32, or fp16 by flag) |
| tensorrt-int8 | int8      | unfused | quantize (symmetric QDQ)        | TensorRT int8                    |

"fused" graphs carry ONNX Runtime's transformer fusions and the [CLS]-only last layer; TensorRT cannot parse those
contrib ops, so its variants keep the standard-op graph. To add a variant: add a :class:`VariantSpec` row below
(name, precision, graph, file, recipe, tolerances, hint); give its recipe a builder in ``export/quantize.py``
(``RECIPES``); the CLI's ``--variant`` choices, the manifest's hints, verify's default gate and the runtime's
selection follow from this table.
"""

from __future__ import annotations

import dataclasses
import enum


class Precision(str, enum.Enum):
    """The numeric precision of a variant's weights (recorded per variant in the manifest)."""

    FP32 = "fp32"
    INT8 = "int8"
    FP16 = "fp16"


class Graph(str, enum.Enum):
    FUSED = "fused"  # ONNX Runtime's fused transformer ops + [CLS]-only last layer (CPU, CUDA)
    UNFUSED = "unfused"  # standard ONNX ops only (TensorRT parses these)


class Recipe(str, enum.Enum):
    """How a variant's file is made."""

    EXPORT = "export"  # torch -> ONNX, fused, checked against PyTorch (export)
    EXPORT_UNFUSED = "export-unfused"  # the graph before fusion, checked against PyTorch (export --tensorrt)
    DYNAMIC_INT8 = "dynamic-int8"  # quantize_dynamic, per-channel int8 weights; activation scales per call
    STATIC_INT8 = "static-int8"  # quantize_static, QDQ with calibrated scales
    FP16 = "fp16"  # float16 converter, LayerNorm family kept in fp32, fp32 inputs/outputs
    TENSORRT_INT8 = "tensorrt-int8"  # static QDQ with TensorRT's rules (symmetric int8) on the unfused graph


class VariantName(str, enum.Enum):
    """Variant names: the one vocabulary of ``--variant`` on every command."""

    FP32 = "fp32"
    INT8 = "int8"
    INT8_STATIC = "int8-static"
    FP16 = "fp16"
    TENSORRT = "tensorrt"
    TENSORRT_INT8 = "tensorrt-int8"


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """verify's gate for a variant against the original PyTorch model: the effect sizes its tests are run against
    (see :mod:`secbert_edge.verify`: flips by an exact binomial test, drift by a paired bootstrap, at an alpha)."""

    max_abs_diff: float | None  # max |dP| on any text (None: reported, not gated)
    metric_drift_pp: float  # accuracy, F1 (at tau and tau*), AUC, KS, in percentage points
    flip_rate: float  # the tolerated fraction of examples whose decision changes, at tau or tau*


@dataclasses.dataclass(frozen=True)
class FP32Check:
    """How far a quantized variant may move from the package's fp32 variant before ``quantize`` refuses to write it
    (checked on the tokenizer's parity texts and random token shapes, with no labels needed)."""

    max_abs_diff: float  # max |P(candidate) - P(fp32)|
    # the tolerated share of those inputs whose label changes at tau or at tau*, tested like verify's flips (one-sided
    # exact binomial at verify's alpha: fails when the count shows the rate is above it)
    flip_rate: float


@dataclasses.dataclass(frozen=True)
class VariantSpec:
    name: VariantName
    precision: Precision
    graph: Graph
    file: str  # file name inside the package
    recipe: Recipe
    source: VariantName | None  # the variant it is built from (None: from the checkpoint, by export)
    tolerance: Tolerance  # verify's default gate (against PyTorch, on labelled data)
    fp32_check: FP32Check | None  # quantize's gate against the fp32 variant (None: built by export, checked there)
    hint: str  # how to add it to a package
    on_tensorrt: VariantName  # what a TensorRT-first provider chain runs when this variant is asked for
    trt_fp16: bool = False  # ... with TensorRT's fp16 flag

    @property
    def built_by_export(self) -> bool:
        return self.source is None


# quantize's check against fp32. fp16: DESIGN.md's 1e-2 and 0.5% flips. int8: DESIGN.md asks <= 1% flips and leaves
# |dP| "reported"; the bound 0.15 is ~2x the largest |dP| a sound int8 variant showed here (0.076: dynamic int8 of the
# response-judge demo) and 3x below the broken static variant of issue 10 (0.497, calibrated on 10 harmful prompts):
# a text must already sit within 0.15 of tau for such a variant to flip it.
FP16_CHECK = FP32Check(1e-2, 0.005)
INT8_CHECK = FP32Check(0.15, 0.01)
# verify's gates: DESIGN.md's tolerance table, the effect sizes verify's tests are run against (flip rate, metric
# drift; see verify.GateRule), with two changes:
# - fp32's metric drift: 0.05 pp instead of exactly 0. A confident model saturates sigmoid to exactly 1.0 (or 0.0) in
#   float32 for many inputs; a 1e-7 difference then breaks those ties and moves AUC/KS by a few hundredths of a point
#   without any decision changing. Label flips stay at 0.
# - int8's max |dP|: held at quantize's 0.15 (INT8_CHECK) instead of only reported, so a variant quantize would refuse
#   against fp32 cannot pass verify against PyTorch. It is a bound on every text, not a statistic: it fails a broken
#   variant on a set too small or too easy for its decisions to show it (measured on the tests' 90-text split: weights
#   perturbed by half their std moved a score by 0.92 and flipped 2 decisions, within the binomial bound of 3).
FP32_GATE = Tolerance(1e-4, 0.05, 0.0)
FP16_GATE = Tolerance(1e-2, 0.2, 0.005)
INT8_GATE = Tolerance(INT8_CHECK.max_abs_diff, 0.5, 0.01)
# A distilled student against its TEACHER (verify --teacher): a different model, so scores move (|dP| reported, not
# gated); what is held is its decisions (<= 1% flips at tau and tau*) and its task metrics (within 1 pp), for every
# variant alike.
TEACHER_GATE = Tolerance(None, 1.0, 0.01)

_T = VariantName
SPECS: dict[VariantName, VariantSpec] = {
    spec.name: spec
    for spec in (
        VariantSpec(
            _T.FP32,
            Precision.FP32,
            Graph.FUSED,
            "model.onnx",
            Recipe.EXPORT,
            None,
            FP32_GATE,
            None,
            "`secbert-edge export --checkpoint ... --backbone ... --out DIR`",
            _T.TENSORRT,
        ),
        VariantSpec(
            _T.INT8,
            Precision.INT8,
            Graph.FUSED,
            "model.int8.onnx",
            Recipe.DYNAMIC_INT8,
            _T.FP32,
            INT8_GATE,
            INT8_CHECK,
            "`secbert-edge quantize --model DIR --variant int8`",
            _T.TENSORRT_INT8,
        ),
        VariantSpec(
            _T.INT8_STATIC,
            Precision.INT8,
            Graph.FUSED,
            "model.int8-static.onnx",
            Recipe.STATIC_INT8,
            _T.FP32,
            INT8_GATE,
            INT8_CHECK,
            "`secbert-edge quantize --model DIR --variant int8-static --calibration FILE`",
            _T.TENSORRT_INT8,
        ),
        VariantSpec(
            _T.FP16,
            Precision.FP16,
            Graph.FUSED,
            "model.fp16.onnx",
            Recipe.FP16,
            _T.FP32,
            FP16_GATE,
            FP16_CHECK,
            "`secbert-edge quantize --model DIR --variant fp16`",
            _T.TENSORRT,
            trt_fp16=True,
        ),
        # TensorRT's graphs, gated on CPU here (TensorRT's own fp16/int8 kernels differ: gate on the GPU too).
        VariantSpec(
            _T.TENSORRT,
            Precision.FP32,
            Graph.UNFUSED,
            "model.tensorrt.onnx",
            Recipe.EXPORT_UNFUSED,
            None,
            FP32_GATE,
            None,
            "`secbert-edge export ... --tensorrt` (it keeps the unfused graph TensorRT parses)",
            _T.TENSORRT,
        ),
        VariantSpec(
            _T.TENSORRT_INT8,
            Precision.INT8,
            Graph.UNFUSED,
            "model.tensorrt-int8.onnx",
            Recipe.TENSORRT_INT8,
            _T.TENSORRT,
            INT8_GATE,
            INT8_CHECK,
            "`secbert-edge quantize --model DIR --variant tensorrt-int8 --calibration FILE` (needs the "
            "tensorrt variant: export with --tensorrt)",
            _T.TENSORRT_INT8,
        ),
    )
}
NAMES: tuple[str, ...] = tuple(v.value for v in SPECS)
TENSORRT_NAMES: tuple[str, ...] = tuple(v.value for v, s in SPECS.items() if s.graph is Graph.UNFUSED)
QUANTIZE_NAMES: tuple[str, ...] = tuple(v.value for v, s in SPECS.items() if not s.built_by_export)


def tolerances_from(overrides: dict[str, tuple[str, ...]], base: Tolerance | None = None) -> dict[str, Tolerance]:
    """verify's gates with ``VARIANT=NUMBER`` overrides applied: {field: ("int8=0.05", ...)} -> {variant: Tolerance}.
    Fields: max_abs_diff, metric_drift_pp, flip_rate. ``base``: the gate overridden (default: each variant's own)."""
    from .errors import ConfigError

    changed: dict[str, dict[str, float]] = {}
    for field, items in overrides.items():
        for item in items:
            name, sep, value = item.partition("=")
            try:
                number = float(value)
            except ValueError:
                number = -1.0
            if not sep or name not in NAMES or number < 0:
                raise ConfigError(f"{item!r}: expected VARIANT=NUMBER (>= 0) with VARIANT in {', '.join(NAMES)}")
            changed.setdefault(name, {})[field] = number
    return {
        name: dataclasses.replace(base or SPECS[VariantName(name)].tolerance, **fields)
        for name, fields in changed.items()
    }


def spec(name: str | VariantName) -> VariantSpec:
    """The table row of a variant name; a name outside the table raises ConfigError listing the names."""
    from .errors import ConfigError

    try:
        return SPECS[VariantName(name)]
    except ValueError as err:
        raise ConfigError(f"variant {str(name)!r} is not one of {', '.join(NAMES)}") from err

"""SmoothQuant for dynamic int8: move the feed-forward activations' outliers into the weights (onnx + onnxruntime).

Dynamic int8 quantizes a MatMul's input with one scale over the whole tensor. The feed-forward inputs (the LayerNorm
output into the 4x expansion, the GELU output into the contraction) have a few channels tens of times wider than the
rest, so that one scale leaves the other channels a handful of levels, and those MatMuls were left fp32 on the e5
students (``--keep-fp32``), which is most of their time on one text. SmoothQuant (Xiao et al., 2023) divides input
channel j by ``s_j = max|X_j|^alpha / max|W_j,:|^(1 - alpha)`` and multiplies row j of the weight by it: the product
is unchanged in exact arithmetic, the activations are flatter and the weights (int8 per output column) take part of
the range. ``max|X_j|`` is measured on calibration texts run through the fp32 graph.

In a post-LayerNorm BERT the LayerNorm output is also the residual, and GELU is not linear, so the division cannot
be folded into the op before: it is an explicit fp32 ``Mul`` before each smoothed MatMul (a [tokens, k] elementwise
product, ~1% of the MatMul it serves). ORT's own quantizer has SmoothQuant only for static QDQ, through Intel's
neural-compressor; its ONNX successor (onnx-neural-compressor 1.0) pins numpy below 2 and pulls transformers, so the
same formula (its ``_get_smooth_scale``: activation max^alpha / weight max^(1-alpha), clipped at 1e-5) is written
here, on the fused graph that ``quantize_dynamic`` then quantizes as usual.

Measured on the guard's 6-layer student (fp32 ONNX as reference, its 600 verify texts, one text per run on one
thread): all-int8 max |dP| 0.295, mean 0.0113, 11 flips at tau, 4.1 ms; the shipped mixed recipe (7 feed-forward
MatMuls fp32) 0.107 / 0.0040 / 3 flips / 5.9 ms; all-int8 after smoothing (alpha 0.8) 0.131 / 0.0047 / 6 flips /
4.1-4.3 ms. alpha 0.5 was worse than none (max 0.43 in logits -> 2.1): the weights' per-column grids lose more than
the activations gain; 0.7-0.85 measured best (calibrated on 256 training texts of three draws: 0.8 max 0.13-0.16,
0.85 max 0.094-0.118, mean 0.0048-0.0057), and per-MatMul alphas chosen by the quantized product's error measured no
better than one alpha. The max over calibration texts moves with the draw: calibrate on a few hundred texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError, require

DEFAULT_ALPHA = 0.85
SMOOTH_SUFFIX = "_smooth"


def activation_max(model, inputs: Sequence[str], feeds: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-channel max |x| of the tensors ``inputs`` of ``model`` (an onnx ModelProto, fp32) over ``feeds``: the
    tensors are made graph outputs of a copy and the copy run on the CPU provider, one feed at a time."""
    onnx = require("onnx", "quantize", "SmoothQuant calibration")
    ort = require("onnxruntime", "runtime", "SmoothQuant calibration")
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    have = {o.name for o in probe.graph.output}
    for name in inputs:
        if name not in have:
            probe.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}
    found: dict[str, np.ndarray] = {}
    for feed in feeds:
        values = session.run(list(inputs), {k: v for k, v in feed.items() if k in wanted})
        for name, value in zip(inputs, values):
            channel = np.abs(value.reshape(-1, value.shape[-1])).max(axis=0)
            found[name] = channel if name not in found else np.maximum(found[name], channel)
    return found


def smooth_scales(act_max: np.ndarray, weight: np.ndarray, alpha: float) -> np.ndarray:
    """SmoothQuant's per-input-channel divisor for a MatMul with weight [in, out]."""
    weight_max = np.abs(weight).max(axis=1)
    top = np.power(np.clip(act_max, 1e-5, None), alpha)
    bottom = np.clip(np.power(weight_max, 1.0 - alpha), 1e-5, None)
    return np.clip(top / bottom, 1e-5, None).astype(np.float32)


def smooth_matmuls(
    src: str | Path,
    dst: str | Path,
    nodes: Sequence[str],
    feeds: Sequence[dict[str, np.ndarray]],
    alpha: float = DEFAULT_ALPHA,
) -> int:
    """Write ``src`` with the MatMuls named ``nodes`` smoothed (a Mul by 1/s on the input, rows of the weight times
    s), calibrated on ``feeds``; returns how many were smoothed. A named node that is not a MatMul with a constant
    weight read by it alone is an error: its other readers would see the scaled weight."""
    onnx = require("onnx", "quantize", "SmoothQuant")
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"--smooth {alpha}: alpha is a migration strength between 0 and 1 (0.8-0.85 measured best)")
    if not feeds:
        raise ConfigError("--smooth needs calibration texts that tokenize to something; pass --calibration FILE")
    model = onnx.load(str(src))
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    by_name = {n.name: n for n in graph.node}
    readers: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    targets = []
    for name in nodes:
        node = by_name.get(name)
        if node is None or node.op_type != "MatMul" or node.input[1] not in initializers:
            raise ConfigError(f"cannot smooth {name!r}: not a MatMul with a constant weight in this graph")
        if readers[node.input[1]] != 1:
            raise ConfigError(f"cannot smooth {name!r}: its weight {node.input[1]!r} is shared with another node")
        targets.append(node)
    maxima = activation_max(model, sorted({n.input[0] for n in targets}), feeds)
    for node in targets:
        weight_init = initializers[node.input[1]]
        weight = onnx.numpy_helper.to_array(weight_init)
        scale = smooth_scales(maxima[node.input[0]], weight, alpha)
        scaled = (weight * scale[:, None]).astype(np.float32)
        weight_init.CopyFrom(onnx.numpy_helper.from_array(scaled, weight_init.name))
        inverse = node.name + SMOOTH_SUFFIX + "_inv"
        graph.initializer.append(onnx.numpy_helper.from_array((1.0 / scale).astype(np.float32), inverse))
        smoothed = node.name + SMOOTH_SUFFIX + "_out"
        mul = onnx.helper.make_node("Mul", [node.input[0], inverse], [smoothed], name=node.name + SMOOTH_SUFFIX)
        node.input[0] = smoothed
        graph.node.insert(list(graph.node).index(node), mul)
    onnx.save(model, str(dst))
    return len(targets)

"""Graph passes on the exported ONNX model (onnx + onnxruntime; no torch): ONNX Runtime's transformer fusion, the
[CLS]-only last layer, and SkipLayerNormalization taken apart again in CPU int8 graphs.

- **fusion**: ``onnxruntime.transformers.optimizer`` (model_type bert) -> EmbedLayerNormalization, Attention,
  SkipLayerNormalization, BiasGelu. The fused graph is the package's fp32 variant (checked against PyTorch at export).
- **[CLS]-only last layer** (:func:`prune_to_cls`): written by hand, ORT's optimizer has no such pass.
- **SkipLayerNormalization unfused** (:func:`unfuse_skip_layernorm`): written by hand, ORT's optimizer only fuses.
  Applied to the dynamic int8 variants (CPU only), after quantization, which reads the fused pattern.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import require


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
    graph.initializer.extend(
        [
            onnx.numpy_helper.from_array(np.array([0], np.int64), "cls_slice_start"),
            onnx.numpy_helper.from_array(np.array([1], np.int64), "cls_slice_end"),
            onnx.numpy_helper.from_array(np.array([1], np.int64), "cls_slice_axis"),
        ]
    )
    at = list(graph.node).index(last) + 1
    for tensor, out in ((x, x_cls), (a, a_cls)):
        graph.node.insert(
            at,
            onnx.helper.make_node(
                "Slice", [tensor, "cls_slice_start", "cls_slice_end", "cls_slice_axis"], [out], name=f"cls_only_{out}"
            ),
        )
    onnx.save(model, str(dst))
    return True


def unfuse_skip_layernorm(src: str | Path, dst: str | Path) -> int:
    """Replace every SkipLayerNormalization (com.microsoft) by Add (input + skip [+ bias]) and the standard
    LayerNormalization (opset 17); returns how many were replaced (0: ``dst`` is ``src``'s graph unchanged).

    Why: onnxruntime 1.30+'s CPU kernel for SkipLayerNormalization measured ~9x slower than Add + LayerNormalization
    on the same tensors (24 nodes on [1, 37, 768], one thread: 2.68 against 0.29 ms), which made whole int8 graphs
    1.11-1.23x slower on BERTimbau-base and 1.33-1.39x on the default e5 guard (one 37-token text: 15.2 -> 13.0 ms
    and 2.21 -> 1.63 ms; benchmarks/results/2026-12-07-x86_64-2c-skip-layernorm.md). ONNX Runtime would fold a
    plain Add + LayerNormalization back into the node: the runtime's CPU sessions turn that transformer off
    (runtime.providers.CPU_DISABLED_OPTIMIZERS); fp32 and fp16 variants keep the node for CUDA's fused kernel.
    Releases 1.27-1.29 had it the other way round (the pair ~6x slower), hence the package's onnxruntime >= 1.30.
    Scores move by float rounding only (the same arithmetic in another order), which in a dynamic int8 graph can
    tip an activation across an int8 rounding step: on the defaults' 600-text test splits mean |dP| 0.0005-0.0009,
    max 0.026-0.033, 1-2 decisions of 613 at tau (their int8 against fp32: mean 0.0048, max 0.094).

    A node whose mean / inverse-std outputs are read is left fused (the standard op has no such outputs in this
    form); its fourth output (the input + skip + bias sum, read by some graphs' next residual) becomes the Add's. A
    graph below opset 17 (no standard LayerNormalization; export writes 17) is left as it is.
    """
    onnx = require("onnx", "quantize", "Rewriting an ONNX graph")
    helper = onnx.helper
    model = onnx.load(str(src))
    graph = model.graph
    nodes, replaced = [], 0
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    for node in graph.node if opset >= 17 else ():
        outputs = list(node.output) + [""] * (4 - len(node.output))
        if node.op_type != "SkipLayerNormalization" or node.domain != "com.microsoft" or outputs[1] or outputs[2]:
            nodes.append(node)
            continue
        inputs = list(node.input) + [""] * (5 - len(node.input))
        x, skip, gamma, beta, bias = inputs[:5]
        eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-12)
        name = node.name or f"skip_layernorm_{replaced}"
        total = outputs[3] or f"{name}_sum"
        added = f"{name}_input_skip" if bias else total
        nodes.append(helper.make_node("Add", [x, skip], [added], name=f"{name}_add"))
        if bias:
            nodes.append(helper.make_node("Add", [added, bias], [total], name=f"{name}_add_bias"))
        nodes.append(
            helper.make_node(
                "LayerNormalization",
                [total, gamma] + ([beta] if beta else []),
                [outputs[0]],
                name=f"{name}_layernorm",
                axis=-1,
                epsilon=eps,
            )
        )
        replaced += 1
    if replaced:
        del graph.node[:]
        graph.node.extend(nodes)
    onnx.save(model, str(dst))
    return replaced

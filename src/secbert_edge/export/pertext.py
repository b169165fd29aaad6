"""Dynamic int8 with activation scales per text: batches that are exact, written by hand (onnx only).

ONNX Runtime's ``quantize_dynamic`` quantizes each MatMul's input with one scale over the whole tensor
(DynamicQuantizeLinear), and its QAttention takes one scale too, so a text's score moves with its batch-mates (seen: up
to 7.6e-3) and the runtime has to score such a variant one text at a time. Nothing in onnxruntime.quantization (or
optimum) quantizes activations per row, so this module rewrites the fused fp32 graph itself, from standard ops and
ORT's MultiHeadAttention:

* each encoder MatMul input ``x`` [batch, tokens, k] gets its own uint8 scale per text, from the min and max over
  that text's real tokens (rows reduced first, padding rows zeroed on the small [batch, tokens] result: exact, as the
  grid always spans 0), and is quantized with one per-axis ``QuantizeLinear`` (axis 0: one scale per text). Inputs
  out of a LayerNorm or attention are symmetric (zero point 128 for every text, one scalar to MatMulInteger); the
  feed-forward output's input, after GELU in [-0.17, max], keeps an asymmetric grid with a zero point per text;
* weights are int8 per output channel (symmetric; 7-bit where u8s8 multiply-adds saturate, as ``reduce_range``);
* ``MatMulInteger`` then ``y = s_text * s_col * acc`` (ORT fuses the Cast and scale Mul into MatMulIntegerToFloat),
  less ``s_text * zp_text * s_col * colsum(Wq)`` for the asymmetric inputs: ORT's CPU MatMulInteger takes one zero
  point per tensor, so a per-text zero point is corrected after the integer product;
* each fused ``Attention`` becomes the quantized QKV projection, a Split and ``MultiHeadAttention`` with the attention
  mask as its key padding mask.

A text's integer products then do not depend on the other rows of the batch: a text scores bit for bit the same alone
and inside a padded, mixed-length batch (tested), so the runtime batches this variant like fp32. Measured on
BERTimbau-base (random weights, 35-token prompt, one thread, interleaved rounds, against ORT's per-tensor file one
text a call): 0.91x one text a call, 1.14-1.18x in batches of 8; max |dP| vs fp32 on the parity texts 1.98e-3
(per-tensor 1.78e-3), mean 5.5e-4 (7.5e-4). The embedding tables are still quantized by ORT
(QEmbedLayerNormalization), before this pass. Written by hand because nothing in onnxruntime.quantization or optimum
quantizes activations per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError, require

# Attention attributes this rewrite carries over to MultiHeadAttention; any other (unidirectional, past state,
# unequal qkv_hidden_sizes) is refused rather than silently dropped.
_ATTENTION_ATTRS = {"num_heads", "mask_filter_value", "scale"}
_ENCODER_MATMUL = "/encoder/layer."
_SKEWED = {"BiasGelu", "Gelu", "FastGelu", "Relu"}


class _Builder:
    def __init__(self, onnx, opset: int, weight_qmax: int):
        self.onnx, self.h, self.nh = onnx, onnx.helper, onnx.numpy_helper
        self.opset, self.qmax = opset, weight_qmax
        self.nodes: list = []
        self.inits: list = []
        self.quantized: dict[str, tuple[str, str, str | None]] = {}
        self._n = 0
        self._shared: dict[tuple, str] = {}
        self.mid_points = ""

    def name(self, stem: str) -> str:
        self._n += 1
        return f"pertext{self._n}_{stem}"

    def const(self, stem: str, value: np.ndarray) -> str:
        name = self.name(stem)
        self.inits.append(self.nh.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: Sequence[str], stem: str, out: str | None = None, **attrs) -> str:
        """One node; its output is named after the node unless ``out`` (a tensor of the source graph) is given."""
        name = self.name(stem)
        self.nodes.append(self.h.make_node(op, list(inputs), [out or name], name=name, **attrs))
        return out or name

    def shared(self, stem: str, value: np.ndarray) -> str:
        """One initializer per constant value, however many nodes read it."""
        key = (stem, np.asarray(value).dtype.str, np.asarray(value).tobytes())
        if key not in self._shared:
            self._shared[key] = self.const(stem, value)
        return self._shared[key]

    def reduce(self, op: str, x: str, axes: Sequence[int]) -> str:
        if self.opset >= 18:
            return self.node(op, [x, self.shared("axes", np.array(axes, np.int64))], op.lower(), keepdims=1)
        return self.node(op, [x], op.lower(), axes=list(axes), keepdims=1)

    def unsqueeze(self, x: str, axes: Sequence[int]) -> str:
        return self.node("Unsqueeze", [x, self.shared("axes", np.array(axes, np.int64))], "unsq")

    def quantize_input(self, x: str, keep: str | None, symmetric: bool) -> tuple[str, str, str | None]:
        """x [batch, tokens, k] -> (uint8 x, per-text scale [batch, 1, 1], scale * zero point [batch, 1, 1] or None
        when symmetric: zero point 128 for every text, which MatMulInteger takes as one scalar).

        ``keep`` [batch, tokens, 1] is 1.0 on real tokens and 0.0 on padding (None: every row is real). Rows are
        reduced first and padding zeroed on that small result, which is exact because the grid always spans 0
        (lo <= 0 <= hi); a Where over x itself cost 2 ms a text on BERTimbau-base."""
        if x in self.quantized:
            return self.quantized[x]
        tp = self.onnx.TensorProto
        tiny = self.shared("tiny", np.float32(1e-12))

        def per_text(op: str, value: str) -> str:  # [batch, tokens, 1] (or x) -> [batch, 1, 1]
            if keep is None:
                return self.reduce(op, value, (1, 2))
            return self.reduce(op, self.node("Mul", [value, keep], "real"), (1,))

        lo_rows = x if keep is None else self.reduce("ReduceMin", x, (2,))
        hi_rows = x if keep is None else self.reduce("ReduceMax", x, (2,))
        if symmetric:
            rows = self.node("Max", [self.node("Neg", [lo_rows], "nlo"), hi_rows], "amax")
            top = per_text("ReduceMax", rows)
            scale3 = self.node(
                "Max", [self.node("Mul", [top, self.shared("r127", np.float32(1 / 127))], "st"), tiny], "s"
            )
            zp, zs = self.mid_points, None
        else:
            zero, levels = self.shared("zero", np.float32(0)), self.shared("levels", np.float32(255))
            lo = self.node("Min", [per_text("ReduceMin", lo_rows), zero], "lo")
            hi = self.node("Max", [per_text("ReduceMax", hi_rows), zero], "hi")
            span = self.node("Div", [self.node("Sub", [hi, lo], "span"), levels], "step")
            scale3 = self.node("Max", [span, tiny], "s")
            zp_f = self.node("Round", [self.node("Div", [lo, self.node("Neg", [scale3], "ns")], "z")], "zr")
            zs = self.node("Mul", [zp_f, scale3], "zs")
            zp = self.node("Cast", [self.flat(zp_f)], "zp", to=tp.UINT8)
        out = (self.node("QuantizeLinear", [x, self.flat(scale3), zp], "q", axis=0), scale3, zs)
        self.quantized[x] = out
        return out

    def flat(self, x: str) -> str:  # [batch, 1, 1] -> [batch]
        return self.node("Reshape", [x, self.shared("flat", np.array([-1], np.int64))], "flat")

    def matmul(self, x: str, weight: np.ndarray, valid: str | None, symmetric: bool, out: str | None = None) -> str:
        tp = self.onnx.TensorProto
        w = weight.astype(np.float32)
        col = np.maximum(np.abs(w).max(axis=0), np.float32(1e-12)) / np.float32(self.qmax)
        wq = np.clip(np.rint(w / col), -self.qmax, self.qmax).astype(np.int8)
        q, scale, zs = self.quantize_input(x, valid, symmetric)
        inputs = [q, self.const("w", wq)] + ([self.shared("mid", np.uint8(128))] if zs is None else [])
        acc = self.node("Cast", [self.node("MatMulInteger", inputs, "acc")], "accf", to=tp.FLOAT)
        rescale = self.node("Mul", [scale, self.const("wscale", col.astype(np.float32))], "rs")
        last: tuple[str, list[str]] = ("Mul", [acc, rescale])
        if zs is not None:  # asymmetric: take the zero point's share, zp * colsum(Wq), back out after the product
            colsum = (wq.astype(np.int64).sum(axis=0) * col).astype(np.float32)
            shift = self.node("Mul", [zs, self.const("colsum", colsum)], "shift")
            last = ("Sub", [self.node(*last, "y"), shift])
        return self.node(*last, "mm", out=out)


def quantize_per_text(src: str | Path, dst: str | Path, *, reduce_range: bool, exclude: Sequence[str] = ()) -> int:
    """Rewrite the fused fp32 (or embedding-quantized) graph ``src`` into per-text dynamic int8 at ``dst``; returns how
    many MatMuls (Attention QKV projections included) became int8. ``exclude``: MatMul node names left in fp32."""
    onnx = require("onnx", "quantize", "int8 quantization")
    model = onnx.load(str(src))
    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < 13:
        raise ConfigError(
            f"per-text int8 needs a graph of opset 13 or later (per-axis QuantizeLinear); this one is {opset}"
        )
    if "attention_mask" not in {i.name for i in graph.input}:
        raise ConfigError(
            "per-text int8 needs the graph input attention_mask (it masks padding out of each text's scale)"
        )
    b = _Builder(onnx, opset, 63 if reduce_range else 127)
    inits = {t.name: t for t in graph.initializer}
    tp = onnx.TensorProto
    valid = b.unsqueeze(b.node("Cast", ["attention_mask"], "keep", to=tp.FLOAT), (2,))
    b.mid_points = b.node(  # zero point 128 per text, for QuantizeLinear's per-axis form
        "Expand",
        [
            b.shared("mid", np.uint8(128)),
            b.node(
                "Slice",
                [
                    b.node("Shape", ["attention_mask"], "shape"),
                    b.shared("i0", np.array([0], np.int64)),
                    b.shared("i1", np.array([1], np.int64)),
                ],
                "n",
            ),
        ],
        "mids",
    )
    producer = {out: n.op_type for n in graph.node for out in n.output}
    mask32 = b.node("Cast", ["attention_mask"], "mask32", to=tp.INT32)
    # Tensors past the [CLS]-only slice of the last layer hold one position, always a real token: no mask there.
    single: set[str] = set()
    rewritten, used = 0, set()
    for node in graph.node:
        if node.name.startswith("cls_only_") or any(i in single for i in node.input):
            single.update(node.output)
        mask = None if node.input and node.input[0] in single else valid
        # After GELU (the feed-forward output's input) values sit in [-0.17, max]: a symmetric grid would spend half
        # its levels on negatives that are not there, so those inputs keep a zero point.
        symmetric = bool(node.input) and producer.get(node.input[0]) not in _SKEWED
        if (
            node.op_type == "MatMul"
            and _ENCODER_MATMUL in node.name
            and node.name not in exclude
            and node.input[1] in inits
        ):
            b.matmul(
                node.input[0], onnx.numpy_helper.to_array(inits[node.input[1]]), mask, symmetric, out=node.output[0]
            )
            used.add(node.input[1])
            rewritten += 1
        elif node.op_type == "Attention":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            extra = set(attrs) - _ATTENTION_ATTRS
            if extra or len(node.input) > 4 and any(node.input[4:]) or node.input[1] not in inits:
                raise ConfigError(
                    f"per-text int8 rewrites plain encoder Attention nodes; {node.name} has "
                    f"{sorted(extra) or 'more inputs'}: use --activation-scales per-batch for this model"
                )
            weight = onnx.numpy_helper.to_array(inits[node.input[1]])
            qkv = b.matmul(node.input[0], weight, mask, symmetric)
            hidden = weight.shape[1] // 3
            parts = [b.name("q"), b.name("k"), b.name("v")]
            b.nodes.append(
                onnx.helper.make_node(
                    "Split",
                    [qkv, b.const("split", np.array([hidden] * 3, np.int64))],
                    parts,
                    name=b.name("split"),
                    axis=2,
                )
            )
            b.nodes.append(
                onnx.helper.make_node(
                    "MultiHeadAttention",
                    [*parts, node.input[2], mask32],
                    list(node.output),
                    name=b.name("mha"),
                    domain="com.microsoft",
                    **attrs,
                )
            )
            used.add(node.input[1])
            rewritten += 1
        else:
            b.nodes.append(node)
    keep = [t for t in graph.initializer if t.name not in used]
    del graph.node[:]
    graph.node.extend(b.nodes)
    del graph.initializer[:]
    graph.initializer.extend(keep + b.inits)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, str(dst))
    return rewritten

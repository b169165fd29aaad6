"""What the machine allows: measured fp32 / int8 GEMM rates through ONNX Runtime, the model's FLOPs per
length, and a description of the CPU. Latencies are then also reported as a fraction of the floor
(FLOPs / measured peak), which is what makes numbers from a noisy shared box comparable."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import numpy as np

from .timing import time_call

GEMM_SHAPE = (512, 768, 3072)  # M, K, N: BERT-base's feed-forward at 512 tokens
FLAGS_OF_INTEREST = (
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx_vnni",
    "amx_int8",
    "f16c",
    "asimd",
    "sve",
)


def bert_flops(length: int, *, hidden: int, layers: int, intermediate: int, head_hidden: int = 128) -> float:
    """Multiply-add FLOPs (2 per MAC) of one sequence through BERT + pooler + MLP head, batch 1."""
    per_layer = 8 * length * hidden**2 + 4 * length**2 * hidden + 4 * length * hidden * intermediate
    return float(layers * per_layer + 2 * hidden**2 + 2 * hidden * head_hidden + 2 * head_hidden * 2)


def cpu_description() -> dict:
    info = {"machine": platform.machine(), "logical_cpus": os.cpu_count(), "model": platform.processor() or ""}
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return info
    for line in text.split("\n"):
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not info.get("model_name"):
            info["model_name"] = value.strip()
        elif key in ("flags", "Features") and "flags" not in info:
            flags = set(value.split())
            info["flags"] = [f for f in FLAGS_OF_INTEREST if f in flags]  # type: ignore[assignment]
    return info


def _session(model, threads: int):
    import onnxruntime as ort

    from ..runtime.providers import session_options

    return ort.InferenceSession(model.SerializeToString(), session_options(threads), providers=["CPUExecutionProvider"])


def gemm_unavailable() -> str | None:
    """Why the GEMM peak probe cannot run here (it builds its graphs with ``onnx``), or None when it can."""
    import importlib.util

    if importlib.util.find_spec("onnx") is None:
        return (
            'GEMM peak probe skipped: it needs the onnx package (pip install "secbert-edge[bench]"); '
            "latencies are reported without their hardware floor"
        )
    return None


def gemm_rates(threads: int, shape=GEMM_SHAPE, repeats: int = 10) -> dict:
    """Measured GFLOP/s of an fp32 MatMul and GOP/s of a u8 x s8 MatMulInteger (what dynamic int8 runs)."""
    from ..errors import require

    onnx = require("onnx", "bench", "The GEMM peak probe")
    TensorProto, helper, numpy_helper = onnx.TensorProto, onnx.helper, onnx.numpy_helper

    m, k, n = shape
    rng = np.random.default_rng(0)
    opset = [helper.make_opsetid("", 17)]
    fp32 = helper.make_model(
        helper.make_graph(
            [helper.make_node("MatMul", ["a", "b"], ["y"])],
            "gemm_fp32",
            [helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])],
            [numpy_helper.from_array(rng.standard_normal((k, n)).astype(np.float32), "b")],
        ),
        opset_imports=opset,
    )
    int8 = helper.make_model(
        helper.make_graph(
            [helper.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"])],
            "gemm_int8",
            [helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k])],
            [helper.make_tensor_value_info("y", TensorProto.INT32, [m, n])],
            [
                numpy_helper.from_array(rng.integers(-127, 128, (k, n)).astype(np.int8), "b"),
                numpy_helper.from_array(np.array(128, dtype=np.uint8), "az"),
                numpy_helper.from_array(np.array(0, dtype=np.int8), "bz"),
            ],
        ),
        opset_imports=opset,
    )
    ops = 2.0 * m * k * n
    out = {"shape": list(shape), "threads": threads}
    for name, model, feed in (
        ("fp32_gflops", fp32, {"a": rng.standard_normal((m, k)).astype(np.float32)}),
        ("int8_gops", int8, {"a": rng.integers(0, 256, (m, k)).astype(np.uint8)}),
    ):
        session = _session(model, threads)

        def run(session: Any = session, feed: dict = feed) -> Any:
            return session.run(None, feed)

        best = time_call(run, warmup=3, repeats=repeats).min_ms
        out[name] = ops / (best / 1e3) / 1e9
    return out

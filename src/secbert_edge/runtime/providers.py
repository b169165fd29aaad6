"""Execution providers: chosen in exactly one function, then checked against what the session really uses.

Accepts either the ``onnxruntime`` or the ``onnxruntime-gpu`` wheel (both import as ``onnxruntime``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

from ..errors import ProviderError, require

ort = require("onnxruntime", "runtime", "Running a model package")

# Short names the CLI and API accept -> ONNX Runtime's provider names, in order of preference.
PROVIDERS = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
AUTO = "auto"
INSTALL_HINT = {
    "tensorrt": "install the gpu extra (onnxruntime-gpu in place of onnxruntime) and TensorRT's libraries",
    "cuda": "install the gpu extra: pip uninstall -y onnxruntime && pip install onnxruntime-gpu",
    "cpu": "reinstall onnxruntime",
}


class ProviderFallbackWarning(RuntimeWarning):
    """A requested execution provider is not used; inference runs on the next one in the chain."""


def available_providers() -> list[str]:
    return list(ort.get_available_providers())


def _short(name: str) -> str:
    for short, full in PROVIDERS.items():
        if name in (short, full):
            return short
    raise ProviderError(
        f"unknown execution provider {name!r}; choose from {', '.join(PROVIDERS)} or '{AUTO}' "
        f"(ONNX Runtime names such as 'CUDAExecutionProvider' work too)"
    )


def resolve_providers(
    requested: str | Sequence[str] | None = None,
    *,
    strict: bool = False,
    available: Sequence[str] | None = None,
) -> list[str]:
    """The ONNX Runtime provider list for a request: ``None``/'auto' = tensorrt > cuda > cpu where present.

    A requested provider this onnxruntime build lacks raises with ``strict``, else warns and is dropped.
    CPU always ends the chain, so a session can always be built.
    """
    available = list(available) if available is not None else available_providers()
    names = [AUTO] if requested is None else [requested] if isinstance(requested, str) else list(requested)
    if names == [AUTO]:
        chain = [short for short in PROVIDERS if PROVIDERS[short] in available]
    else:
        if not names:
            raise ProviderError("empty provider list; pass at least one of " + ", ".join(PROVIDERS))
        chain = []
        for name in names:
            short = _short(name)
            if PROVIDERS[short] not in available:
                message = (
                    f"execution provider '{short}' is not available in this onnxruntime build "
                    f"(available: {', '.join(available)}); {INSTALL_HINT[short]}"
                )
                if strict:
                    raise ProviderError(message)
                warnings.warn(message + "; falling back", ProviderFallbackWarning, stacklevel=2)
                continue
            if short not in chain:
                chain.append(short)
    if "cpu" not in chain:
        chain.append("cpu")
    return [PROVIDERS[short] for short in chain]


def check_session_providers(session, requested: Sequence[str], *, strict: bool = False) -> list[str]:
    """Compare ``session.get_providers()`` with the request; a silent fallback is reported (or raised)."""
    actual = list(session.get_providers())
    dropped = [p for p in requested if p not in actual]
    if dropped:
        message = (
            f"ONNX Runtime did not enable {', '.join(dropped)} (session uses {', '.join(actual)}); "
            "check the GPU driver / CUDA / TensorRT libraries, or request the providers you have"
        )
        if strict:
            raise ProviderError(message)
        warnings.warn(message, ProviderFallbackWarning, stacklevel=2)
    return actual


def physical_cores() -> int:
    """Physical cores (not hyper-threads) from /proc/cpuinfo, respecting the process's CPU affinity."""
    logical = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return logical
    cores, physical = set(), "0"
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            physical = value.strip()
        elif key == "core id":
            cores.add((physical, value.strip()))
    return max(1, min(logical, len(cores))) if cores else logical


def session_options(threads: int | None = None):
    """Explicit thread settings: intra-op = physical cores unless told otherwise; one inter-op thread."""
    if threads is not None and threads < 1:
        raise ProviderError(f"threads must be >= 1, got {threads}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or physical_cores()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options

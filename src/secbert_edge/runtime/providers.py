"""Execution providers: chosen in exactly one function, then checked against what the session really uses.

Accepts either the ``onnxruntime`` or the ``onnxruntime-gpu`` wheel (both import as ``onnxruntime``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

from ..errors import ProviderError, ProviderOptionError, require
from ..paths import cache_root

ort = require("onnxruntime", "runtime", "Running a model package")

# Short names the CLI and API accept -> ONNX Runtime's provider names, in order of preference.
PROVIDERS = {"tensorrt": "TensorrtExecutionProvider", "cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider"}
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
    raise ProviderOptionError(
        f"unknown execution provider {name!r}; choose from {', '.join(PROVIDERS)} or '{AUTO}' "
        f"(ONNX Runtime names such as 'CUDAExecutionProvider' work too)"
    )


def short_name(name: str) -> str:
    """'cpu', 'cuda' or 'tensorrt' for a short or ONNX Runtime provider name."""
    return _short(name)


def resolve_providers(
    requested: str | Sequence[str] | None = None, *, strict: bool = False, available: Sequence[str] | None = None
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
            raise ProviderOptionError("empty provider list; pass at least one of " + ", ".join(PROVIDERS))
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


def fallback_from(asked: Sequence[str] | str | None, actual: Sequence[str]) -> str | None:
    """The provider the user asked for first when the session does not run on it (else None); 'auto' never
    falls back (it takes what is there)."""
    names = [asked] if isinstance(asked, str) else list(asked or [])
    if not names or names[0] == AUTO:
        return None
    wanted = PROVIDERS[_short(names[0])]
    return wanted if not actual or actual[0] != wanted else None


def physical_cores() -> int:
    """Physical cores (not hyper-threads) from /proc/cpuinfo, respecting the process's CPU affinity."""
    logical = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return logical
    cores, physical = set(), "0"
    for line in text.split("\n"):
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            physical = value.strip()
        elif key == "core id":
            cores.add((physical, value.strip()))
    return max(1, min(logical, len(cores))) if cores else logical


def session_options(threads: int | None = None, spinning: bool | None = None, *, stop_spinning: bool = False):
    """Explicit thread settings: intra-op = physical cores unless told otherwise; one inter-op thread. ``spinning``
    False makes idle intra-op threads sleep instead of spinning (None: ONNX Runtime's default, spinning).
    ``stop_spinning``: they spin during a run but stop as soon as it returns (``session.force_spinning_stop``)."""
    if threads is not None and threads < 1:
        raise ProviderOptionError(f"threads must be >= 1, got {threads}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or physical_cores()
    if spinning is not None:
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    if stop_spinning:
        options.add_session_config_entry("session.force_spinning_stop", "1")
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options


# ---- GPU provider options ------------------------------------------------------------------------
# Everything below only builds option dictionaries and cache keys (pure functions, unit-tested on CPU);
# ONNX Runtime applies them when a CUDA or TensorRT session is built.

TENSORRT = PROVIDERS["tensorrt"]
CUDA = PROVIDERS["cuda"]
GPU_PROVIDERS = (TENSORRT, CUDA)


def default_cache_dir() -> Path:
    """Where TensorRT engines and timing caches go by default."""
    return cache_root() / "tensorrt"


def cuda_options(device_id: int = 0, gpu_mem_limit_mb: int | None = None) -> dict[str, str]:
    """CUDA provider options that keep device memory bounded as input shapes vary.

    ``kSameAsRequested`` grows the arena by exactly what a new shape needs instead of doubling it, and the
    runtime pads GPU batches to bucket edges and power-of-two row counts, so only a fixed set of shapes (and
    allocation sizes) ever reaches the arena. ``gpu_mem_limit_mb`` caps the arena outright.
    """
    if device_id < 0:
        raise ProviderOptionError(f"device_id must be >= 0, got {device_id}")
    options = {
        "device_id": str(device_id),
        "arena_extend_strategy": "kSameAsRequested",
        "do_copy_in_default_stream": "1",
    }
    if gpu_mem_limit_mb is not None:
        if gpu_mem_limit_mb < 64:
            raise ProviderOptionError(f"gpu_mem_limit_mb must be >= 64 (MB), got {gpu_mem_limit_mb}")
        options["gpu_mem_limit"] = str(int(gpu_mem_limit_mb) << 20)
    return options


def tensorrt_version() -> str | None:
    """TensorRT's version as loaded by this process: the ``tensorrt`` module, else libnvinfer; None if absent."""
    try:
        import tensorrt  # type: ignore[import-not-found]

        return str(tensorrt.__version__)
    except Exception:  # not installed, or installed without working libraries
        pass
    import ctypes

    for lib in ("libnvinfer.so.10", "libnvinfer.so.8", "libnvinfer.so", "nvinfer.dll"):
        try:
            code = int(ctypes.CDLL(lib).getInferLibVersion())
        except (OSError, AttributeError):
            continue
        # TensorRT 10 encodes major*10000 + minor*100 + patch; TensorRT 8 encodes major*1000 + minor*100 + patch.
        major, rest = (code // 10000, code % 10000) if code >= 100000 else (code // 1000, code % 1000)
        return f"{major}.{rest // 100}.{rest % 100}"
    return None


def trt_cache_key(model_sha256: str, *, ort_version: str, trt_version: str, flags: Sequence[str], profile: str) -> str:
    """Name of the engine-cache folder: a new model, ORT or TensorRT version, precision flag or profile gets a
    new folder, so an engine built for something else is never loaded (stale engines fail or mis-run)."""
    import hashlib

    detail = hashlib.sha256("|".join([ort_version, trt_version, *sorted(flags), profile]).encode()).hexdigest()[:12]
    safe = lambda v: "".join(c if c.isalnum() or c in ".-" else "_" for c in v)  # noqa: E731
    return f"{model_sha256[:16]}-ort{safe(ort_version)}-trt{safe(trt_version)}-{detail}"


def gpu_batch_sizes(max_batch_size: int) -> tuple[int, ...]:
    """Row counts GPU batches are padded to: powers of two up to, and including, ``max_batch_size``."""
    if max_batch_size < 1:
        raise ProviderOptionError(f"max_batch_size must be >= 1, got {max_batch_size}")
    sizes, n = [], 1
    while n < max_batch_size:
        sizes.append(n)
        n *= 2
    return (*sizes, max_batch_size)


def trt_profile_shapes(
    edges: Sequence[int], batch_sizes: Sequence[int], input_names: Sequence[str], *, per_bucket: bool = False
) -> dict[str, str]:
    """TensorRT optimisation profiles (``trt_profile_{min,opt,max}_shapes``) from bucket edges and batch sizes.

    Default: one profile spanning (1, 1) .. (largest batch, largest edge), tuned (opt) for the largest batch at
    the middle edge. Every shape the runtime sends lies inside it, so TensorRT never rebuilds an engine for a
    new shape. ``per_bucket``: one profile per bucket instead, tiling the lengths (previous edge + 1 .. edge),
    tuned at the edge (TensorRT tunes each length; ORT picks the profile) -- more build time and engine memory.
    """
    edges, batch_sizes = sorted(set(edges)), sorted(set(batch_sizes))
    if not edges or not batch_sizes or edges[0] < 1 or batch_sizes[0] < 1:
        raise ProviderOptionError(f"profiles need positive bucket edges and batch sizes, got {edges} and {batch_sizes}")
    b_max = batch_sizes[-1]
    if per_bucket:
        profiles = [((1, lo + 1), (b_max, e), (b_max, e)) for lo, e in zip([0, *edges[:-1]], edges)]
    else:
        profiles = [((1, 1), (b_max, edges[len(edges) // 2]), (b_max, edges[-1]))]
    out = {}
    for i, kind in enumerate(("min", "opt", "max")):
        out[f"trt_profile_{kind}_shapes"] = ",".join(
            f"{name}:{p[i][0]}x{p[i][1]}" for p in profiles for name in input_names
        )
    return out


def tensorrt_options(
    *,
    model_sha256: str,
    edges: Sequence[int],
    batch_sizes: Sequence[int],
    input_names: Sequence[str],
    device_id: int = 0,
    fp16: bool = False,
    int8: bool = False,
    cache_dir: str | Path | None = None,
    per_bucket_profiles: bool = False,
    ort_version: str | None = None,
    trt_version: str | None = None,
) -> dict[str, str]:
    """TensorRT provider options: precision flags, explicit profiles, and engine + timing caches in a folder
    keyed by the model's sha256 and the ORT/TensorRT versions. With the TensorRT version unknown the engine
    cache is switched off (warned), since a stale engine could not be told apart."""
    if device_id < 0:
        raise ProviderOptionError(f"device_id must be >= 0, got {device_id}")
    profiles = trt_profile_shapes(edges, batch_sizes, input_names, per_bucket=per_bucket_profiles)
    options = {
        "device_id": str(device_id),
        "trt_fp16_enable": "1" if fp16 else "0",
        "trt_int8_enable": "1" if int8 else "0",
        # int8 comes from the QDQ graph's own scales, never from a TensorRT calibration table.
        "trt_int8_use_native_calibration_table": "0",
        # LayerNorm's Pow/ReduceMean overflow in fp16: keep them in fp32.
        "trt_layer_norm_fp32_fallback": "1" if fp16 else "0",
        **profiles,
    }
    trt_version = trt_version if trt_version is not None else tensorrt_version()
    ort_version = ort_version or ort.__version__
    if trt_version is None:
        warnings.warn(
            "TensorRT's version could not be read; its engine cache is off, so every start builds the "
            "engine (install the tensorrt Python package to enable caching)",
            ProviderFallbackWarning,
            stacklevel=2,
        )
        return options
    flags = [f for f, on in (("fp16", fp16), ("int8", int8)) if on]
    key = trt_cache_key(
        model_sha256, ort_version=ort_version, trt_version=trt_version, flags=flags, profile=";".join(profiles.values())
    )
    folder = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    folder = folder / key
    options.update(
        {
            "trt_engine_cache_enable": "1",
            "trt_engine_cache_path": str(folder),
            "trt_timing_cache_enable": "1",
            "trt_timing_cache_path": str(folder),
        }
    )
    return options


def provider_options(chain: Sequence[str], *, cuda: dict[str, str], tensorrt: dict[str, str] | None) -> list:
    """``providers=`` for InferenceSession: each provider of the chain with its options (CPU takes none)."""
    out: list = []
    for name in chain:
        if name == CUDA:
            out.append((name, dict(cuda)))
        elif name == TENSORRT:
            if tensorrt is None:
                raise ProviderError("TensorRT was requested but no TensorRT options were built")
            out.append((name, dict(tensorrt)))
        else:
            out.append(name)
    return out


# ONNX Runtime graph transformers a CPU-only session turns off. SkipLayerNormFusion folds Add + LayerNormalization
# into SkipLayerNormalization, whose CPU kernel measured ~9x slower than the pair in onnxruntime 1.32 (24 nodes on
# [1, 37, 768], one thread: 2.68 against 0.29 ms; benchmarks/skip_layernorm.py): int8 variants are written unfused
# (export.optimize.unfuse_skip_layernorm) and must stay so; the TensorRT graphs gated on CPU gain too. A chain with a
# GPU provider keeps it (CUDA's fused kernel is the fast one there).
CPU_DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)


def disabled_optimizers(chain: Sequence[str]) -> list[str]:
    """``disabled_optimizers=`` for InferenceSession: CPU_DISABLED_OPTIMIZERS when no provider of the chain is a GPU."""
    return [] if any(name in GPU_PROVIDERS for name in chain) else list(CPU_DISABLED_OPTIMIZERS)


def session_device(chain: Sequence[str]) -> str:
    """'cuda' when the session's first provider runs on the GPU, else 'cpu' (where inputs are bound)."""
    return "cuda" if chain and chain[0] in GPU_PROVIDERS else "cpu"

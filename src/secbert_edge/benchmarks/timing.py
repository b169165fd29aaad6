"""Timing with warm-up and raw samples kept: p50/p95/p99 from ``perf_counter_ns``."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np


@dataclasses.dataclass(frozen=True)
class LatencyStats:
    n: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    min_ms: float
    samples_ms: tuple[float, ...]


def stats(samples_ms) -> LatencyStats:
    a = np.asarray(samples_ms, dtype=np.float64)
    if a.size == 0:
        raise ValueError("no timing samples")
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    return LatencyStats(
        int(a.size), float(a.mean()), float(p50), float(p95), float(p99), float(a.min()), tuple(float(x) for x in a)
    )


def time_call(
    fn: Callable[[], object], *, warmup: int = 3, repeats: int = 20, budget_s: float | None = None
) -> LatencyStats:
    """Run ``fn`` ``warmup`` times untimed, then up to ``repeats`` timed runs (stopping early past ``budget_s``)."""
    for _ in range(warmup):
        fn()
    samples = []
    started = time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1e6)
        if budget_s is not None and time.perf_counter() - started > budget_s and len(samples) >= 3:
            break
    return stats(samples)

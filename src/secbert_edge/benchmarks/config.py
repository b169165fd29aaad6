"""BenchConfig: what `bench` measures. Light on purpose (the CLI builds bench's options from its fields)."""

from __future__ import annotations

import dataclasses

from ..errors import ConfigError
from ..runtime import SessionConfig
from ..settings import setting


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    precisions: tuple[str, ...] | None = (
        None  # variant names; None: every variant the package has (TensorRT's excepted)
    )
    throughput_precisions: tuple[str, ...] | None = None  # None: the same as precisions
    session: SessionConfig = SessionConfig(providers=("cpu",))  # providers, threads, GPU settings (load()'s)
    lengths: tuple[int, ...] = setting((16, 64, 128, 256, 512), "Token lengths for batch-1 latency.", min=1)
    batch_sizes: tuple[int, ...] = setting((32,), "Comma-separated batch sizes for throughput.", min=1)
    bucketing: str = setting(
        "both",
        "on: the runtime's bucketing; off: pad-to-max and arrival-order dynamic padding; both.",
        choices=("on", "off", "both"),
    )
    workload_size: int = setting(200, "Texts in the 'mix' workload.", min=1)
    repeats: int = setting(20, "Timed runs per latency cell.", min=1)
    budget_s: float = setting(15.0, "Max seconds per latency cell.", flag="--budget", min=0, min_open=True)
    seed: int = 0
    cold_start: bool = setting(True, "Measure a fresh process's cold start and peak RSS.")
    gemm: bool = True

    def load_options(self) -> dict:
        return {"session": self.session}

    def __post_init__(self) -> None:
        if self.bucketing not in ("on", "off", "both"):
            raise ConfigError(f"bucketing must be on, off or both, got {self.bucketing!r}")
        if self.precisions == () or not self.lengths or not self.batch_sizes:
            raise ConfigError("precisions, lengths and batch sizes must not be empty")
        if min(self.batch_sizes) < 1 or min(self.lengths) < 1 or self.repeats < 1 or self.workload_size < 1:
            raise ConfigError("lengths, batch sizes, repeats and workload size must be >= 1")

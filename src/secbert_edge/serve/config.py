"""Configuration of `secbert-edge serve`: one frozen dataclass, validated when built."""

from __future__ import annotations

import dataclasses

from ..errors import ConfigError


@dataclasses.dataclass(frozen=True)
class ServeConfig:
    """How the service batches, limits and times out requests. Every limit is explicit."""

    host: str = "127.0.0.1"  # loopback unless told otherwise
    port: int = 8000
    max_batch_size: int = 64  # texts packed into one runtime call across concurrent requests
    max_wait_ms: float = 0.0  # extra wait for batch-mates once the worker is free (0 = take what is queued now)
    # Concurrent runtime calls per micro-batch (slices of it) on the one session. None = auto: 2 for variants that
    # run text by text (dynamic int8: one call does not fill the cores), else 1.
    parallel_runs: int | None = None
    max_texts: int = 256  # texts per request (413 beyond)
    max_body_bytes: int = 1_048_576  # request body bytes (413 beyond)
    max_queue_texts: int = 8192  # texts waiting for the worker (503 + Retry-After beyond)
    request_timeout_s: float = 30.0  # a request waiting longer for its results gets 504
    keep_alive_s: float = 5.0  # idle keep-alive connections are closed after this
    shutdown_timeout_s: float = 30.0  # SIGTERM: time given to in-flight requests before connections are closed
    api_key: str | None = None  # when set, every /v1 request needs `Authorization: Bearer <key>`
    log_texts: bool = False  # prompts can be sensitive: never logged unless asked

    def __post_init__(self) -> None:
        if self.parallel_runs is not None and self.parallel_runs < 1:
            raise ConfigError(f"parallel_runs must be >= 1 (or None for auto), got {self.parallel_runs}")
        for name in ("max_batch_size", "max_texts", "max_body_bytes", "max_queue_texts"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_wait_ms", "request_timeout_s", "keep_alive_s", "shutdown_timeout_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.request_timeout_s == 0:
            raise ConfigError("request_timeout_s must be > 0 (seconds a request may wait for its results)")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be in 0..65535, got {self.port}")
        if self.api_key is not None and not self.api_key:
            raise ConfigError("api_key is empty; set a non-empty key or leave it unset")

"""Configuration of `secbert-edge serve`: one frozen dataclass, validated when built."""

from __future__ import annotations

import dataclasses

from ..errors import ConfigError
from ..settings import setting


@dataclasses.dataclass(frozen=True)
class ServeConfig:
    """How the service batches, limits and times out requests. Every limit is explicit."""

    host: str = setting(
        "127.0.0.1", "Address to bind. Loopback by default; 0.0.0.0 exposes the service to the network."
    )
    port: int = setting(8000, "Port to bind (0: any free port).", min=0, max=65535)
    # None = the serving plan's (the one `secbert-edge tune` measured for this package and box, else the rule); a
    # value given here overrides the plan's.
    max_batch_size: int | None = setting(
        None, "Texts packed into one inference call across concurrent requests [default: the serving plan's].", min=1
    )
    max_wait_ms: float | None = setting(
        None,
        "Extra wait for batch-mates once a worker is free (0: take what is queued, never idle) [default: the "
        "serving plan's].",
        min=0,
    )
    parallel_runs: int | None = setting(
        None,
        "Inference workers, each taking micro-batches from the one queue into its own runtime call, concurrently "
        "[default: the serving plan's].",
        min=1,
    )
    sessions: int | None = setting(
        None,
        "ONNX Runtime sessions: 1 = one shared by every parallel run, or one per run (more memory) [default: the "
        "serving plan's].",
        min=1,
    )
    solo_threads: int | None = setting(
        None,
        "With several parallel runs: intra-op threads of one more session, used when a batch is the only work in "
        "the service (one request alone gets every core; 0: off) [default: the serving plan's].",
        min=0,
    )
    solo_stop_spinning: bool | None = setting(
        None,
        "The solo session's pool threads stop spinning as each run returns (--solo-stop-spinning) or spin on into "
        "the gap before the next request (--no-solo-stop-spinning) [default: the serving plan's].",
    )
    max_texts: int = setting(256, "Texts per request (413 beyond).", min=1)
    max_body_bytes: int = setting(1_048_576, "Request body size (413 beyond).", min=1)
    max_queue_texts: int = setting(
        8192, "Texts waiting for the worker before new requests get 503 + Retry-After.", min=1
    )
    request_timeout_s: float = setting(30.0, "A request waiting longer for its results gets 504.", min=0, min_open=True)
    keep_alive_s: float = 5.0  # idle keep-alive connections are closed after this
    shutdown_timeout_s: float = setting(30.0, "On SIGTERM: time given to in-flight requests before closing.", min=0)
    api_key: str | None = None  # when set, every /v1 request needs `Authorization: Bearer <key>` (CLI: --api-key-env)
    log_texts: bool = setting(False, "Also log the texts of each request (off: prompts can be sensitive).")

    def __post_init__(self) -> None:
        for name in ("parallel_runs", "sessions", "max_batch_size"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1 (or None: the serving plan's), got {getattr(self, name)}")
        for name in ("max_texts", "max_body_bytes", "max_queue_texts"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_wait_ms is not None and self.max_wait_ms < 0:
            raise ConfigError(f"max_wait_ms must be >= 0 (or None: the serving plan's), got {self.max_wait_ms}")
        for name in ("request_timeout_s", "keep_alive_s", "shutdown_timeout_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.request_timeout_s == 0:
            raise ConfigError("request_timeout_s must be > 0 (seconds a request may wait for its results)")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be in 0..65535, got {self.port}")
        if self.api_key is not None and not self.api_key:
            raise ConfigError("api_key is empty; set a non-empty key or leave it unset")

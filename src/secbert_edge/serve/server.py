"""Run the service under uvicorn: load the package once, warm it, serve, drain on SIGTERM, exit 0."""

from __future__ import annotations

import gc
import importlib.util
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from ..errors import require
from .app import ServeApp
from .config import ServeConfig

log = logging.getLogger("secbert_edge.serve")


def load_classifier(
    model_dir: str | Path, variant: str | None = None, session: Any = None, plan: str | Path | None = "auto"
) -> Any:
    """The one place the service loads a package: ``variant`` None = the package's default variant; ``session`` a
    SessionConfig (providers, threads, GPU settings); ``plan`` 'auto' (the tuned plan for this package and box, else
    the rule), 'rule' or a plan file (see secbert_edge.runtime.plan)."""
    from ..runtime import SessionConfig, load

    return load(
        model_dir, variant=variant, session=session or SessionConfig(), plan=None if plan is None else str(plan)
    )


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def run(classifier: Any, config: ServeConfig, *, access_log: bool = True) -> int:
    """Serve until SIGTERM/SIGINT: then stop accepting, let in-flight requests finish, drain the queue, return 0."""
    uvicorn = require("uvicorn", "serve", "secbert-edge serve")
    _configure_logging()
    require("prometheus_client", "serve", "secbert-edge serve metrics").disable_created_metrics()  # less noise
    if not access_log:
        log.setLevel(logging.WARNING)
    app = ServeApp(classifier, config)
    fast = {name: importlib.util.find_spec(name) is not None for name in ("uvloop", "httptools")}
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            lifespan="on",
            access_log=False,
            log_level="warning",
            loop="uvloop" if fast["uvloop"] else "asyncio",
            http="httptools" if fast["httptools"] else "h11",
            timeout_keep_alive=max(1, round(config.keep_alive_s)),
            timeout_graceful_shutdown=round(config.shutdown_timeout_s) or None,
            backlog=2048,
            server_header=False,
            date_header=False,
        )
    )
    received: list[int] = []
    # uvicorn restores the handlers it found and re-raises the signal it caught once it has shut down; these
    # handlers take that re-raise, so a drained shutdown exits 0 instead of dying by the signal.
    previous = {sig: signal.signal(sig, lambda s, frame: received.append(s)) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        given = f"; given explicitly: {', '.join(app.plan_overrides)}" if app.plan_overrides else ""
        log.warning(
            "serving %s (%s) on http://%s:%d; plan %s: %s%s (%s)",
            app.model["name"],
            app.model["variant"],
            config.host,
            config.port,
            app.plan_source,
            app.plan.describe(),
            given,
            app.plan_reason,
        )
        # What is loaded by now (libraries, the model, the app) lives as long as the process: out of the cyclic
        # collector's sight, a full collection scans only what requests allocate (a shorter pause in the tail).
        gc.collect()
        gc.freeze()
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not server.started:
        return 1  # could not bind (uvicorn logged why)
    log.warning("stopped%s", f" by signal {received[0]}" if received else "")
    return 0

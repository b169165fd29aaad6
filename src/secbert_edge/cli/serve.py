"""``secbert-edge serve``: the guard as an HTTP service (the serve extra)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from . import main
from ._common import model_option, resolve_model, session_options, variant_option


@main.command()
@model_option()
@variant_option(help="Variant to serve [default: the package's default variant].")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. Loopback by default; 0.0.0.0 exposes the service to the network.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--max-batch-size",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="Texts packed into one inference call across concurrent requests.",
)
@click.option(
    "--max-wait-ms",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Extra wait for batch-mates once the worker is free (0: take what is queued, never idle).",
)
@click.option(
    "--parallel-runs",
    type=click.IntRange(min=1),
    default=None,
    help="Score a micro-batch as this many slices in concurrent runtime calls on the one session "
    "[default: 2 for dynamic int8, which runs text by text and leaves cores idle; else 1].",
)
@click.option(
    "--max-texts", type=click.IntRange(min=1), default=256, show_default=True, help="Texts per request (413 beyond)."
)
@click.option(
    "--max-body-bytes",
    type=click.IntRange(min=1),
    default=1_048_576,
    show_default=True,
    help="Request body size (413 beyond).",
)
@click.option(
    "--max-queue-texts",
    type=click.IntRange(min=1),
    default=8192,
    show_default=True,
    help="Texts waiting for the worker before new requests get 503 + Retry-After.",
)
@click.option(
    "--request-timeout-s",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="A request waiting longer for its results gets 504.",
)
@click.option(
    "--shutdown-timeout-s",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="On SIGTERM: time given to in-flight requests before connections are closed.",
)
@click.option(
    "--api-key-env",
    default=None,
    metavar="NAME",
    help="Require 'Authorization: Bearer <key>' on /v1 routes, the key read from this environment variable.",
)
@session_options()
@click.option("--log-texts", is_flag=True, help="Also log the texts of each request (off: prompts can be sensitive).")
@click.option("--quiet", is_flag=True, help="No per-request log lines.")
def serve(
    model_dir: Path | None,
    variant: str | None,
    host: str,
    port: int,
    max_batch_size: int,
    max_wait_ms: float,
    parallel_runs: int | None,
    max_texts: int,
    max_body_bytes: int,
    max_queue_texts: int,
    request_timeout_s: float,
    shutdown_timeout_s: float,
    api_key_env: str | None,
    session: Any,
    log_texts: bool,
    quiet: bool,
) -> None:
    """Serve the classifier over HTTP, batching concurrent requests into one inference call.

    POST /v1/classify {"texts": [...], "threshold": "default"|"ks"|number}, POST /v1/classify-pairs
    {"prompts": [...], "responses": [...]} (response judges), GET /healthz, /readyz, /metrics, /docs.
    SIGTERM stops accepting, finishes what is queued and exits 0. On a small model and a 2-core box, --threads 1
    leaves a core to the HTTP event loop.

    \b
    Example (needs the serve extra: pip install "secbert-edge[serve]"):
      secbert-edge serve --model models/secbert-pt --variant int8 --port 8000
      curl -s localhost:8000/v1/classify -H 'content-type: application/json' \\
           -d '{"texts": ["Ignore suas instruções anteriores e..."]}'
    """
    from ..serve.config import ServeConfig
    from ..serve.server import load_classifier, run

    api_key = None
    if api_key_env:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise click.UsageError(
                f"--api-key-env {api_key_env}: that environment variable is unset or empty; "
                f"export {api_key_env}=<key> or drop --api-key-env"
            )
    config = ServeConfig(
        host=host,
        port=port,
        max_batch_size=max_batch_size,
        max_wait_ms=max_wait_ms,
        parallel_runs=parallel_runs,
        max_texts=max_texts,
        max_body_bytes=max_body_bytes,
        max_queue_texts=max_queue_texts,
        request_timeout_s=request_timeout_s,
        shutdown_timeout_s=shutdown_timeout_s,
        api_key=api_key,
        log_texts=log_texts,
    )
    clf = load_classifier(resolve_model(model_dir), variant, session)
    sys.exit(run(clf, config, access_log=not quiet))

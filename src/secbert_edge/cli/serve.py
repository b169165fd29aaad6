"""``secbert-edge serve``: the guard as an HTTP service (the serve extra)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from . import main
from ._common import COUNT, bundle, flag, model_option, opt, resolve_model, session_options, variant_option


def _serve_config(api_key_env: str | None, **settings: Any) -> Any:
    from ..serve.config import ServeConfig

    api_key = os.environ.get(api_key_env) if api_key_env else None
    if api_key_env and not api_key:
        raise click.UsageError(
            f"--api-key-env {api_key_env}: that environment variable is unset or empty; export {api_key_env}=<key> "
            "or drop --api-key-env"
        )
    return ServeConfig(api_key=api_key, **settings)


@main.command()
@model_option()
@variant_option(help="Variant to serve [default: the package's default variant].")
@bundle(
    "config",
    _serve_config,
    opt(
        "--host",
        "Address to bind. Loopback by default; 0.0.0.0 exposes the service to the network.",
        default="127.0.0.1",
    ),
    opt("--port", click.IntRange(0, 65535), "Port to bind (0: any free port).", default=8000),
    opt("--max-batch-size", COUNT, "Texts packed into one inference call across concurrent requests.", default=64),
    opt(
        "--max-wait-ms",
        click.FloatRange(min=0),
        "Extra wait for batch-mates once the worker is free (0: take what is queued, never idle).",
        default=0.0,
    ),
    opt(
        "--parallel-runs",
        COUNT,
        "Score a micro-batch as this many slices in concurrent runtime calls on the one session [default: 2 for "
        "dynamic int8, which runs text by text and leaves cores idle; else 1].",
    ),
    opt("--max-texts", COUNT, "Texts per request (413 beyond).", default=256),
    opt("--max-body-bytes", COUNT, "Request body size (413 beyond).", default=1_048_576),
    opt(
        "--max-queue-texts",
        COUNT,
        "Texts waiting for the worker before new requests get 503 + Retry-After.",
        default=8192,
    ),
    opt(
        "--request-timeout-s",
        click.FloatRange(min=0, min_open=True),
        "A request waiting longer gets 504.",
        default=30.0,
    ),
    opt("--shutdown-timeout-s", click.FloatRange(min=0), "On SIGTERM: time given to in-flight requests.", default=30.0),
    opt(
        "--api-key-env",
        "Require 'Authorization: Bearer <key>' on /v1 routes, the key read from this environment variable.",
        metavar="NAME",
    ),
    flag("--log-texts", "Also log the texts of each request (off: prompts can be sensitive)."),
)
@session_options()
@flag("--quiet", "No per-request log lines.")
def serve(model_dir: Path | None, variant: str | None, config: Any, session: Any, quiet: bool) -> None:
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
    from ..serve.server import load_classifier, run

    clf = load_classifier(resolve_model(model_dir), variant, session)
    sys.exit(run(clf, config, access_log=not quiet))

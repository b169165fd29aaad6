"""``secbert-edge serve``: the guard as an HTTP service (the serve extra)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from ..serve.config import ServeConfig
from . import main
from ._common import bundle, config_options, flag, model_option, opt, resolve_model, session_options, variant_option


def _serve_config(api_key_env: str | None, **settings: Any) -> ServeConfig:
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
    *config_options(ServeConfig),
    opt(
        "--api-key-env",
        "Require 'Authorization: Bearer <key>' on /v1 routes, the key read from this environment variable.",
        metavar="NAME",
    ),
)
@session_options()
@opt(
    "--plan",
    "Serving plan (parallel runs, threads, sessions, batch, wait): 'auto' = the one `secbert-edge tune` measured for "
    "this package, variant, provider and box, else the rule; 'rule'; or a plan file (refused, and the rule used, "
    "when it does not match). Options given explicitly override the plan's values.",
    default="auto",
    metavar="auto|rule|FILE",
)
@flag("--quiet", "No per-request log lines.")
def serve(model_dir: Path | None, variant: str | None, config: Any, session: Any, plan: str, quiet: bool) -> None:
    """Serve the classifier over HTTP, batching concurrent requests into one inference call.

    POST /v1/classify {"texts": [...], "threshold": "default"|"ks"|number}, POST /v1/classify-pairs
    {"prompts": [...], "responses": [...]} (response judges), GET /healthz, /readyz, /metrics, /docs.
    SIGTERM stops accepting, finishes what is queued and exits 0.

    How it uses the cores (parallel runs, threads per run, sessions, batch, wait) comes from the serving plan that
    `secbert-edge tune` measured for this package on this box; without one it starts from a safe rule. The startup
    line and /metrics (secbert_plan_info) say which, and why.

    \b
    Example (needs the serve extra: pip install "secbert-edge[serve]"):
      secbert-edge serve --model models/secbert-pt --variant int8 --port 8000
      curl -s localhost:8000/v1/classify -H 'content-type: application/json' \\
           -d '{"texts": ["Ignore suas instruções anteriores e..."]}'
    """
    from ..serve.server import load_classifier, run

    clf = load_classifier(resolve_model(model_dir), variant, session, plan)
    sys.exit(run(clf, config, access_log=not quiet))

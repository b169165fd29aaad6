"""Where the embedded default model packages live.

In a source checkout they are the repository's top-level ``models/`` folder; ``SECBERT_EDGE_MODELS``
overrides the folder.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_PROMPT_MODEL = "secbert-pt-demo"
DEFAULT_RESPONSE_MODEL = "response-judge-demo"


def models_dir() -> Path:
    override = os.environ.get("SECBERT_EDGE_MODELS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "models"


def default_package(name: str = DEFAULT_PROMPT_MODEL) -> Path | None:
    path = models_dir() / name
    return path if (path / "manifest.json").is_file() else None

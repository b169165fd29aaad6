"""Where the embedded default model packages live.

Looked up in this order:

1. ``$SECBERT_EDGE_MODELS/<name>`` when that variable is set (and nothing else: an override that points nowhere
   is reported, not silently replaced);
2. the copy installed with the distribution (package data ``secbert_edge._defaults.<name with _>``, found with
   ``importlib.resources``; a wheel ships manifest.json, tokenizer.json, the ONNX variants and README.md);
3. the source checkout's top-level ``models/<name>`` folder (an editable install, or running from the tree).
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_PROMPT_MODEL = "secbert-pt-demo"
DEFAULT_RESPONSE_MODEL = "response-judge-demo"
DEFAULT_MODELS = (DEFAULT_PROMPT_MODEL, DEFAULT_RESPONSE_MODEL)
ENV_MODELS = "SECBERT_EDGE_MODELS"
_DATA_PACKAGE = "secbert_edge._defaults"
MANIFEST = "manifest.json"


def checkout_models_dir() -> Path:
    """The source checkout's models/ folder (it may not exist in an installed copy)."""
    return Path(__file__).resolve().parents[3] / "models"


def installed_package(name: str) -> Path | None:
    """The copy of default package ``name`` installed as package data, or None."""
    from importlib import resources

    try:
        # The parent is a regular package (it has __init__.py), so files() gives its real folder; the data folders
        # below it have no __init__.py (files() on such a namespace package would give a MultiplexedPath).
        root = resources.files(_DATA_PACKAGE)
    except (ModuleNotFoundError, ValueError):
        return None
    if not isinstance(root, Path):  # e.g. a zip import: no real folder for onnxruntime to open
        return None
    path = root / name.replace("-", "_")
    return path if (path / MANIFEST).is_file() else None


def candidates(name: str) -> list[Path]:
    """Every place default package ``name`` is looked for, in order."""
    override = os.environ.get(ENV_MODELS)
    if override:
        return [Path(override) / name]
    found = installed_package(name)
    return ([found] if found else []) + [checkout_models_dir() / name]


def default_package(name: str = DEFAULT_PROMPT_MODEL) -> Path | None:
    """The folder of default package ``name`` (one of DEFAULT_MODELS), or None when none of the places has it."""
    if name not in DEFAULT_MODELS:
        raise ValueError(f"unknown default package {name!r}; choose from {', '.join(DEFAULT_MODELS)}")
    return next((p for p in candidates(name) if (p / MANIFEST).is_file()), None)


def default_for(pairs: bool = False) -> Path | None:
    """The default package for a task: the response judge for (prompt, response) pairs, else the prompt guard."""
    return default_package(DEFAULT_RESPONSE_MODEL if pairs else DEFAULT_PROMPT_MODEL)


def not_found_message(pairs: bool = False) -> str:
    name = DEFAULT_RESPONSE_MODEL if pairs else DEFAULT_PROMPT_MODEL
    looked = ", ".join(str(p) for p in candidates(name))
    return (
        f"no --model given and no embedded default package {name!r} found (looked in: {looked}); pass --model "
        f"DIR (a folder written by `secbert-edge export`), or set {ENV_MODELS} to a folder holding {name}/"
    )


def is_embedded(path: str | Path) -> bool:
    """True when ``path`` is one of the shipped default packages (installed copy or the checkout's models/)."""
    try:
        resolved = Path(path).resolve()
    except OSError:
        return False
    for name in DEFAULT_MODELS:
        places = [checkout_models_dir() / name]
        installed = installed_package(name)
        if installed is not None:
            places.append(installed)
        if any(resolved == p.resolve() for p in places):
            return True
    return False

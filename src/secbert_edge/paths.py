"""Where secbert-edge keeps what it can recompute: TensorRT engines, reference scores, verified file digests."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

CACHE_ENV = "SECBERT_EDGE_CACHE"


def cache_root() -> Path:
    """$SECBERT_EDGE_CACHE, else $XDG_CACHE_HOME/secbert-edge, else ~/.cache/secbert-edge."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "secbert-edge")
    return Path(root).expanduser()


def replace_atomically(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write ``path`` through ``write(file)`` on a temporary file in the same folder, then a rename: a reader never
    sees half a file, a crash or a failed ``write`` leaves the old one, and a file hard-linked elsewhere (a package
    copied with links) is replaced here, never rewritten under the other names."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    """``text`` (UTF-8) to ``path`` with :func:`replace_atomically`."""
    return replace_atomically(path, lambda f: f.write(text.encode("utf-8")))

"""Where secbert-edge keeps what it can recompute: TensorRT engines, reference scores, verified file digests."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "SECBERT_EDGE_CACHE"


def cache_root() -> Path:
    """$SECBERT_EDGE_CACHE, else $XDG_CACHE_HOME/secbert-edge, else ~/.cache/secbert-edge."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "secbert-edge")
    return Path(root).expanduser()


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder and a rename: a reader never
    sees half a file, a crash leaves the old one, and a file hard-linked elsewhere (a package copied with links) is
    replaced here, never rewritten under the other names."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path

"""Where secbert-edge keeps what it can recompute: TensorRT engines, reference scores, verified file digests."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "SECBERT_EDGE_CACHE"


def cache_root() -> Path:
    """$SECBERT_EDGE_CACHE, else $XDG_CACHE_HOME/secbert-edge, else ~/.cache/secbert-edge."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "secbert-edge")
    return Path(root).expanduser()

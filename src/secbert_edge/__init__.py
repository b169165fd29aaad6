"""secbert-edge: fast, verified inference for BERT safety classifiers (SecBERT-PT and response judges).

The top level imports nothing heavy. ``load`` opens a model package with ONNX Runtime (no torch needed).
"""

from __future__ import annotations

from ._version import __version__
from .errors import (
    CheckpointError,
    InputError,
    MissingDependencyError,
    PackageError,
    ParityError,
    ProviderError,
    SecbertEdgeError,
)

__all__ = [
    "__version__",
    "load",
    "CheckpointError",
    "InputError",
    "MissingDependencyError",
    "PackageError",
    "ParityError",
    "ProviderError",
    "SecbertEdgeError",
]


def load(package_dir, config=None, **overrides):  # type: ignore[no-untyped-def]
    """Open a model package for inference; see :func:`secbert_edge.runtime.load`."""
    from .runtime import load as _load

    return _load(package_dir, config, **overrides)

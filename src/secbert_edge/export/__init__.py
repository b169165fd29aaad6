"""Export side: checkpoint -> model package (needs the ``export`` extra: torch, transformers, onnx).

Imports are lazy: ``secbert_edge.export.quantize`` (int8 / fp16 variants of an existing package) needs only the
runtime and onnx, so importing this package must not pull in torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .package import export_package

__all__ = ["export_package"]


def __getattr__(name: str) -> Any:
    if name == "export_package":
        from .package import export_package

        return export_package
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

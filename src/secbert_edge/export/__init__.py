"""Export side (needs the ``export`` extra: torch, transformers, onnx): checkpoint -> model package."""

from .package import export_package

__all__ = ["export_package"]

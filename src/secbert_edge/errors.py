"""One exception family for secbert-edge.

Every error names the value that was wrong, the limit or expectation, and the fix. Subclasses also
inherit the matching builtin so callers can catch either.
"""

from __future__ import annotations


class SecbertEdgeError(Exception):
    """Base class of every error this package raises on purpose."""


class CheckpointError(SecbertEdgeError, ValueError):
    """A checkpoint cannot be read or does not match the model it should load into."""


class PackageError(SecbertEdgeError, ValueError):
    """A model package (manifest, ONNX variants, tokenizer) is missing, corrupt or inconsistent."""


class ParityError(SecbertEdgeError, ValueError):
    """An exported variant disagrees with the PyTorch reference beyond its tolerance."""


class ConfigError(SecbertEdgeError, ValueError):
    """An option or setting is out of range, of the wrong type, or does not combine with another."""


class InputError(SecbertEdgeError, ValueError):
    """One input item cannot be scored (empty, not text, invalid bytes, too large)."""


class ProviderError(SecbertEdgeError, RuntimeError):
    """An ONNX Runtime execution provider is unknown, unavailable, or was silently replaced."""


class ProviderOptionError(ProviderError, ConfigError):
    """A provider setting is wrong as given (an unknown provider name, a thread count, a device id): a usage error,
    unlike a provider this machine lacks."""


class JobError(SecbertEdgeError, RuntimeError):
    """A distributed job stopped part-way (a lost node, worker or driver connection); what it wrote is kept."""


class MissingDependencyError(SecbertEdgeError, ImportError):
    """An optional dependency (an extra) is not installed."""


def require(module: str, extra: str, purpose: str):
    """Import ``module`` late, or raise a MissingDependencyError with the install hint."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        if extra == "runtime":  # the base install, not an extra
            fix = (
                "it is part of the base install: reinstall secbert-edge (pip install --force-reinstall "
                "secbert-edge), or pip install onnxruntime (onnxruntime-gpu on GPU machines)"
                if module.partition(".")[0] == "onnxruntime"
                else f"it is part of the base install: reinstall secbert-edge (pip install --force-reinstall "
                f"secbert-edge) or pip install {module.partition('.')[0]}"
            )
        else:
            fix = f'install the extra: pip install "secbert-edge[{extra}]"'
        raise MissingDependencyError(f"{purpose} needs the '{module}' package, which is not installed; {fix}") from err

"""Runtime (onnxruntime, tokenizers, numpy only): load a model package and classify texts."""

from .classifier import Classifier, Prediction, RuntimeConfig, SessionConfig, check_text, load
from .providers import PROVIDERS, ProviderFallbackWarning, available_providers, resolve_providers
from .tokenization import LongInputPolicy

__all__ = [
    "Classifier",
    "LongInputPolicy",
    "PROVIDERS",
    "Prediction",
    "ProviderFallbackWarning",
    "RuntimeConfig",
    "SessionConfig",
    "available_providers",
    "check_text",
    "load",
    "resolve_providers",
]

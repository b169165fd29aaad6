"""One declaration per setting: a field of a frozen config dataclass (SessionConfig, RuntimeConfig, TrainConfig,
DistillConfig, BenchConfig, ServeConfig) carries its default, its help text and its bounds. The help documents the
library API and is the command line's ``--help``: the CLI builds its options from these fields (as transformers'
HfArgumentParser does from TrainingArguments), so a setting cannot be spelled or described two ways.

Only documented fields (``setting(..., help)``) become options; the rest stay library-only. Stdlib only: the CLI
imports the configs at start-up, so their modules never import torch.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def setting(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    min: float | None = None,
    max: float | None = None,
    min_open: bool = False,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A dataclass field with its help text; ``flag`` overrides the option name (default ``--field-name``), ``min``/
    ``max``/``min_open`` bound a number and ``choices`` a string, so the command line refuses a bad value by name."""
    bounds = {"min": min, "max": max, "min_open": min_open or None, "choices": choices, "flag": flag}
    metadata = {"help": help, **{k: v for k, v in bounds.items() if v is not None}}
    return dataclasses.field(default=default, metadata=metadata)


def documented(cls: type) -> list[dataclasses.Field]:
    """The fields of a config dataclass that carry help text (what the command line exposes), in order."""
    return [f for f in dataclasses.fields(cls) if "help" in f.metadata]

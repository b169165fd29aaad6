"""What every command shares: the group that maps errors to exit codes, option bundles, the default model, output."""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .._version import __version__
from ..errors import ParityError, SecbertEdgeError
from ..variants import NAMES as VARIANT_NAMES

EXIT_FAILED = 1  # the command ran and something did not pass: inputs not scored, a gate or a parity check failed
EXIT_USAGE = 2  # the command could not start as asked: an option, file, column, variant, provider or package is wrong


class Failed(click.ClickException):
    """The command ran and something did not pass (shown as ``Error: message``)."""

    exit_code = EXIT_FAILED


class Unusable(click.ClickException):
    """The command could not start as asked (shown as ``Error: message``)."""

    exit_code = EXIT_USAGE


class Cli(click.Group):
    """The one place errors become exit codes. A ParityError (a check the work itself failed) exits 1; every other
    SecbertEdgeError (a bad option, file, column, variant, provider or package, a missing extra) exits 2, like click's
    own usage errors. Anything else is a bug and keeps its traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ParityError as err:
            raise Failed(str(err)) from err
        except SecbertEdgeError as err:
            raise Unusable(str(err)) from err


def show_warnings() -> None:
    """Warnings (provider fallbacks, deprecations) as one ``warning:`` line on stderr."""

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        click.echo(f"warning: {message}", err=True)

    warnings.showwarning = show


def compose(*decorators: Callable) -> Callable:
    """Apply option decorators in reading order (the first listed is the first shown in --help)."""

    def apply(f: Callable) -> Callable:
        for decorator in reversed(decorators):
            f = decorator(f)
        return f

    return apply


def model_option(help_extra: str = "") -> Callable:
    return click.option(
        "--model",
        "model_dir",
        type=click.Path(path_type=Path),
        default=None,
        envvar="SECBERT_EDGE_MODEL",
        help=f"Model package folder [default: $SECBERT_EDGE_MODEL, else the embedded default model{help_extra}].",
    )


def resolve_model(model_dir: Path | None, pairs: bool = False) -> Path:
    """--model, else the embedded default package (the response judge for pairs)."""
    if model_dir is not None:
        return model_dir
    from ..errors import PackageError
    from ..runtime.defaults import default_for, not_found_message

    found = default_for(pairs)
    if found is None:
        raise PackageError(not_found_message(pairs))
    return found


def variant_option(multiple: bool = False, choices: tuple[str, ...] = VARIANT_NAMES, help: str = "") -> Callable:
    """``--variant`` (the one spelling on every command), plus ``--precision`` as a hidden, deprecated alias."""
    text = help or (
        "Variant to run [default: the package's default variant]."
        if not multiple
        else "Variant (repeatable) [default: every variant the package has]."
    )

    def decorator(f: Callable) -> Callable:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            alias = kwargs.pop("precision_alias")
            if alias:
                warnings.warn("--precision is deprecated; use --variant", FutureWarning, stacklevel=2)
                if multiple and not kwargs["variant"]:
                    kwargs["variant"] = tuple(p.strip() for p in alias.split(",") if p.strip())
                elif not multiple and kwargs["variant"] is None:
                    kwargs["variant"] = alias
            return f(*args, **kwargs)

        wrapper = click.option("--precision", "precision_alias", default=None, hidden=True)(wrapper)
        return click.option("--variant", type=click.Choice(choices), multiple=multiple, default=None, help=text)(
            wrapper
        )

    return decorator


def session_options(providers_default: str = "auto") -> Callable:
    """Providers, threads and the GPU settings, handed to the command as one ``session`` (a SessionConfig)."""

    def decorator(f: Callable) -> Callable:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from ..runtime import SessionConfig

            providers = tuple(p.strip() for p in kwargs.pop("providers").split(",") if p.strip())
            kwargs["session"] = SessionConfig(
                providers=providers,
                strict_providers=kwargs.pop("strict_providers"),
                threads=kwargs.pop("threads"),
                device_id=kwargs.pop("device_id"),
                gpu_mem_limit_mb=kwargs.pop("gpu_mem_limit_mb"),
                cache_dir=kwargs.pop("cache_dir"),
                trt_per_bucket_profiles=kwargs.pop("trt_per_bucket_profiles"),
            )
            return f(*args, **kwargs)

        return compose(
            click.option(
                "--providers",
                default=providers_default,
                show_default=True,
                help="Execution providers in order (comma-separated: tensorrt,cuda,cpu) or 'auto' (what this "
                "onnxruntime build has, in that order).",
            ),
            click.option(
                "--strict-providers",
                is_flag=True,
                help="Fail instead of falling back when a provider is missing or not used.",
            ),
            click.option(
                "--threads",
                type=click.IntRange(min=1),
                default=None,
                help="Intra-op threads [default: physical cores].",
            ),
            click.option(
                "--device-id",
                type=click.IntRange(min=0),
                default=0,
                show_default=True,
                help="GPU to run on (CUDA/TensorRT).",
            ),
            click.option(
                "--gpu-mem-limit",
                "gpu_mem_limit_mb",
                type=click.IntRange(min=64),
                default=None,
                help="Cap the CUDA memory arena, in MB [default: no cap].",
            ),
            click.option(
                "--trt-cache",
                "cache_dir",
                type=click.Path(file_okay=False, path_type=Path),
                default=None,
                help="TensorRT engine/timing cache folder [default: $SECBERT_EDGE_CACHE/tensorrt]; entries "
                "are keyed by the model's sha256 and the ORT/TensorRT versions.",
            ),
            click.option(
                "--trt-per-bucket-profiles",
                is_flag=True,
                help="One TensorRT optimisation profile per bucket edge instead of one spanning all shapes.",
            ),
        )(wrapper)

    return decorator


def json_option(what: str = "the result") -> Callable:
    return click.option("--json", "as_json", is_flag=True, help=f"Print {what} as JSON on stdout instead of text.")


def echo_json(data: Any, *, lines: bool = False) -> None:
    """JSON on stdout: one object per line (``lines``) or one indented document."""
    click.echo(
        json.dumps(data, ensure_ascii=False, default=_plain)
        if lines
        else json.dumps(data, indent=2, ensure_ascii=False, default=_plain)
    )


def _plain(obj: Any) -> Any:
    import dataclasses
    import enum

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def log(prefix: str) -> Callable[[str], None]:
    """A progress logger for library functions: ``[prefix] message`` on stderr."""
    return lambda message: click.echo(f"[{prefix}] {message}", err=True)


__all__ = [
    "Cli",
    "EXIT_FAILED",
    "EXIT_USAGE",
    "Failed",
    "Unusable",
    "__version__",
    "compose",
    "echo_json",
    "json_option",
    "log",
    "model_option",
    "resolve_model",
    "session_options",
    "show_warnings",
    "variant_option",
]

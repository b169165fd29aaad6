"""What every command shares: the exit statuses and the group that maps errors to them, ``opt`` and the option
bundles that hand a command one typed config object (SessionConfig, RuntimeConfig, Fields, ...) instead of a dozen
loose arguments."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import json
import sys
import typing
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from ..errors import (
    CheckpointError,
    ConfigError,
    InputError,
    JobError,
    MissingDependencyError,
    PackageError,
    ParityError,
    ProviderError,
    SecbertEdgeError,
)
from ..runtime import RuntimeConfig, SessionConfig
from ..settings import documented
from ..variants import NAMES as VARIANT_NAMES


class Status(enum.IntEnum):
    """The exit statuses of every command (what each means: STATUS_HELP, shown in every --help and in README)."""

    OK = 0
    ERROR = 1  # Python's own status for an uncaught exception: kept for the unexpected
    USAGE = 2  # click's own status for usage errors
    PARTIAL = 3
    TOO_MANY_ERRORS = 4
    LOAD = 5
    GATE = 6
    INTERRUPTED = 130  # 128 + SIGINT, the shell's convention


STATUS_HELP: dict[Status, str] = {
    Status.OK: "success: every input was scored, every check passed",
    Status.ERROR: "error: a bug (its traceback says where) or a system failure, e.g. a Ray job cut short by a lost "
    "node (score --engine ray: rerun with --resume)",
    Status.USAGE: "usage error: an option, argument, input file, column or value is wrong; nothing was done",
    Status.PARTIAL: "partial: some inputs could not be scored, within --max-errors; each is reported in place and "
    "every other input was scored",
    Status.TOO_MANY_ERRORS: "too many bad inputs: more than --max-errors (default: every input) could not be scored; "
    "the output is still written, with the reasons",
    Status.LOAD: "the package or model cannot be loaded: manifest, sha256, ONNX file, tokenizer, checkpoint, a "
    "provider --strict-providers requires, or a missing extra",
    Status.GATE: "a gate failed: verify's tolerances, quantize's check against fp32, export's parity with PyTorch",
    Status.INTERRUPTED: "interrupted (Ctrl-C)",
}

# The errors a command raises on purpose, to the status they exit with (the first class that matches wins).
ERROR_STATUS: tuple[tuple[type[SecbertEdgeError], Status], ...] = (
    (ParityError, Status.GATE),
    (ConfigError, Status.USAGE),  # before ProviderError: a ProviderOptionError (--providers rocm) is a usage error
    (PackageError, Status.LOAD),
    (CheckpointError, Status.LOAD),
    (ProviderError, Status.LOAD),
    (MissingDependencyError, Status.LOAD),
    (InputError, Status.USAGE),
    (JobError, Status.ERROR),
)


def status_of(err: SecbertEdgeError) -> Status:
    return next((status for cls, status in ERROR_STATUS if isinstance(err, cls)), Status.USAGE)


FILE = click.Path(dir_okay=False, path_type=Path)
DIR = click.Path(file_okay=False, path_type=Path)
PATH = click.Path(path_type=Path)
COUNT = click.IntRange(min=1)
FRACTION = click.FloatRange(0, 1)


class Failure(click.ClickException):
    """An error a command raised on purpose, shown as ``Error: message``, exiting with its status."""

    def __init__(self, message: str, status: Status) -> None:
        super().__init__(message)
        self.exit_code = int(status)  # type: ignore[misc]  # click reads it from the instance


def _format_statuses(formatter: click.HelpFormatter) -> None:
    with formatter.section("Exit status"):
        formatter.write_dl([(str(int(status)), text) for status, text in STATUS_HELP.items()])


class Command(click.Command):
    """Every command: its --help ends with the exit-status table."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        _format_statuses(formatter)


class Cli(click.Group):
    """The one place errors become exit statuses (ERROR_STATUS): a ParityError is a failed gate, a package, checkpoint,
    provider or missing extra cannot be loaded, a bad option, file, column or input is a usage error, Ctrl-C is 130.
    Anything else is a bug and keeps its traceback (Python's exit status 1)."""

    command_class = Command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SecbertEdgeError as err:
            raise Failure(str(err), status_of(err)) from err
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(int(Status.INTERRUPTED))

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        _format_statuses(formatter)


@dataclasses.dataclass(frozen=True)
class ErrorBudget:
    """``--max-errors``: how many inputs may fail before a job counts as failed, as a count (``100``) or a share of
    the inputs (``0.5%``), like BigQuery's max_bad_records. None (the default): any number short of every input."""

    count: int | None = None
    percent: float | None = None

    def status(self, errors: int, total: int) -> Status:
        if not errors:
            return Status.OK
        if self.count is not None:
            within = errors <= self.count
        elif self.percent is not None:
            within = 100 * errors <= self.percent * total
        else:
            within = errors < total
        return Status.PARTIAL if within else Status.TOO_MANY_ERRORS

    def __str__(self) -> str:
        if self.count is not None:
            return str(self.count)
        return f"{self.percent:g}%" if self.percent is not None else "every input (default)"


class _Budget(click.ParamType):
    name = "N|P%"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> ErrorBudget:
        if isinstance(value, ErrorBudget):
            return value
        text = str(value).strip()
        try:
            if text.endswith("%"):
                percent = float(text[:-1])
                if 0 <= percent <= 100:
                    return ErrorBudget(percent=percent)
            elif int(text) >= 0:
                return ErrorBudget(count=int(text))
        except ValueError:
            pass
        self.fail(f"{value!r}: expected a count of inputs (100) or a share of them (0.5%)", param, ctx)


def max_errors_option() -> Callable:
    return click.option(
        "--max-errors",
        type=_Budget(),
        default=None,
        help="Inputs that may fail to score (a count, or a share like 0.5%) before the job counts as failed (exit "
        f"status {int(Status.TOO_MANY_ERRORS)}, else {int(Status.PARTIAL)} when some failed) [default: any number "
        "short of every input].",
    )


def exit_for_bad_inputs(errors: int, total: int, budget: ErrorBudget | None, noun: str, where: str) -> None:
    """After a job wrote every result: exit PARTIAL or TOO_MANY_ERRORS when some inputs could not be scored."""
    budget = budget or ErrorBudget()
    status = budget.status(errors, total)
    if status is Status.OK:
        return
    verdict = "within" if status is Status.PARTIAL else "over"
    click.echo(
        f"{errors:,} of {total:,} {noun} could not be scored ({where}): {verdict} --max-errors {budget}", err=True
    )
    sys.exit(int(status))


def show_warnings() -> None:
    """Warnings (provider fallbacks, deprecations) as one ``warning:`` line on stderr."""

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        click.echo(f"warning: {message}", err=True)

    warnings.showwarning = show


def opt(*decls: Any, **attrs: Any) -> Callable:
    """``click.option`` written on one line: the names, then optionally a type, then the help text."""
    *names, help_ = decls
    if names and not isinstance(names[-1], str):
        attrs["type"] = names.pop()
    return click.option(*names, help=help_, **attrs)


def flag(*decls: str) -> Callable:
    """A boolean flag: the names, then the help text."""
    *names, help_ = decls
    return click.option(*names, is_flag=True, help=help_)


def choice(name: str, values: Any, help_: str, **attrs: Any) -> Callable:
    """An option whose choices are an enum's values (or any iterable of strings)."""
    return click.option(name, type=click.Choice([getattr(v, "value", v) for v in values]), help=help_, **attrs)


def compose(*decorators: Callable) -> Callable:
    """Apply option decorators in reading order (the first listed is the first shown in --help)."""

    def apply(f: Callable) -> Callable:
        for decorator in reversed(decorators):
            f = decorator(f)
        return f

    return apply


def bundle(name: str, build: Callable[..., Any], *options: Callable) -> Callable:
    """Options handed to the command as ONE argument, ``name`` = ``build(**their values)``: the command's signature
    takes the typed config object and never the loose values."""
    keys = [key for option in options for key in _arguments(option)]

    def decorator(f: Callable) -> Callable:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs[name] = build(**{k: kwargs.pop(k) for k in keys})
            return f(*args, **kwargs)

        return compose(*options)(wrapper)

    decorator.argument = name  # type: ignore[attr-defined]  # what a bundle inside a bundle hands on
    return decorator


def _arguments(option: Callable) -> list[str]:
    """The keyword arguments an option (or a bundle) hands to the function it decorates."""
    if hasattr(option, "argument"):
        return [option.argument]
    return [p.name for p in getattr(option(lambda: None), "__click_params__", []) if p.name]


def config_options(cls: type, *, skip: tuple[str, ...] = (), **defaults: Any) -> list[Callable]:
    """One option per documented field of a config dataclass (secbert_edge.settings): its name, help, bounds and
    default come from the field, so the command line and the library API describe a setting once. ``defaults``
    overrides a field's default for this command."""
    hints = typing.get_type_hints(cls)
    return [
        _field_option(f, hints[f.name], defaults.get(f.name, f.default)) for f in documented(cls) if f.name not in skip
    ]


def _field_option(field: dataclasses.Field, hint: Any, default: Any) -> Callable:
    meta, flag_ = field.metadata, field.metadata.get("flag", "--" + field.name.replace("_", "-"))
    args = typing.get_args(hint)
    kind = next(a for a in args if a is not type(None)) if type(None) in args else hint  # X | None -> X
    required = default is dataclasses.MISSING
    attrs: dict[str, Any] = {"help": meta["help"], "required": required, "default": None if required else default}
    bounds = {k: meta[k] for k in ("min", "max", "min_open") if k in meta}
    if kind is bool:  # a default of None (unset) or True gets --no-X too
        two_way = default is None or default
        return click.option(f"{flag_}/--no-{flag_[2:]}" if two_way else flag_, field.name, is_flag=True, **attrs)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        attrs.update(type=click.Choice([m.value for m in kind]), default=getattr(default, "value", default))
    elif "choices" in meta:
        attrs["type"] = click.Choice(meta["choices"])
    elif typing.get_origin(kind) is tuple:  # comma-separated on the command line
        item = typing.get_args(kind)[0]
        listed = ",".join(map(str, default)) if isinstance(default, tuple) else default
        attrs.update(default=listed, callback=_listed(item, bounds.get("min")))
    elif kind in (int, float):
        attrs["type"] = (click.IntRange if kind is int else click.FloatRange)(**bounds) if bounds else kind
    return click.option(flag_, field.name, **attrs)


def _listed(item: type, low: float | None) -> Callable:
    what = {int: "integers", float: "numbers"}.get(item, "names") + ("" if low is None else f" >= {low}")

    def parse(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple | None:
        if value is None:
            return None
        try:
            values = tuple(item(v.strip()) for v in value.split(",") if v.strip())
        except ValueError:
            values = ()
        if not values or (low is not None and min(values) < low):
            raise click.BadParameter(f"{value!r}: expected comma-separated {what}")
        return values

    return parse


def model_option(help_extra: str = "", **attrs: Any) -> Callable:
    text = f"Model package folder [default: $SECBERT_EDGE_MODEL, else the embedded default model{help_extra}]."
    return click.option("--model", "model_dir", type=PATH, envvar="SECBERT_EDGE_MODEL", help=text, **attrs)


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
        "Variant (repeatable) [default: every variant the package has]."
        if multiple
        else "Variant to run [default: the package's default variant]."
    )

    def merge(variant: Any, precision_alias: str | None) -> Any:
        if precision_alias:
            warnings.warn("--precision is deprecated; use --variant", FutureWarning, stacklevel=2)
            alias = tuple(p.strip() for p in precision_alias.split(",") if p.strip())
            return (variant or alias) if multiple else (variant or precision_alias)
        return variant

    return bundle(
        "variant",
        merge,
        click.option("--variant", type=click.Choice(choices), multiple=multiple, help=text),
        click.option("--precision", "precision_alias", hidden=True),
    )


def session_options(providers_default: str = "auto") -> Callable:
    """Providers, threads and the GPU settings, handed to the command as one ``session`` (a SessionConfig)."""
    return bundle("session", SessionConfig, *config_options(SessionConfig, providers=providers_default))


THRESHOLD_HELP = "Decision threshold: a number in [0,1], 'default' (the manifest's) or 'ks' (tau*)."


def runtime_options() -> Callable:
    """Variant, session, long-input policy and batch size, handed to the command as one ``runtime`` (a
    RuntimeConfig, what ``load`` takes)."""
    return bundle("runtime", RuntimeConfig, variant_option(), session_options(), *config_options(RuntimeConfig))


def json_option(what: str = "the result") -> Callable:
    return flag("--json", "as_json", f"Print {what} as JSON on stdout instead of text.")


def echo_json(data: Any, *, lines: bool = False) -> None:
    """JSON on stdout: one object per line (``lines``) or one indented document."""
    click.echo(json.dumps(data, ensure_ascii=False, default=_plain, indent=None if lines else 2))


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


def report_reading(blank_lines: int, duplicate_ids: int, id_column: str | None) -> None:
    """What a reader skipped or noticed, on stderr (predict and score)."""
    if blank_lines:
        click.echo(f"skipped {blank_lines} blank line{'s' * (blank_lines != 1)}", err=True)
    if duplicate_ids:
        click.echo(
            f"warning: {duplicate_ids} rows repeat an id seen earlier (--id-column {id_column}); each is still scored",
            err=True,
        )


@contextlib.contextmanager
def step_bar(label: str) -> Iterator[Callable[[int, int, float], None]]:
    """A progress bar for a training loop's ``progress(step, total, loss)`` callback (train, distill)."""
    with click.progressbar(length=1, label=label, file=sys.stderr) as bar:

        def progress(step: int, total: int, loss: float) -> None:
            bar.length = total
            bar.label = f"{label} (loss {loss:.4f})"
            bar.update(1)

        yield progress

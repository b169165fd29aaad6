"""Serving plans: how many concurrent session runs, intra-op threads per run, sessions, micro-batch size and wait.

The right plan depends on the model, the variant, the provider and the box (measured on 2 cores: dynamic int8 runs
each text alone, and a ~35-token text's ops are too small to split across threads, so two single-thread runs side by
side score about twice as many texts as one run on two threads; batched fp32 splits well). ``secbert-edge tune``
measures candidate plans on this box and writes the winner, keyed by :class:`PlanKey`, under
``$SECBERT_EDGE_CACHE/plans``; :func:`choose` finds it again, and refuses a plan tuned for another package, variant,
provider or box. Without a tuned plan the runtime and ``serve`` start from :func:`rule` and say so.

Stdlib only (the runtime imports it before it builds a session).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import json
import platform
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..paths import cache_root, write_text_atomic

FORMAT_VERSION = 1
AUTO, RULE = "auto", "rule"  # RuntimeConfig.plan: the tuned plan where there is one, else the rule | always the rule


class Source(str, enum.Enum):
    """Where the plan a runtime runs with came from (serve reports it in its startup line and on /metrics)."""

    TUNED = "tuned"  # measured on this box by `secbert-edge tune`
    RULE = "rule"  # the safe rule (no tuned plan for this package/variant/provider/box, or it was refused)


class PlanWarning(RuntimeWarning):
    """A plan file was refused (it was tuned for another package, variant, provider or box): the rule is used."""


@dataclasses.dataclass(frozen=True)
class ServingPlan:
    """One way to run a package on a box. ``runs`` concurrent session runs (serve: that many inference workers taking
    micro-batches from one queue; in-process: a list's batches spread over that many threads), each session with
    ``threads`` intra-op threads; ``sessions`` 1 = one session shared by every run, else one per run (N x the
    memory); serve packs up to ``max_batch_size`` texts into a runtime call and waits ``max_wait_ms`` for batch-mates
    once a worker is free; ``spinning``: ONNX Runtime's idle pool threads spin (ORT's default) or sleep.
    ``solo_threads`` (serve, several runs): a session of that many spinning threads besides, which a worker uses when
    its batch is the only work in the service (nothing queued, no other worker busy): one request alone gets every
    core, concurrent ones a run each (0: off); ``solo_stop_spinning``: its pool threads spin during a run and stop
    as it returns (ORT's ``session.force_spinning_stop``), or spin on into the gap before the next one (ORT's way).
    Measured on a 2-core box at one client, it moved with the box's state: stopping once took the default guard from
    453 to 555 texts/s and a later tune put spinning on ahead (527-541 vs 350-423); on BERTimbau-base int8 stopping
    read 101 vs 104 texts/s: so it is measured per package (``secbert-edge tune``), not fixed."""

    runs: int = 1
    threads: int = 1
    sessions: int = 1
    max_batch_size: int = 64
    max_wait_ms: float = 0.0
    spinning: bool = True
    solo_threads: int = 0
    solo_stop_spinning: bool = True  # plan files from before the field: what serve did then

    def __post_init__(self) -> None:
        for name in ("runs", "threads", "sessions", "max_batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"serving plan: {name} must be an integer >= 1, got {value!r}")
        if not isinstance(self.solo_threads, int) or isinstance(self.solo_threads, bool) or self.solo_threads < 0:
            raise ConfigError(f"serving plan: solo_threads must be an integer >= 0, got {self.solo_threads!r}")
        if not isinstance(self.solo_stop_spinning, bool):
            raise ConfigError(
                f"serving plan: solo_stop_spinning must be true or false, got {self.solo_stop_spinning!r}"
            )
        if self.sessions not in (1, self.runs):
            raise ConfigError(
                f"serving plan: sessions must be 1 (one shared by every run) or runs ({self.runs}: one each), "
                f"got {self.sessions}"
            )
        if not isinstance(self.max_wait_ms, (int, float)) or self.max_wait_ms < 0:
            raise ConfigError(f"serving plan: max_wait_ms must be >= 0, got {self.max_wait_ms!r}")
        object.__setattr__(self, "max_wait_ms", float(self.max_wait_ms))

    def describe(self) -> str:
        shared = "shared session" if self.sessions == 1 else "a session each"
        spin = "" if self.threads == 1 else (", spinning" if self.spinning else ", no spinning")
        solo = ""
        if self.solo_threads:
            after = "stop spinning after it" if self.solo_stop_spinning else "spinning on"
            solo = f", a request alone on {self.solo_threads} threads ({after})"
        return (
            f"{self.runs} run(s) x {self.threads} thread(s), {shared}{spin}{solo}, batch <= {self.max_batch_size}, "
            f"wait {self.max_wait_ms:g} ms"
        )

    def with_solo(self, cores: int) -> ServingPlan:
        """This plan with a solo session on every core where one can help (several runs of fewer threads than
        ``cores``), else this plan unchanged."""
        return self.replace(solo_threads=cores) if self.runs > 1 and self.threads < cores else self

    def replace(self, **changes: Any) -> ServingPlan:
        """This plan with some fields changed (None values are left as they are); ``sessions`` follows ``runs`` when
        the runs change and the sessions were one each."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if "runs" in changes and "sessions" not in changes and self.sessions > 1:
            changes["sessions"] = changes["runs"]
        elif "runs" in changes and "sessions" not in changes:
            changes["sessions"] = 1
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServingPlan:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"serving plan: unknown field(s) {unknown}; a plan has {', '.join(sorted(known))}")
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class Box:
    """The machine a plan was measured on: its CPU model and the cores this process may use."""

    cpu: str
    cores: int

    @classmethod
    def here(cls) -> Box:
        from .providers import physical_cores

        return cls(cpu_model(), physical_cores())

    def describe(self) -> str:
        return f"{self.cores} core(s) of {self.cpu}"


@dataclasses.dataclass(frozen=True)
class PlanKey:
    """What a plan is valid for: one variant file (its sha256 and name), one provider, one box."""

    sha256: str
    variant: str
    provider: str  # short name: cpu, cuda, tensorrt
    box: Box

    def file_name(self) -> str:
        cpu = hashlib.sha256(self.box.cpu.encode()).hexdigest()[:8]
        return f"{self.variant}-{self.sha256[:16]}-{self.provider}-{self.box.cores}c-{cpu}.json"

    def describe(self) -> str:
        return f"variant {self.variant} (sha256 {self.sha256[:12]}...), provider {self.provider}, {self.box.describe()}"

    def differences(self, other: PlanKey) -> list[str]:
        """What differs between the key a plan was tuned for (self) and ``other`` (this runtime), in words."""
        out = []
        if self.sha256 != other.sha256:
            out.append(f"package file sha256 {self.sha256[:12]}... (this one: {other.sha256[:12]}...)")
        if self.variant != other.variant:
            out.append(f"variant {self.variant} (this one: {other.variant})")
        if self.provider != other.provider:
            out.append(f"provider {self.provider} (this one: {other.provider})")
        if self.box.cores != other.box.cores:
            out.append(f"{self.box.cores} core(s) (this box: {other.box.cores})")
        if self.box.cpu != other.box.cpu:
            out.append(f"CPU {self.box.cpu!r} (this box: {other.box.cpu!r})")
        return out

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanKey:
        box = data.get("box") or {}
        return cls(
            str(data["sha256"]), str(data["variant"]), str(data["provider"]), Box(str(box["cpu"]), int(box["cores"]))
        )


@dataclasses.dataclass(frozen=True)
class PlanChoice:
    """The plan a runtime runs with, where it came from and why (said in serve's startup line and on /metrics)."""

    plan: ServingPlan
    source: Source
    reason: str
    path: Path | None = None  # the plan file, when one was read


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else what the platform says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh.read().split("\n"):
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return " ".join(value.split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def rule(*, dynamic_scales: bool, device: str, cores: int, threads: int | None = None) -> ServingPlan:
    """The safe plan when none was measured.

    * dynamic int8 on CPU: single-thread runs, one per core and one more. It scores each text alone and unpadded; a
      prompt's ops are too small to split across threads when other prompts could use those cores, so texts side by
      side use them better than one text on all of them (measured: see the README's Serve section). The run beyond
      the cores keeps them busy while a run does its Python (tokenizing, answering) or waits for the GIL: on the
      2-core box, serving the default guard at 8 clients, 3 runs measured 1.03-1.04x 2 runs in interleaved rounds
      (1.01-1.02x at 1 and 32 clients, 1.00-1.01x on BERTimbau-base int8 at every level, in-process lists 1.00x). With
      more than one run, a solo session on every core for a request that is the only work (serve): in tune's first
      stage on this box it measured 1.6-1.9x the plain runs with one client and no worse at 8 and 32 (the default
      guard: 150 / 200 / 190 vs 91 / 173 / 184 texts/s; BERTimbau-base int8: 48 / 52 / 62 vs 25 / 51 / 60). One
      core: one run (not measured there).
    * everything else (batched fp32 / static int8 / per-text int8 / GPU): one run on every core; batches split well
      across threads.
    ``threads`` given (a user's setting) sizes the runs around it: cores // threads runs of that many threads.
    """
    if dynamic_scales and device == "cpu":
        runs = cores + 1 if threads in (None, 1) and cores > 1 else max(1, cores // (threads or 1))
        return ServingPlan(runs=runs, threads=threads or 1).with_solo(cores)
    return ServingPlan(runs=1, threads=threads or max(1, cores))


def plans_dir() -> Path:
    """Where tuned plans live: $SECBERT_EDGE_CACHE/plans (see secbert_edge.paths)."""
    return cache_root() / "plans"


def default_path(key: PlanKey) -> Path:
    return plans_dir() / key.file_name()


def write(
    key: PlanKey, plan: ServingPlan, measured: Mapping[str, Any] | None = None, path: str | Path | None = None
) -> Path:
    """Write a tuned plan (with what was measured to choose it) where :func:`choose` finds it; atomic."""
    from .._version import __version__

    target = Path(path) if path is not None else default_path(key)
    record = {
        "format_version": FORMAT_VERSION,
        "key": key.to_dict(),
        "plan": dataclasses.asdict(plan),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"secbert_edge": __version__, "onnxruntime": _ort_version()},
        "measured": dict(measured or {}),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(target, json.dumps(record, indent=2, ensure_ascii=False) + "\n")


def read(path: str | Path) -> tuple[PlanKey, ServingPlan, dict[str, Any]]:
    """A plan file's key, plan and whole record; ConfigError naming the file and what is wrong."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"plan file {path} cannot be read ({err}); run `secbert-edge tune` to write one") from err
    try:
        if record.get("format_version") != FORMAT_VERSION:
            raise ConfigError(f"format_version {record.get('format_version')!r}, this version reads {FORMAT_VERSION}")
        return PlanKey.from_dict(record["key"]), ServingPlan.from_dict(record["plan"]), record
    except (ConfigError, KeyError, TypeError, ValueError, AttributeError) as err:
        raise ConfigError(
            f"plan file {path} is not a secbert-edge serving plan ({err}); re-run `secbert-edge tune`"
        ) from err


def check(path: str | Path, key: PlanKey) -> ServingPlan:
    """The plan in ``path`` if it was tuned for ``key``, else ConfigError saying what differs and what to do."""
    tuned_for, plan, _ = read(path)
    diff = tuned_for.differences(key)
    if diff:
        raise ConfigError(
            f"plan {path} was tuned for another setup: " + "; ".join(diff) + ". A plan is valid only for the "
            "package file, variant, provider and box it was measured on: run `secbert-edge tune` here"
        )
    return plan


def choose(key: PlanKey, wanted: str | Path | None, fallback: ServingPlan, *, tune_hint: str = "") -> PlanChoice:
    """The plan to run with. ``wanted``: 'auto' (or None) = the tuned plan for ``key`` if this box has one, 'rule' =
    ``fallback``, a path = that plan file. A plan file that does not match ``key`` is refused (a PlanWarning
    saying why) and ``fallback`` is used: a server still starts, and says it runs on the rule and why."""
    hint = tune_hint or f"secbert-edge tune --model PKG --variant {key.variant}"
    if wanted is not None and str(wanted) == RULE:
        return PlanChoice(fallback, Source.RULE, "the rule was asked for (--plan rule)")
    path = default_path(key) if wanted is None or str(wanted) == AUTO else Path(wanted)
    if (wanted is None or str(wanted) == AUTO) and not path.is_file():
        others = sorted(p.name for p in plans_dir().glob(f"*-{key.sha256[:16]}-*.json")) if plans_dir().is_dir() else []
        elsewhere = f" (plans for this package exist for other setups: {', '.join(others)})" if others else ""
        return PlanChoice(
            fallback, Source.RULE, f"no tuned plan for {key.describe()}{elsewhere}; run `{hint}` to measure one"
        )
    try:
        plan = check(path, key)
    except ConfigError as err:
        warnings.warn(f"{err}; using the rule", PlanWarning, stacklevel=3)
        return PlanChoice(fallback, Source.RULE, f"refused: {err}", path)
    return PlanChoice(plan, Source.TUNED, f"tuned on this box ({path})", path)


def _ort_version() -> str | None:
    try:
        import onnxruntime

        return str(onnxruntime.__version__)
    except ImportError:  # pragma: no cover - the runtime always has it
        return None

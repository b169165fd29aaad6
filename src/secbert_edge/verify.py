"""The metric-parity gate: score labelled data with the original PyTorch model and with every variant of a
package, compare decisions and task metrics, and fail when a variant leaves its tolerance.

Tensor closeness alone does not say whether a quantized guard still *decides* like the original, so the gate
is on what users care about: label flips at tau and tau*, drift of accuracy / F1 / AUC / KS in percentage
points, and max |dP|. Reference scores are cached by checkpoint sha256 + data sha256, so CI reruns only pay
for the variants. Default tolerances come from :mod:`secbert_edge.variants`.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from . import metrics
from .data import Columns, Example, load_examples
from .errors import PackageError
from .manifest import Manifest, sha256_file
from .paths import cache_root
from .variants import SPECS, TEACHER_GATE, Tolerance, VariantName


class Reference(str, enum.Enum):
    """What the package is gated against: the checkpoint it was exported from, or the teacher it was distilled from."""

    SOURCE = "source"
    TEACHER = "teacher"


@dataclasses.dataclass(frozen=True)
class GateMetrics:
    """The task metrics a variant must not drift on (fractions; drift is reported in percentage points)."""

    accuracy_at_tau: float
    f1_at_tau: float
    accuracy_at_tau_star: float
    f1_at_tau_star: float
    auc: float
    ks: float

    @classmethod
    def of(cls, summary: metrics.Summary) -> GateMetrics:
        tau, star = summary.at["tau"], summary.at["tau*"]
        return cls(tau.accuracy, tau.f1, star.accuracy, star.f1, summary.auc, summary.ks)

    def minus(self, other: GateMetrics) -> GateMetrics:
        """Self - other, in percentage points."""
        return GateMetrics(
            **{f.name: 100 * (getattr(self, f.name) - getattr(other, f.name)) for f in dataclasses.fields(self)}
        )


@dataclasses.dataclass(frozen=True)
class Refit:
    """A variant's own tau*: the threshold that keeps the reference's false-positive rate at tau*."""

    target_fpr: float
    ks_optimal: float
    at_refit: metrics.ThresholdMetrics


@dataclasses.dataclass(frozen=True)
class VariantGate:
    """Everything one variant is judged on, against the reference scores on the same labelled data."""

    name: str
    max_abs_diff: float
    mean_abs_diff: float
    flip_rate: dict[str, float]  # at "tau" and "tau*"
    metrics: GateMetrics
    drift_pp: GateMetrics
    refit: Refit
    tolerance: Tolerance
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclasses.dataclass(frozen=True)
class GateReport:
    package: str
    data: str
    examples: int
    positives: int
    tau: float
    tau_star: float
    reference_scorer: str
    reference_kind: Reference
    reference_from_cache: bool
    reference: metrics.Summary  # at "tau" and "tau*"
    variants: dict[str, VariantGate]

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.variants.values())

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["passed"] = self.passed
        for name, gate in self.variants.items():
            data["variants"][name]["passed"] = gate.passed
        return data


def cache_dir() -> Path:
    return cache_root() / "reference-scores"


def _examples_key(examples: Sequence[Example], data_sha: str) -> str:
    digest = hashlib.sha256(data_sha.encode())
    for e in examples:
        digest.update(json.dumps([e.prompt, e.text]).encode())
    return digest.hexdigest()


def reference_scores(
    checkpoint: str | Path,
    backbone: str | Path,
    examples: Sequence[Example],
    max_length: int,
    data_sha: str,
    *,
    use_cache: bool = True,
    log: Callable[[str], None] = lambda _: None,
) -> tuple[np.ndarray, bool]:
    """P(positive) from the original PyTorch model, cached by checkpoint + data sha256. (scores, from_cache)."""
    key = f"{sha256_file(checkpoint)[:20]}-{_examples_key(examples, data_sha)[:20]}-{max_length}.npy"
    path = cache_dir() / key
    if use_cache and path.is_file():
        return np.load(path), True
    log("scoring with the PyTorch reference model")
    from .reference import ReferenceScorer

    scores = ReferenceScorer(checkpoint, backbone).score_examples(examples, max_length)
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, scores)
    return scores, False


def compare(
    name: str, labels: np.ndarray, ref: np.ndarray, got: np.ndarray, tau: float, tau_star: float, tolerance: Tolerance
) -> VariantGate:
    """Judge one variant's scores against the reference's on the same labelled data."""
    diff = np.abs(got - ref)
    thresholds = {"tau": tau, "tau*": tau_star}
    ref_sum, var_sum = metrics.summary(labels, ref, thresholds), metrics.summary(labels, got, thresholds)
    ref_m, var_m = GateMetrics.of(ref_sum), GateMetrics.of(var_sum)
    flips = {k: float(np.mean((ref >= t) != (got >= t))) for k, t in thresholds.items()}
    target_fpr = ref_sum.at["tau*"].fpr
    refit = metrics.threshold_for_fpr(labels, got, target_fpr, near=tau_star)
    drift = var_m.minus(ref_m)
    return VariantGate(
        name=name,
        max_abs_diff=float(diff.max()),
        mean_abs_diff=float(diff.mean()),
        flip_rate=flips,
        metrics=var_m,
        drift_pp=drift,
        refit=Refit(target_fpr, refit, metrics.at_threshold(labels, got, refit)),
        tolerance=tolerance,
        failures=tuple(judge(float(diff.max()), flips, drift, tolerance)),
    )


def judge(max_abs_diff: float, flips: dict[str, float], drift: GateMetrics, tol: Tolerance) -> list[str]:
    """The reasons a variant fails its tolerance (empty: it passes)."""
    failures = []
    if tol.max_abs_diff is not None and max_abs_diff > tol.max_abs_diff:
        failures.append(f"max |dP| {max_abs_diff:.3g} > {tol.max_abs_diff:g}")
    for name, rate in flips.items():
        if rate > tol.flip_rate:
            failures.append(f"flip rate at {name} {100 * rate:.2f}% > {100 * tol.flip_rate:.2f}%")
    for field in dataclasses.fields(drift):
        value = getattr(drift, field.name)
        if abs(value) > tol.metric_drift_pp + 1e-9:
            failures.append(f"{field.name} drift {value:+.2f} pp > ±{tol.metric_drift_pp:g} pp")
    return failures


def verify(
    package_dir: str | Path,
    checkpoint: str | Path,
    backbone: str | Path,
    data: str | Path,
    *,
    columns: Columns | str | None = None,
    tolerances: dict[str, Tolerance] | None = None,
    variants: Sequence[str] | None = None,
    use_cache: bool = True,
    update_manifest: bool = True,
    reference: Reference | str = Reference.SOURCE,
    log: Callable[[str], None] = lambda _: None,
) -> GateReport:
    """Run the gate over ``variants`` (default: all the package has); ``report.passed`` is False when any fails.

    ``reference="teacher"``: ``checkpoint``/``backbone`` are the teacher a student package was distilled from (its
    sha256 differs from the package's source on purpose), and the default gate is ``variants.TEACHER_GATE``.
    """
    from .runtime import load

    package_dir = Path(package_dir)
    reference = Reference(reference)
    manifest = Manifest.read(package_dir)
    manifest.verify_files(package_dir)
    teacher = reference is Reference.TEACHER
    if not teacher and manifest.source.get("checkpoint_sha256") not in (None, sha256_file(checkpoint)):
        raise PackageError(
            f"{checkpoint} is not the checkpoint this package was exported from (sha256 differs from the manifest's "
            "source.checkpoint_sha256); pass the original checkpoint, or the teacher with --teacher for a "
            "distilled student"
        )
    columns = columns or ("response" if manifest.task.value == "response" else "text")
    examples = load_examples(data, columns)
    labels = np.array([e.label for e in examples])
    tau = manifest.threshold("default")
    ref, cached = reference_scores(
        checkpoint, backbone, examples, manifest.max_length, sha256_file(data), use_cache=use_cache, log=log
    )
    tau_star = manifest.thresholds.get("ks_optimal")
    if tau_star is None:
        tau_star = metrics.ks(labels, ref)[1]
    gates = {}
    for name in variants or list(manifest.variants):
        log(f"scoring with the {name} variant")
        clf = load(package_dir, variant=name, providers=("cpu",))
        results = (
            clf.predict_pairs([e.prompt for e in examples], [e.text for e in examples])
            if any(e.prompt for e in examples)
            else clf.predict([e.text for e in examples])
        )
        bad = [r for r in results if not r.ok]
        if bad:
            raise PackageError(f"{len(bad)} examples could not be scored, e.g. #{bad[0].index}: {bad[0].error}")
        tolerance = (tolerances or {}).get(name) or (TEACHER_GATE if teacher else SPECS[VariantName(name)].tolerance)
        gates[name] = compare(name, labels, ref, np.array([r.score for r in results]), tau, tau_star, tolerance)
    report = GateReport(
        package=str(package_dir),
        data=str(data),
        examples=len(examples),
        positives=int(labels.sum()),
        tau=tau,
        tau_star=tau_star,
        reference_scorer="pytorch fp32 eager" + (" (teacher)" if teacher else ""),
        reference_kind=reference,
        reference_from_cache=cached,
        reference=metrics.summary(labels, ref, {"tau": tau, "tau*": tau_star}),
        variants=gates,
    )
    if update_manifest:
        _store_refits(package_dir, {n: g.refit.ks_optimal for n, g in gates.items()}, report.reference.at["tau*"].fpr)
    return report


def _store_refits(package_dir: Path, refits: dict[str, float], target_fpr: float) -> None:
    manifest = Manifest.read(package_dir)
    variants = {
        name: dataclasses.replace(v, thresholds={**v.thresholds, "ks_optimal": refits[name], "target_fpr": target_fpr})
        if name in refits
        else v
        for name, v in manifest.variants.items()
    }
    updated = dataclasses.replace(manifest, variants=variants)
    tmp = package_dir / ".manifest.json.tmp"
    tmp.write_text(json.dumps(updated.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(package_dir / "manifest.json")


def markdown(report: GateReport) -> str:
    lines = [
        f"# secbert-edge verify: {'PASSED' if report.passed else 'FAILED'}",
        "",
        f"Package `{report.package}`, data `{report.data}`: {report.examples} examples "
        f"({report.positives} positive); tau = {report.tau:.4f}, tau* = {report.tau_star:.4f}. "
        + (
            "Reference: the TEACHER's PyTorch model (fp32, eager); the package is a distilled student."
            if report.reference_kind is Reference.TEACHER
            else "Reference: the original PyTorch model (fp32, eager)."
        ),
        "",
        "| variant | max abs dP | mean abs dP | flips @tau | flips @tau* | F1@tau | F1 drift pp | acc drift pp "
        "| AUC drift pp | KS drift pp | refit tau* | result |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, v in report.variants.items():
        d = v.drift_pp
        lines.append(
            f"| {name} | {v.max_abs_diff:.2e} | {v.mean_abs_diff:.2e} | {100 * v.flip_rate['tau']:.2f}% | "
            f"{100 * v.flip_rate['tau*']:.2f}% | {100 * v.metrics.f1_at_tau:.2f} | {d.f1_at_tau:+.2f} | "
            f"{d.accuracy_at_tau:+.2f} | {d.auc:+.2f} | {d.ks:+.2f} | {v.refit.ks_optimal:.4f} | "
            f"{'pass' if v.passed else 'FAIL: ' + '; '.join(v.failures)} |"
        )
    ref = report.reference
    lines += [
        "",
        f"Reference: AUC {100 * ref.auc:.2f}, KS {100 * ref.ks:.2f}, F1@tau "
        f"{100 * ref.at['tau'].f1:.2f}, F1@tau* {100 * ref.at['tau*'].f1:.2f}.",
    ]
    return "\n".join(lines) + "\n"

"""The metric-parity gate: score labelled data with the original PyTorch model and with every variant of a
package, compare decisions and task metrics, and fail when a variant leaves its tolerance.

Tensor closeness alone does not say whether a quantized guard still *decides* like the original, so the gate
is on what users care about: label flips at tau and tau*, drift of accuracy / F1 / AUC / KS in percentage
points, and max |dP|. Reference scores are cached by checkpoint sha256 + data sha256, so CI reruns only pay
for the variants. Default tolerances come from :mod:`secbert_edge.variants`.

The rule is sample-size aware (:class:`GateRule`). A variant's :class:`~secbert_edge.variants.Tolerance` gives the
effect sizes (DESIGN.md's table: "int8 flips at most 1% of decisions, moves no metric more than 0.5 pp"), and the
gate fails a variant only when the labelled set *shows* it is beyond them, at a stated alpha:

- flips, at tau and at tau*: a one-sided exact binomial test of H0 "the variant's flip rate is at most the
  tolerated rate p0". With n texts it fails when the flip count k has P(X >= k) <= alpha for X ~ Binomial(n, p0),
  i.e. when k exceeds the printed bound. p0 = 0 (fp32) makes the bound 0: any flip fails.
- metric drift (accuracy and F1 at tau and tau*, AUC, KS): a paired bootstrap (the same resampled texts scored
  by reference and variant; stratified, so every resample keeps the set's positives and negatives; fixed seed).
  It fails when the whole [alpha, 1 - alpha] percentile interval of the drift lies beyond +-tolerance: the drift
  is outside its tolerance with confidence 1 - alpha, not merely by its sampling noise.
- max |dP| (fp32, fp16): a bound on every text, no statistics.

So on 562 texts with 91 positives, one flip that moves F1 by 0.60 pp passes (the drift's interval reaches 0, and
1 flip is far below the binomial bound of 10), while a variant with tens of flips fails; on a large set the same
tolerances resolve smaller effects. Each check is at alpha on its own (not corrected for the 9 checks per
variant): a sound variant sits far inside its tolerances, so the chance of a false failure is well below alpha.
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
from .errors import InputError, PackageError
from .manifest import Manifest, sha256_file
from .paths import cache_root, replace_atomically
from .variants import SPECS, TEACHER_GATE, Tolerance, VariantName


@dataclasses.dataclass(frozen=True)
class GateRule:
    """How verify tests a variant against its Tolerance (see the module docstring)."""

    alpha: float = 0.05  # each check's false-failure rate for a variant exactly at its tolerance
    resamples: int = 1000  # paired bootstrap resamples of the metric drift
    seed: int = 0  # the bootstrap's seed: the same data and scores give the same verdict

    def __post_init__(self) -> None:
        from .errors import ConfigError

        if not 0 < self.alpha < 0.5:
            raise ConfigError(f"alpha must lie in (0, 0.5), got {self.alpha}")
        if self.resamples < 100:
            raise ConfigError(f"resamples must be >= 100 for a percentile interval, got {self.resamples}")


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
class FlipCheck:
    """Decisions a variant changed at one threshold, against what n texts can resolve (exact binomial)."""

    flips: int
    n: int
    tolerated_rate: float  # the Tolerance's flip rate p0: H0 is "the variant flips at most this share"
    bound: int  # the most flips that do not reject H0 at alpha: fails above it
    p_value: float  # P(X >= flips), X ~ Binomial(n, p0)

    @property
    def passed(self) -> bool:
        return self.flips <= self.bound


@dataclasses.dataclass(frozen=True)
class DriftCheck:
    """One metric's drift (pp) with its paired-bootstrap interval [alpha, 1 - alpha]."""

    drift_pp: float
    low_pp: float
    high_pp: float
    tolerance_pp: float

    @property
    def passed(self) -> bool:  # fails only when the whole interval lies beyond +-tolerance
        return not (self.low_pp > self.tolerance_pp + 1e-9 or self.high_pp < -self.tolerance_pp - 1e-9)


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
    flips: dict[str, FlipCheck] = dataclasses.field(default_factory=dict)  # at "tau" and "tau*"
    drift: dict[str, DriftCheck] = dataclasses.field(default_factory=dict)  # by GateMetrics field

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
    rule: GateRule = GateRule()

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
        replace_atomically(path, lambda f: np.save(f, scores))
    return scores, False


def compare(
    name: str,
    labels: np.ndarray,
    ref: np.ndarray,
    got: np.ndarray,
    tau: float,
    tau_star: float,
    tolerance: Tolerance,
    rule: GateRule = GateRule(),
) -> VariantGate:
    """Judge one variant's scores against the reference's on the same labelled data (see the module docstring)."""
    diff = np.abs(got - ref)
    thresholds = {"tau": tau, "tau*": tau_star}
    ref_sum, var_sum = metrics.summary(labels, ref, thresholds), metrics.summary(labels, got, thresholds)
    ref_m, var_m = GateMetrics.of(ref_sum), GateMetrics.of(var_sum)
    counts = {k: int(np.sum((ref >= t) != (got >= t))) for k, t in thresholds.items()}
    flips = {k: flip_check(c, labels.size, tolerance.flip_rate, rule.alpha) for k, c in counts.items()}
    target_fpr = ref_sum.at["tau*"].fpr
    refit = metrics.threshold_for_fpr(labels, got, target_fpr, near=tau_star)
    drift = var_m.minus(ref_m)
    low, high = bootstrap_drift(labels, ref, got, thresholds, rule)
    checks = {
        f.name: DriftCheck(
            getattr(drift, f.name), getattr(low, f.name), getattr(high, f.name), tolerance.metric_drift_pp
        )
        for f in dataclasses.fields(drift)
    }
    return VariantGate(
        name=name,
        max_abs_diff=float(diff.max()),
        mean_abs_diff=float(diff.mean()),
        flip_rate={k: c / labels.size for k, c in counts.items()},
        metrics=var_m,
        drift_pp=drift,
        refit=Refit(target_fpr, refit, metrics.at_threshold(labels, got, refit)),
        tolerance=tolerance,
        failures=tuple(judge(float(diff.max()), flips, checks, tolerance, rule)),
        flips=flips,
        drift=checks,
    )


def flip_check(flips: int, n: int, tolerated_rate: float, alpha: float) -> FlipCheck:
    """``flips`` of ``n`` decisions changed: the one-sided exact binomial test of "rate <= tolerated_rate"."""
    from scipy.stats import binom  # the export extra (with torch): verify needs the PyTorch reference anyway

    bound = int(binom.isf(alpha, n, tolerated_rate))  # smallest K with P(X > K) <= alpha
    p_value = float(binom.sf(flips - 1, n, tolerated_rate)) if flips else 1.0
    return FlipCheck(flips, n, tolerated_rate, bound, p_value)


def bootstrap_drift(
    labels: np.ndarray, ref: np.ndarray, got: np.ndarray, thresholds: dict[str, float], rule: GateRule
) -> tuple[GateMetrics, GateMetrics]:
    """The [alpha, 1 - alpha] percentile interval of every metric's drift (pp) over paired, stratified resamples.

    Paired: each resample draws texts once and scores them with both models, so the noise shared by the two (which
    texts happen to be in the set) cancels and only their disagreement moves the drift. Stratified: positives and
    negatives are resampled apart, so every resample keeps the set's class counts (AUC and F1 stay defined).
    Computed in blocks of resamples so memory stays near 4M scores whatever the set's size. (scipy.stats.bootstrap
    resamples once per statistic and cannot stratify; here one draw serves all six metrics.)
    """
    labels = np.asarray(labels).astype(bool)
    pos, neg = np.flatnonzero(labels), np.flatnonzero(~labels)
    y = np.r_[np.ones(pos.size, bool), np.zeros(neg.size, bool)]  # the labels of every resample, in draw order
    rng = np.random.default_rng(rule.seed)
    block = max(1, 4_000_000 // labels.size)
    drifts: list[np.ndarray] = []
    for start in range(0, rule.resamples, block):
        b = min(block, rule.resamples - start)
        idx = np.concatenate([rng.choice(pos, (b, pos.size)), rng.choice(neg, (b, neg.size))], axis=1)
        drifts.append(100 * (_resampled_metrics(y, got[idx], thresholds) - _resampled_metrics(y, ref[idx], thresholds)))
    d = np.concatenate(drifts, axis=1)  # (metrics, resamples)
    low, high = np.quantile(d, rule.alpha, axis=1), np.quantile(d, 1 - rule.alpha, axis=1)
    return GateMetrics(*map(float, low)), GateMetrics(*map(float, high))


def _resampled_metrics(y: np.ndarray, scores: np.ndarray, thresholds: dict[str, float]) -> np.ndarray:
    """GateMetrics' fields (rows, in field order) for each resample (columns): the same definitions as
    :mod:`secbert_edge.metrics` (flag ``score >= t``; AUC with average ranks for ties; KS over distinct scores)."""
    from scipy.stats import rankdata

    n_pos, n_neg = int(y.sum()), int((~y).sum())
    rows = []
    for t in (thresholds["tau"], thresholds["tau*"]):
        pred = scores >= t
        tp, fp = (pred & y).sum(axis=1), (pred & ~y).sum(axis=1)
        fn = n_pos - tp
        accuracy = (tp + (n_neg - fp)) / y.size
        denominator = 2 * tp + fp + fn
        f1 = np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)
        rows += [accuracy, f1]
    ranks = rankdata(scores, axis=1)  # average ranks for ties
    auc = (ranks[:, y].sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    order = np.argsort(-scores, axis=1, kind="stable")
    ordered = np.take_along_axis(scores, order, axis=1)
    hits = y[order]
    gap = np.cumsum(hits, axis=1) / n_pos - np.cumsum(~hits, axis=1) / n_neg
    last_of_tie = np.ones_like(ordered, dtype=bool)  # a threshold flags a whole run of tied scores
    last_of_tie[:, :-1] = ordered[:, :-1] != ordered[:, 1:]
    ks = np.where(last_of_tie, gap, -np.inf).max(axis=1)
    return np.vstack(rows + [auc, ks])


def judge(
    max_abs_diff: float,
    flips: dict[str, FlipCheck],
    drift: dict[str, DriftCheck],
    tol: Tolerance,
    rule: GateRule = GateRule(),
) -> list[str]:
    """The reasons a variant fails its tolerance (empty: it passes), each with the numbers that decided it."""
    failures = []
    if tol.max_abs_diff is not None and max_abs_diff > tol.max_abs_diff:
        failures.append(f"max |dP| {max_abs_diff:.3g} > {tol.max_abs_diff:g}")
    for name, f in flips.items():
        if not f.passed:
            failures.append(
                f"flip rate at {name} {100 * f.flips / f.n:.2f}% ({f.flips} of {f.n}) is above the tolerated "
                f"{100 * f.tolerated_rate:g}%: more than {f.bound} flips (exact binomial p = {f.p_value:.2g} <= "
                f"alpha {rule.alpha:g})"
            )
    level = round(100 * (1 - 2 * rule.alpha))
    for field, d in drift.items():
        if not d.passed:
            failures.append(
                f"{field} drift {d.drift_pp:+.2f} pp: its {level}% paired-bootstrap interval [{d.low_pp:+.2f}, "
                f"{d.high_pp:+.2f}] lies beyond ±{d.tolerance_pp:g} pp"
            )
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
    rule: GateRule = GateRule(),
    log: Callable[[str], None] = lambda _: None,
) -> GateReport:
    """Run the gate over ``variants`` (default: all the package has); ``report.passed`` is False when any fails.
    ``rule``: the alpha and bootstrap of the sample-size-aware tests (see the module docstring).

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
            raise InputError(
                f"{len(bad)} examples of {data} could not be scored, e.g. #{bad[0].index}: {bad[0].error}; "
                "the gate needs a score for every labelled example: fix or drop those rows"
            )
        tolerance = (tolerances or {}).get(name) or (TEACHER_GATE if teacher else SPECS[VariantName(name)].tolerance)
        scores = np.array([r.score for r in results])
        gates[name] = compare(name, labels, ref, scores, tau, tau_star, tolerance, rule)
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
        rule=rule,
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
    dataclasses.replace(manifest, variants=variants).write(package_dir)


def markdown(report: GateReport) -> str:
    rule = report.rule
    level = round(100 * (1 - 2 * rule.alpha))
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
        f"| variant | max abs dP | mean abs dP | flips @tau (bound) | flips @tau* (bound) | F1@tau | F1 drift pp "
        f"[{level}%] | acc drift pp [{level}%] | AUC drift pp [{level}%] | KS drift pp [{level}%] | refit tau* "
        "| result |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def flips(f: FlipCheck) -> str:
        return f"{f.flips} / {f.n} (≤ {f.bound})"

    def drift(d: DriftCheck) -> str:
        return f"{d.drift_pp:+.2f} [{d.low_pp:+.2f}, {d.high_pp:+.2f}]"

    for name, v in report.variants.items():
        lines.append(
            f"| {name} | {v.max_abs_diff:.2e} | {v.mean_abs_diff:.2e} | {flips(v.flips['tau'])} | "
            f"{flips(v.flips['tau*'])} | {100 * v.metrics.f1_at_tau:.2f} | {drift(v.drift['f1_at_tau'])} | "
            f"{drift(v.drift['accuracy_at_tau'])} | {drift(v.drift['auc'])} | {drift(v.drift['ks'])} | "
            f"{v.refit.ks_optimal:.4f} | {'pass' if v.passed else 'FAIL: ' + '; '.join(v.failures)} |"
        )
    ref = report.reference
    tolerances = "; ".join(
        f"{name}: flips <= {100 * v.tolerance.flip_rate:g}%, drift <= {v.tolerance.metric_drift_pp:g} pp"
        + ("" if v.tolerance.max_abs_diff is None else f", max |dP| <= {v.tolerance.max_abs_diff:g}")
        for name, v in report.variants.items()
    )
    lines += [
        "",
        f"Reference: AUC {100 * ref.auc:.2f}, KS {100 * ref.ks:.2f}, F1@tau "
        f"{100 * ref.at['tau'].f1:.2f}, F1@tau* {100 * ref.at['tau*'].f1:.2f}.",
        "",
        f"Gate (n = {report.examples}, alpha = {rule.alpha:g}); tolerances: {tolerances}. A variant fails when its "
        f"flips at tau or tau* exceed the bound: the most flips a variant that flips exactly its tolerated share "
        f"shows on {report.examples} texts at alpha {rule.alpha:g} (one-sided exact binomial); or when a metric's "
        f"{level}% paired-bootstrap interval of the drift ({rule.resamples} stratified resamples, seed {rule.seed}; "
        "F1 and accuracy at tau and tau*, AUC, KS) lies wholly beyond ±its tolerance; or when max |dP| exceeds "
        "its bound.",
    ]
    return "\n".join(lines) + "\n"

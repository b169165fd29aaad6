"""The metric-parity gate: score labelled data with the original PyTorch model and with every variant of a
package, compare decisions and task metrics, and fail when a variant leaves its tolerance.

Tensor closeness alone does not say whether a quantized guard still *decides* like the original, so the gate
is on what users care about: label flips at tau and tau*, drift of accuracy / F1 / AUC / KS in percentage
points, and max |dP|. Reference scores are cached by checkpoint sha256 + data sha256, so CI reruns only pay
for the variants.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from . import metrics
from .data import Columns, Example, load_examples
from .errors import PackageError
from .manifest import Manifest, sha256_file
from .runtime.providers import cache_root


@dataclasses.dataclass(frozen=True)
class Tolerance:
    max_abs_diff: float | None  # None: reported, not gated
    metric_drift_pp: float  # accuracy, F1 (at tau and tau*), AUC, KS, in percentage points
    flip_rate: float  # fraction of examples whose decision changes, at tau or tau*


# DESIGN.md's table, except fp32's metric drift: 0.05 pp instead of exactly 0. A confident model saturates
# sigmoid to exactly 1.0 (or 0.0) in float32 for many inputs; a 1e-7 difference then breaks those ties and
# moves AUC/KS by a few hundredths of a point without any decision changing. Label flips stay at 0.
DEFAULT_TOLERANCES = {
    "fp32": Tolerance(1e-4, 0.05, 0.0),
    "fp16": Tolerance(1e-2, 0.2, 0.005),
    "int8": Tolerance(None, 0.5, 0.01),
    "int8-static": Tolerance(None, 0.5, 0.01),
    # TensorRT's graphs, gated on CPU here (TensorRT's own fp16/int8 kernels differ: gate on the GPU too).
    "tensorrt": Tolerance(1e-4, 0.05, 0.0),
    "tensorrt-int8": Tolerance(None, 0.5, 0.01),
}
# --- teacher gate (issue 15): a distilled student against its TEACHER's checkpoint -------------------------
# A student is a different model: scores move (|dP| reported, not gated); what is held is its decisions
# (flips at tau and tau*) and its task metrics within 1 pp of the teacher's, for every variant alike.
TEACHER_TOLERANCE = Tolerance(None, 1.0, 0.01)
TEACHER_TOLERANCES = {name: TEACHER_TOLERANCE for name in DEFAULT_TOLERANCES}
REFERENCES = ("source", "teacher")
# --- end teacher gate --------------------------------------------------------------------------------------
DRIFT_METRICS = ("accuracy@tau", "f1@tau", "accuracy@tau*", "f1@tau*", "auc", "ks")


def cache_dir() -> Path:
    return cache_root() / "reference-scores"


def _examples_key(examples: Sequence[Example], data_sha: str) -> str:
    digest = hashlib.sha256(data_sha.encode())
    for e in examples:
        digest.update(json.dumps([e.prompt, e.text]).encode())
    return digest.hexdigest()


def reference_scores(
    checkpoint: str | Path, backbone: str | Path, examples: Sequence[Example], max_length: int, data_sha: str,
    *, use_cache: bool = True, log: Callable[[str], None] = lambda _: None,
) -> tuple[np.ndarray, bool]:
    """P(positive) from the original PyTorch model, cached by checkpoint + data sha256. (scores, from_cache)."""
    key = f"{sha256_file(checkpoint)[:20]}-{_examples_key(examples, data_sha)[:20]}-{max_length}.npy"
    path = cache_dir() / key
    if use_cache and path.is_file():
        return np.load(path), True
    log("scoring with the PyTorch reference model")
    from .modeling import load_reference_model
    from .training import encode_examples, evaluate

    model, _ = load_reference_model(checkpoint, backbone)
    encoded = encode_examples(examples, backbone, max_length)
    _, scores = evaluate(model, encoded, [e.label for e in examples])
    scores = np.asarray(scores, dtype=np.float64)
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, scores)
    return scores, False


def compare(labels: np.ndarray, ref: np.ndarray, got: np.ndarray, tau: float, tau_star: float) -> dict:
    """Everything one variant is judged on, against the reference scores on the same labelled data."""
    diff = np.abs(got - ref)
    ref_sum = metrics.summary(labels, ref, {"tau": tau, "tau*": tau_star})
    var_sum = metrics.summary(labels, got, {"tau": tau, "tau*": tau_star})

    def flat(summary):
        return {
            "accuracy@tau": summary["at"]["tau"]["accuracy"], "f1@tau": summary["at"]["tau"]["f1"],
            "accuracy@tau*": summary["at"]["tau*"]["accuracy"], "f1@tau*": summary["at"]["tau*"]["f1"],
            "auc": summary["auc"], "ks": summary["ks"],
        }

    ref_m, var_m = flat(ref_sum), flat(var_sum)
    flips = {name: float(np.mean((ref >= t) != (got >= t))) for name, t in (("tau", tau), ("tau*", tau_star))}
    # Re-fit: the variant's threshold that holds the reference's operating point (its FPR at tau*).
    target_fpr = ref_sum["at"]["tau*"]["fpr"]
    refit = metrics.threshold_for_fpr(labels, got, target_fpr, near=tau_star)
    return {
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "flip_rate": flips,
        "metrics": var_m,
        "reference_metrics": ref_m,
        "drift_pp": {k: 100 * (var_m[k] - ref_m[k]) for k in DRIFT_METRICS},
        "refit": {"target_fpr": target_fpr, "ks_optimal": refit,
                  "at_refit": dataclasses.asdict(metrics.at_threshold(labels, got, refit))},
    }


def judge(result: dict, tol: Tolerance) -> list[str]:
    """The reasons a variant fails its tolerance (empty: it passes)."""
    failures = []
    if tol.max_abs_diff is not None and result["max_abs_diff"] > tol.max_abs_diff:
        failures.append(f"max |dP| {result['max_abs_diff']:.3g} > {tol.max_abs_diff:g}")
    for name, rate in result["flip_rate"].items():
        if rate > tol.flip_rate:
            failures.append(f"flip rate at {name} {100 * rate:.2f}% > {100 * tol.flip_rate:.2f}%")
    for name, drift in result["drift_pp"].items():
        if abs(drift) > tol.metric_drift_pp + 1e-9:
            failures.append(f"{name} drift {drift:+.2f} pp > ±{tol.metric_drift_pp:g} pp")
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
    log: Callable[[str], None] = lambda _: None,
    reference: str = "source",
) -> dict:
    """Run the gate. Returns the report dict; ``report["passed"]`` is False when any variant fails.

    ``reference="teacher"``: ``checkpoint``/``backbone`` are the teacher a student package was distilled from
    (its sha256 differs from the package's source on purpose); TEACHER_TOLERANCES apply under ``tolerances``.
    """
    from .runtime import load

    package_dir = Path(package_dir)
    manifest = Manifest.read(package_dir)
    manifest.verify_files(package_dir)
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {REFERENCES}, got {reference!r}")
    teacher = reference == "teacher"
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
    tau_star = manifest.thresholds.get("ks_optimal")
    ref, cached = reference_scores(checkpoint, backbone, examples, manifest.max_length, sha256_file(data),
                                   use_cache=use_cache, log=log)
    if tau_star is None:
        tau_star = metrics.ks(labels, ref)[1]
    tolerances = {**(TEACHER_TOLERANCES if teacher else DEFAULT_TOLERANCES), **(tolerances or {})}
    report = {
        "package": str(package_dir), "data": str(data), "examples": len(examples), "positives": int(labels.sum()),
        "tau": tau, "tau*": tau_star, "reference": {"scorer": "pytorch fp32 eager" + (" (teacher)" if teacher else ""),
                                                   "from_cache": cached,
                                                   **metrics.summary(labels, ref, {"tau": tau, "tau*": tau_star})},
        "variants": {},
    }
    refits = {}
    for name in variants or list(manifest.variants):
        log(f"scoring with the {name} variant")
        clf = load(package_dir, precision=name, providers=("cpu",))
        results = (clf.predict_pairs([e.prompt for e in examples], [e.text for e in examples])
                   if any(e.prompt for e in examples) else clf.predict([e.text for e in examples]))
        bad = [r for r in results if not r.ok]
        if bad:
            raise PackageError(f"{len(bad)} examples could not be scored, e.g. #{bad[0].index}: {bad[0].error}")
        got = np.array([r.score for r in results])
        result = compare(labels, ref, got, tau, tau_star)
        tol = tolerances[name]
        result["tolerance"] = dataclasses.asdict(tol)
        result["failures"] = judge(result, tol)
        result["passed"] = not result["failures"]
        report["variants"][name] = result
        refits[name] = result["refit"]["ks_optimal"]
    report["passed"] = all(v["passed"] for v in report["variants"].values())
    if update_manifest:
        _store_refits(package_dir, refits, report["reference"]["at"]["tau*"]["fpr"])
    return report


def _store_refits(package_dir: Path, refits: dict[str, float], target_fpr: float) -> None:
    manifest = Manifest.read(package_dir)
    variants = {
        name: dataclasses.replace(v, thresholds={**v.thresholds, "ks_optimal": refits[name], "target_fpr": target_fpr})
        if name in refits else v
        for name, v in manifest.variants.items()
    }
    updated = dataclasses.replace(manifest, variants=variants)
    tmp = package_dir / ".manifest.json.tmp"
    tmp.write_text(json.dumps(updated.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(package_dir / "manifest.json")


def markdown(report: dict) -> str:
    lines = [
        f"# secbert-edge verify: {'PASSED' if report['passed'] else 'FAILED'}",
        "",
        f"Package `{report['package']}`, data `{report['data']}`: {report['examples']} examples "
        f"({report['positives']} positive); tau = {report['tau']:.4f}, tau* = {report['tau*']:.4f}. "
        "Reference: the TEACHER's PyTorch model (fp32, eager); the package is a distilled student."
        if "teacher" in report["reference"]["scorer"] else "Reference: the original PyTorch model (fp32, eager).",
        "",
        "| variant | max abs dP | mean abs dP | flips @tau | flips @tau* | F1@tau | F1 drift pp | acc drift pp | AUC drift pp "
        "| KS drift pp | refit tau* | result |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, v in report["variants"].items():
        d = v["drift_pp"]
        lines.append(
            f"| {name} | {v['max_abs_diff']:.2e} | {v['mean_abs_diff']:.2e} | {100 * v['flip_rate']['tau']:.2f}% | "
            f"{100 * v['flip_rate']['tau*']:.2f}% | {100 * v['metrics']['f1@tau']:.2f} | {d['f1@tau']:+.2f} | "
            f"{d['accuracy@tau']:+.2f} | {d['auc']:+.2f} | {d['ks']:+.2f} | {v['refit']['ks_optimal']:.4f} | "
            f"{'pass' if v['passed'] else 'FAIL: ' + '; '.join(v['failures'])} |"
        )
    ref = report["reference"]
    lines += ["", f"Reference: AUC {100 * ref['auc']:.2f}, KS {100 * ref['ks']:.2f}, F1@tau "
                  f"{100 * ref['at']['tau']['f1']:.2f}, F1@tau* {100 * ref['at']['tau*']['f1']:.2f}."]
    return "\n".join(lines) + "\n"

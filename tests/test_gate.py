"""verify's sample-size-aware gate: flips judged by an exact binomial bound, metric drift by a paired bootstrap
interval, both against the tolerance table's effect sizes. Both directions on score arrays (the issue's 1-flip case
on 562 texts with 91 positives; tens of flips; an fp32 flip; a ranking broken without a decision changing), and
end to end on the embedded demo guard: its sound int8 passes, the same int8 with one weight matrix's quantization
scales 25% off fails."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from secbert_edge import metrics
from secbert_edge.errors import ConfigError
from secbert_edge.variants import FP32_GATE, INT8_GATE, TEACHER_GATE, Tolerance
from secbert_edge.verify import (
    GateMetrics,
    GateReport,
    GateRule,
    Reference,
    _resampled_metrics,
    compare,
    flip_check,
    markdown,
)

TAU, TAU_STAR = 0.5, 0.7


def issue_case(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """562 texts, 91 positive (the issue's test split): 80 positives flagged, 11 missed, 5 false positives; scores
    kept away from tau and tau* except one missed positive at 0.49."""
    rng = np.random.default_rng(seed)
    labels = np.r_[np.ones(91, int), np.zeros(471, int)]
    ref = np.r_[rng.uniform(0.75, 1.0, 80), rng.uniform(0.05, 0.4, 10), [0.49], rng.uniform(0.0, 0.4, 466)]
    ref = np.r_[ref, rng.uniform(0.75, 1.0, 5)]
    return labels, ref


def old_fixed_gate(drift: GateMetrics, flip_rate: dict[str, float], tol: Tolerance) -> bool:
    """The gate before issue 23: a fixed flip share and a fixed pp drift, whatever the set's size."""
    fields = [getattr(drift, f.name) for f in dataclasses.fields(drift)]
    return all(r <= tol.flip_rate for r in flip_rate.values()) and all(abs(d) <= tol.metric_drift_pp for d in fields)


def test_one_flip_on_562_texts_passes_and_says_why():
    labels, ref = issue_case()
    got = ref + np.random.default_rng(1).normal(0, 3e-4, ref.size)
    got[90] = 0.51  # the one missed positive the variant now flags
    gate = compare("int8", labels, ref, got, TAU, TAU_STAR, INT8_GATE)
    assert gate.flips["tau"].flips == 1 and gate.flips["tau*"].flips == 0
    assert gate.drift_pp.f1_at_tau == pytest.approx(100 * (162 / 177 - 160 / 176))  # +0.62 pp
    assert not old_fixed_gate(gate.drift_pp, gate.flip_rate, INT8_GATE)  # 0.62 pp > 0.5 pp: failed before
    assert gate.passed, gate.failures
    assert gate.flips["tau"].bound == 10 and gate.flips["tau"].p_value == pytest.approx(1 - 0.99**562)
    f1 = gate.drift["f1_at_tau"]
    assert f1.low_pp == 0.0 and f1.high_pp > 1.0  # the one text is drawn 0, 1, 2... times: noise reaches 0
    summary = metrics.summary(labels, ref, {"tau": TAU, "tau*": TAU_STAR})
    report = GateReport(
        "pkg", "test.jsonl", 562, 91, TAU, TAU_STAR, "x", Reference.SOURCE, False, summary, {"int8": gate}
    )
    text = markdown(dataclasses.replace(report, variants={"int8": gate}))
    assert "562 examples (91 positive)" in text and "| 1 / 562 (≤ 10) | 0 / 562 (≤ 10) |" in text
    assert f"| +0.62 [+0.00, {f1.high_pp:+.2f}] |" in text and "one-sided exact binomial" in text and "PASSED" in text


def test_flips_fail_above_the_binomial_bound_and_not_at_it():
    labels, ref = issue_case()
    below = np.flatnonzero(ref < 0.4)
    for flips, passed in ((10, True), (11, False), (40, False)):
        got = ref.copy()
        got[below[:flips]] = 0.55  # flags `flips` texts the reference did not
        gate = compare("int8", labels, ref, got, TAU, TAU_STAR, INT8_GATE)
        assert gate.flips["tau"].flips == flips and gate.flips["tau"].passed is passed, gate.failures
        flip_failures = [f for f in gate.failures if f.startswith("flip rate at tau ")]
        assert bool(flip_failures) is not passed
    assert "(11 of 562) is above the tolerated 1%: more than 10 flips (exact binomial p = 0.03" in flip_failures[0] or (
        "(40 of 562)" in flip_failures[0]
    )


def test_flip_bound_is_the_exact_binomial_quantile():
    """Checked against the binomial sum written out: the bound K is the least K with P(X > K) <= alpha."""

    def tail(k: int, n: int, p: float) -> float:  # P(X >= k)
        return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))

    for n, p, alpha in ((562, 0.01, 0.05), (90, 0.01, 0.05), (90, 0.005, 0.05), (600, 0.01, 0.01), (40, 0.05, 0.1)):
        bound = flip_check(0, n, p, alpha).bound
        assert tail(bound + 1, n, p) <= alpha < tail(bound, n, p), (n, p)
        assert flip_check(bound + 1, n, p, alpha).p_value == pytest.approx(tail(bound + 1, n, p))
    assert [flip_check(0, n, 0.0, 0.05).bound for n in (10, 562, 100_000)] == [0, 0, 0]  # fp32: no flip allowed
    assert flip_check(3, 90, 1.0, 0.05).passed  # --max-flips VARIANT=1 switches the check off


def test_fp32_fails_on_any_flip_or_any_real_divergence():
    labels, ref = issue_case()
    got = ref + 1e-7
    assert compare("fp32", labels, ref, got, TAU, TAU_STAR, FP32_GATE).passed
    got[90] = 0.51
    gate = compare("fp32", labels, ref, got, TAU, TAU_STAR, FP32_GATE)
    assert not gate.passed and any("more than 0 flips" in f for f in gate.failures)
    assert any(f.startswith("max |dP| 0.02 > 0.0001") for f in gate.failures)


def test_a_ranking_broken_without_a_flip_fails_on_its_bootstrap_interval():
    """Scores reversed below tau: no decision changes at tau or tau*, but AUC and KS fall far beyond 0.5 pp. (max |dP|
    is left ungated here, as DESIGN.md's int8 row has it, to test the drift check alone.)"""
    rng = np.random.default_rng(3)
    labels = np.r_[np.ones(150, int), np.zeros(450, int)]
    ref = np.r_[rng.uniform(0.75, 1.0, 100), rng.uniform(0.3, 0.45, 50), rng.uniform(0.0, 0.3, 450)]
    got = np.where(ref < 0.45, 0.45 - ref, ref)
    tolerance = dataclasses.replace(INT8_GATE, max_abs_diff=None)
    gate = compare("int8", labels, ref, got, TAU, TAU_STAR, tolerance)
    assert {k: f.flips for k, f in gate.flips.items()} == {"tau": 0, "tau*": 0}
    assert not gate.passed and all("paired-bootstrap interval" in f for f in gate.failures)
    assert {f.split()[0] for f in gate.failures} == {"auc", "ks"}
    assert gate.drift["auc"].high_pp < -INT8_GATE.metric_drift_pp
    noise = compare("int8", labels, ref, ref + rng.normal(0, 1e-3, ref.size), TAU, TAU_STAR, tolerance)
    assert noise.passed, noise.failures


def test_the_teacher_gate_judges_a_few_flips_on_90_texts_as_noise():
    """The distill test's situation: 90 texts, one flip is 1.1% > 1%; the binomial bound on 90 texts is 3."""
    labels, ref = issue_case()
    labels, ref = labels[::6][:90], ref[::6][:90]
    got = ref.copy()
    got[np.flatnonzero(ref < 0.4)[:2]] = 0.55
    gate = compare("fp32", labels, ref, got, TAU, TAU_STAR, TEACHER_GATE)
    assert gate.flips["tau"].flips == 2 and gate.flips["tau"].bound == 3
    assert not old_fixed_gate(gate.drift_pp, gate.flip_rate, TEACHER_GATE) and gate.passed, gate.failures


def test_the_bootstrap_is_deterministic_and_matches_the_metrics_module():
    labels, ref = issue_case()
    got = np.round(ref + np.random.default_rng(2).normal(0, 0.05, ref.size), 2)  # ties, some flips
    thresholds = {"tau": TAU, "tau*": TAU_STAR}
    one = _resampled_metrics(labels.astype(bool), got[None, :], thresholds)[:, 0]
    want = GateMetrics.of(metrics.summary(labels, got, thresholds))
    assert one == pytest.approx([getattr(want, f.name) for f in dataclasses.fields(want)], abs=1e-12)
    a = compare("int8", labels, ref, got, TAU, TAU_STAR, INT8_GATE)
    b = compare("int8", labels, ref, got, TAU, TAU_STAR, INT8_GATE)
    assert a.drift == b.drift and a.failures == b.failures
    with pytest.raises(ConfigError, match="alpha"):
        GateRule(alpha=0.7)


MODELS = Path(__file__).resolve().parents[1] / "models"


def _scale_one_matrix(package: Path, initializer: str, factor: float) -> None:
    """Multiply one weight matrix's quantization scales in the int8 variant, keeping the manifest's sha256 right."""
    import onnx

    from secbert_edge.manifest import sha256_file

    model = onnx.load(str(package / "model.int8.onnx"))
    (init,) = [i for i in model.graph.initializer if i.name == initializer]
    scaled = onnx.numpy_helper.to_array(init) * np.float32(factor)
    init.CopyFrom(onnx.numpy_helper.from_array(scaled.astype(np.float32), initializer))
    onnx.save(model, str(package / "model.int8.onnx"))
    data = json.loads((package / "manifest.json").read_text())
    data["variants"]["int8"]["sha256"] = sha256_file(package / "model.int8.onnx")
    (package / "manifest.json").write_text(json.dumps(data))


@pytest.mark.slow
def test_demo_guard_sound_int8_passes_and_a_25pct_scale_error_fails(tmp_path, monkeypatch):
    """The embedded demo guard (2 layers, trained) on its 600-text test split: its int8 passes with the bound
    printed; the same int8 with the first attention's QKV weight scales 25% too large fails (measured: 38 flips at
    tau, 40 at tau*, against a bound of 10)."""
    from click.testing import CliRunner

    from secbert_edge.cli import main
    from secbert_edge.cli._common import Status

    monkeypatch.setenv("SECBERT_EDGE_CACHE", str(tmp_path / "cache"))
    src = MODELS / "src" / "secbert-pt-demo"
    package = tmp_path / "pkg"
    shutil.copytree(MODELS / "secbert-pt-demo", package)
    args = ["verify", "--model", str(package), "--checkpoint", str(src / "best_model.pth"), "--backbone"]
    args += [str(src / "backbone"), "--data", str(src / "test.jsonl"), "--variant", "int8", "--no-update-manifest"]
    sound = CliRunner().invoke(main, args + ["--json"])
    assert sound.exit_code == Status.OK, sound.output
    gate = json.loads(sound.stdout)["variants"]["int8"]
    assert {k: f["bound"] for k, f in gate["flips"].items()} == {"tau": 10, "tau*": 10}
    assert all(f["flips"] <= 2 and f["n"] == 600 for f in gate["flips"].values())
    _scale_one_matrix(package, "Attention_0_qkv_weight_scale", 1.25)
    damaged = CliRunner().invoke(main, args)
    assert damaged.exit_code == Status.GATE, damaged.output
    assert "more than 10 flips" in damaged.output and "FAILED" in damaged.output

"""The benchmark suite on the tiny model with tiny settings: valid typed records; statistics and FLOPs."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from secbert_edge.benchmarks import hardware
from secbert_edge.benchmarks.runner import BenchConfig, run_bench, to_markdown
from secbert_edge.benchmarks.timing import stats, time_call
from secbert_edge.benchmarks.workload import mixed_workload
from secbert_edge.cli import main
from secbert_edge.cli._common import Status


def test_stats_percentiles():
    s = stats(range(1, 101))
    assert (s.n, s.min_ms, s.p50_ms, s.mean_ms) == (100, 1.0, 50.5, 50.5)
    assert s.p95_ms == pytest.approx(np.percentile(np.arange(1, 101), 95))
    assert s.p99_ms == pytest.approx(99.01)
    with pytest.raises(ValueError):
        stats([])
    calls = []
    assert time_call(lambda: calls.append(1), warmup=2, repeats=5).n == 5 and len(calls) == 7


def test_bert_flops_matches_hand_count():
    # BERT-base at 128 tokens: ~22.3 GFLOP (12 x (8 L H^2 + 4 L^2 H + 4 L H I)), the floor the issue quotes.
    flops = hardware.bert_flops(128, hidden=768, layers=12, intermediate=3072)
    per_layer = 8 * 128 * 768**2 + 4 * 128**2 * 768 + 4 * 128 * 768 * 3072
    assert flops == pytest.approx(12 * per_layer, rel=1e-3) and 22.0e9 < flops < 22.6e9
    assert hardware.bert_flops(256, hidden=768, layers=12, intermediate=3072) > 2 * flops  # attention is quadratic


def test_gemm_rates_are_measured():
    rates = hardware.gemm_rates(threads=1, shape=(64, 64, 64), repeats=3)
    assert rates["fp32_gflops"] > 0 and rates["int8_gops"] > 0


def test_mixed_workload_follows_the_mix(classifier):
    count = lambda texts: [len(x) for x in classifier.encoder.encode(list(texts))]  # noqa: E731
    wl = mixed_workload(200, count, seed=1)
    lengths = np.array(wl.token_lengths)
    assert len(wl.texts) == 200 and mixed_workload(200, count, seed=1) == wl
    # Each bin holds exactly its share (give or take a text landing on a bin edge), whatever the workload size.
    assert abs(np.sum(lengths <= 64) - 110) <= 2 and abs(np.sum(lengths > 256) - 30) <= 2 and lengths.max() > 512
    small = np.array(mixed_workload(32, count, seed=0).token_lengths)
    assert abs(np.sum(small <= 64) - 18) <= 1 and abs(np.sum(small > 256) - 5) <= 1
    assert list(wl.token_lengths) != sorted(wl.token_lengths)  # arrival order mixes lengths


def test_bench_on_the_tiny_model(tiny_package, tiny_backbone, tiny_checkpoint):
    config = BenchConfig(
        precisions=("fp32",),
        lengths=(8, 32),
        batch_sizes=(4,),
        workload_size=20,
        repeats=2,
        budget_s=1.0,
        gemm=True,
        cold_start=True,
    )
    result = run_bench(tiny_package, config, reference=(tiny_checkpoint, tiny_backbone))
    assert not result.interrupted
    assert {(r.scorer, r.length) for r in result.latency} == {
        (s, n) for s in ("onnxruntime fp32", "pytorch fp32 eager") for n in (8, 32)
    }
    assert all(r.stats.p50_ms > 0 and 0 < r.fraction_of_floor for r in result.latency)
    modes = {(r.scorer, r.mode) for r in result.throughput}
    assert ("onnxruntime fp32", "bucketed") in modes and ("pytorch fp32 eager", "pad_to_max") in modes
    for r in result.throughput:
        assert r.texts == 20 and r.texts_per_s > 0 and 0 < r.padding_efficiency <= 1
    pad = next(r for r in result.throughput if r.mode == "pad_to_max" and r.scorer == "onnxruntime fp32")
    bucketed = next(r for r in result.throughput if r.mode == "bucketed" and r.scorer == "onnxruntime fp32")
    assert bucketed.padding_efficiency > pad.padding_efficiency
    (proc,) = result.process
    assert proc.cold_start_s > 0 and proc.peak_rss_mb > 10
    assert "Batch-1 latency" in to_markdown(result) and result.meta["gemm"]["fp32_gflops"] > 0


def test_bench_cli_writes_records_report_and_plots(tiny_package, tmp_path):
    args = [
        "bench",
        "--model",
        str(tiny_package),
        "--variant",
        "fp32",
        "--lengths",
        "8",
        "--batch-sizes",
        "2",
        "--workload-size",
        "10",
        "--repeats",
        "2",
        "--budget",
        "1",
        "--no-cold-start",
        "--bucketing",
        "on",
        "--json",
        "--report",
        str(tmp_path / "report"),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert json.loads((tmp_path / "report" / "results.json").read_text()) == data
    assert data["latency"][0]["stats"]["n"] >= 1 and data["throughput"][0]["mode"] == "bucketed"
    assert (tmp_path / "report" / "report.md").is_file() and (tmp_path / "report" / "latency.png").is_file()
    missing = CliRunner().invoke(main, ["bench", "--model", str(tiny_package), "--variant", "int8"])
    assert missing.exit_code == Status.LOAD and "no int8 variant" in missing.output


def test_bench_defaults_to_the_variants_the_package_has(tiny_package, tmp_path):
    """A fresh export has fp32 only: a bare `bench --model PKG` measures it instead of failing on int8."""
    args = [
        "bench",
        "--model",
        str(tiny_package),
        "--lengths",
        "8",
        "--batch-sizes",
        "2",
        "--workload-size",
        "6",
        "--repeats",
        "1",
        "--budget",
        "0.5",
        "--no-cold-start",
        "--bucketing",
        "on",
        "--json",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["meta"]["config"]["precisions"] == ["fp32"]
    assert {r["precision"] for r in data["latency"]} == {"fp32"}


def test_bench_without_onnx_skips_the_gemm_probe(tiny_package, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if `pip install ".[bench]"` had no onnx: import fails
    assert "onnx" in hardware.gemm_unavailable()
    config = BenchConfig(
        precisions=None,
        lengths=(8,),
        batch_sizes=(2,),
        workload_size=6,
        repeats=1,
        budget_s=0.5,
        bucketing="on",
        cold_start=False,
    )
    steps = []
    result = run_bench(tiny_package, config, progress=steps.append)
    assert "gemm" not in result.meta and "GEMM peak probe skipped" in result.meta["gemm_skipped"]
    assert any("GEMM peak probe skipped" in s for s in steps)
    assert all(r.floor_ms is None and r.stats.p50_ms > 0 for r in result.latency)
    assert "GEMM peak probe skipped" in to_markdown(result)

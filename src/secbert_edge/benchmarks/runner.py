"""``secbert-edge bench``: latency, throughput, cold start and memory of a package's variants, with PyTorch
eager as the baseline and the machine's measured GEMM peaks as the ceiling, all in one run.

Everything is kept as typed records (raw samples included); the report and plots are derived from them.
Ctrl-C stops the run and keeps what was measured (``interrupted`` is then set in the result).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..manifest import Manifest
from ..runtime import Classifier, bucketing, load
from ..runtime.tokenization import LongInputPolicy, fit_sequence
from . import hardware
from .config import BenchConfig
from .timing import LatencyStats, time_call
from .workload import Workload, file_workload, mixed_workload

MODES = ("pad_to_max", "dynamic_arrival", "bucketed")


@dataclasses.dataclass(frozen=True)
class SessionRecord:
    """What a variant's session really ran on: a provider that fell back shows here, not just in a warning."""

    precision: str
    variant: str  # the package variant used (TensorRT runs the tensorrt graphs)
    requested_providers: tuple[str, ...]
    providers: tuple[str, ...]  # session.get_providers()
    fallback_from: str | None  # the provider asked for first, when the session does not run on it
    io_binding: bool
    session_s: float  # building the session (TensorRT: includes engine build or cache load)
    warmup_s: float | None  # running every shape once (GPU only)


@dataclasses.dataclass(frozen=True)
class LatencyRecord:
    scorer: str  # e.g. "onnxruntime int8" or "pytorch fp32 eager"
    precision: str
    providers: tuple[str, ...]
    length: int
    stats: LatencyStats
    gflop: float
    floor_ms: float | None  # FLOPs / measured GEMM peak for this precision
    fraction_of_floor: float | None  # floor / p50: 1.0 = at the hardware limit


@dataclasses.dataclass(frozen=True)
class ThroughputRecord:
    scorer: str
    precision: str
    mode: str  # pad_to_max | dynamic_arrival | bucketed
    batch_size: int
    texts: int
    seconds: float
    texts_per_s: float
    tokens_per_s: float  # real (unpadded) tokens
    padding_efficiency: float  # real tokens / tokens computed
    tokenize_share: float | None  # share of the time spent tokenizing (bucketed mode)


@dataclasses.dataclass(frozen=True)
class ProcessRecord:
    precision: str
    cold_start_s: float  # fresh interpreter: import -> first result
    wall_s: float  # process launch -> first result (interpreter start-up included)
    peak_rss_mb: float  # peak resident memory (VmHWM) after scoring a slice of the workload


@dataclasses.dataclass(frozen=True)
class Scorer:
    """Something bench times: an ONNX Runtime variant (``classifier`` set) or the PyTorch eager reference (None).
    ``run`` takes a ready batch (input_ids, attention_mask, token_type_ids int64 arrays) -> P(positive) per row."""

    name: str  # e.g. "onnxruntime int8" or "pytorch fp32 eager"
    variant: str
    providers: tuple[str, ...]
    run: Callable[[np.ndarray, np.ndarray, np.ndarray], Any]
    classifier: Classifier | None = None

    @property
    def on_gpu(self) -> bool:
        return self.classifier is not None and self.classifier.device == "cuda"


@dataclasses.dataclass(frozen=True)
class BenchResult:
    """Everything a bench run measured, as typed records (raw samples included); reports are derived from it."""

    meta: dict[str, Any]  # package, date, versions, CPU, config, workload, GEMM peaks, threads
    sessions: tuple[SessionRecord, ...]
    latency: tuple[LatencyRecord, ...]
    throughput: tuple[ThroughputRecord, ...]
    process: tuple[ProcessRecord, ...]
    interrupted: bool  # Ctrl-C: the records hold what was measured before it

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _sequences(clf: Classifier, texts: Sequence[str]) -> list[list[int]]:
    ids = clf.encoder.encode(list(texts))
    return [fit_sequence(x, clf.manifest.max_length, LongInputPolicy.TRUNCATE, clf.template)[0][0][0] for x in ids]


def _run_batches(
    run: Callable, sequences: Sequence[Sequence[int]], batches: Sequence[tuple[Sequence[int], int]], pad_id: int
) -> int:
    computed = 0
    for indices, pad_to in batches:
        ids, mask, types = bucketing.pad_batch([sequences[i] for i in indices], pad_to, pad_id)
        run(ids, mask, types)
        computed += len(indices) * pad_to
    return computed


def _baseline_plans(
    lengths: Sequence[int], batch_size: int, max_length: int, mode: str
) -> list[tuple[Sequence[int], int]]:
    """The two strategies the runtime's bucketing is compared with: every batch padded to the max length, or to
    its longest member in arrival order."""
    starts = range(0, len(lengths), batch_size)
    if mode == "pad_to_max":
        return [(range(s, min(s + batch_size, len(lengths))), max_length) for s in starts]
    return [(range(s, min(s + batch_size, len(lengths))), max(lengths[s : s + batch_size])) for s in starts]


def _throughput(
    scorer: Scorer,
    mode: str,
    batch_size: int,
    sequences: Sequence[Sequence[int]],
    plans: Sequence[tuple[Sequence[int], int]],
    pad_id: int,
) -> ThroughputRecord:
    """Time ``scorer.run`` over ready batches (the baselines, and PyTorch under the runtime's plan)."""
    lengths = [len(s) for s in sequences]
    _run_batches(scorer.run, sequences, [(list(plans[0][0])[:1], plans[0][1])], pad_id)  # warm-up: one row
    t0 = time.perf_counter()
    computed = _run_batches(scorer.run, sequences, plans, pad_id)
    seconds = time.perf_counter() - t0
    real = sum(lengths)
    return ThroughputRecord(
        scorer.name,
        scorer.variant,
        mode,
        batch_size,
        len(sequences),
        seconds,
        len(sequences) / seconds,
        real / seconds,
        real / computed,
        None,
    )


def _runtime_throughput(
    scorer: Scorer, clf: Classifier, texts: Sequence[str], sequences: Sequence[Sequence[int]]
) -> ThroughputRecord:
    """Time the runtime's own public call, ``predict`` (tokenization, long-input policy, bucketing, padding,
    inference, results in order) on the workload; padding efficiency from the plan it runs."""
    lengths = [len(s) for s in sequences]
    clf.predict(list(texts[:1]))  # warm-up: one text
    t0 = time.perf_counter()
    clf.encoder.encode(list(texts))
    tokenize_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    clf.predict(list(texts))
    seconds = time.perf_counter() - t0
    computed = sum(b.padded_tokens for b in clf.plan(lengths))
    real = sum(lengths)
    return ThroughputRecord(
        scorer.name,
        scorer.variant,
        "bucketed",
        clf.max_batch_size,
        len(texts),
        seconds,
        len(texts) / seconds,
        real / seconds,
        real / computed,
        min(1.0, tokenize_s / seconds),
    )


def _process_probe(package: Path, precision: str, texts: Sequence[str], options: dict) -> ProcessRecord:
    """A fresh interpreter: time from launch and from import to the first result, then peak RSS after scoring
    ``texts``, with the run's own load() options (providers included: a GPU cold start includes building or
    loading the TensorRT engine). RSS is read from /proc/self/status (VmHWM): getrusage's ru_maxrss survives
    fork+exec on Linux and would report the (much larger) parent's peak."""
    code = (
        "import time, json, sys\n"
        "launched = float(sys.argv[1])\n"
        "t0 = time.perf_counter()\n"
        "from secbert_edge.runtime import load\n"
        f"clf = load({str(package)!r}, variant={precision!r}, **json.loads({json.dumps(options)!r}))\n"
        "clf.score(['Olá, tudo bem?'])\n"
        "cold, wall = time.perf_counter() - t0, time.time() - launched\n"
        "clf.predict(json.loads(sys.stdin.read()))\n"
        "hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
        "print(json.dumps({'cold': cold, 'wall': wall, 'rss_kb': hwm}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, repr(time.time())],
        input=json.dumps(list(texts)),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    data = json.loads(out.stdout.strip().split("\n")[-1])
    return ProcessRecord(precision, data["cold"], data["wall"], data["rss_kb"] / 1024)


def package_variants(manifest: Manifest) -> tuple[str, ...]:
    """The variants bench measures by default: every one the package has, except the TensorRT graphs (TensorRT
    runs them when asked for fp16 / int8-static with the tensorrt provider)."""
    return tuple(name for name in manifest.variants if not name.startswith("tensorrt"))


def run_bench(
    package: str | Path,
    config: BenchConfig = BenchConfig(),
    *,
    workload: Workload | None = None,
    workload_texts: Sequence[str] | None = None,
    workload_name: str = "file",
    reference: tuple[Path, Path] | None = None,  # (checkpoint, backbone) for the PyTorch eager baseline
    progress: Callable[[str], None] = lambda _: None,
) -> BenchResult:
    import onnxruntime as ort

    package = Path(package)
    manifest = Manifest.read(package)
    if config.precisions is None:
        config = dataclasses.replace(config, precisions=package_variants(manifest))
    variants = tuple(config.precisions or ())
    for p in variants:
        manifest.variant(p)  # fail fast, naming the quantize command, before measuring anything
    meta: dict[str, Any] = {
        "package": str(package),
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "secbert_edge": __version__,
        "onnxruntime": ort.__version__,
        "cpu": hardware.cpu_description(),
        "config": dataclasses.asdict(config),
        "model": manifest.source,
    }
    sessions: list[SessionRecord] = []
    latency: list[LatencyRecord] = []
    throughput: list[ThroughputRecord] = []
    process: list[ProcessRecord] = []
    interrupted = False
    src = manifest.source
    dims = dict(
        hidden=src.get("hidden", 768),
        layers=src.get("layers", 12),
        intermediate=src.get("intermediate", 4 * src.get("hidden", 768)),
    )
    try:
        probe = load(package, variant=variants[0], **config.load_options())
        threads = probe.session.get_session_options().intra_op_num_threads
        meta["threads"] = threads

        def count(texts: Sequence[str]) -> list[int]:
            return [len(x) for x in probe.encoder.encode(list(texts))]

        if workload is None and workload_texts is not None:
            workload = file_workload(workload_texts, count, workload_name)
        workload = workload or mixed_workload(config.workload_size, count, seed=config.seed)
        meta["workload"] = workload.description
        peaks: dict[str, Any] = {}
        gemm = config.gemm
        if gemm and hardware.gemm_unavailable():
            gemm = False
            meta["gemm_skipped"] = hardware.gemm_unavailable()
            progress(meta["gemm_skipped"])
        if gemm:
            progress("measuring GEMM peaks")
            peaks = hardware.gemm_rates(threads)
            meta["gemm"] = peaks
        rng = np.random.default_rng(config.seed)
        scorers: list[Scorer] = []
        for variant in variants:
            clf = load(package, variant=variant, **config.load_options())
            if clf.device == "cuda":
                progress(f"warming up {variant} on {clf.providers[0]} ({len(clf.shapes())} shapes)")
                clf.warmup()
            sessions.append(
                SessionRecord(
                    variant,
                    clf.variant_name,
                    tuple(clf.requested_providers),
                    tuple(clf.providers),
                    clf.fallback,
                    clf.io_binding,
                    clf.timings["session_s"],
                    clf.timings.get("warmup_s"),
                )
            )

            def run(ids: np.ndarray, mask: np.ndarray, types: np.ndarray, clf: Classifier = clf) -> np.ndarray:
                return clf.infer({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})

            scorers.append(Scorer(f"onnxruntime {variant}", variant, tuple(clf.providers), run, clf))
        if reference is not None:
            from ..reference import ReferenceScorer

            torch_model = ReferenceScorer(*reference, threads=threads)
            scorers.append(Scorer("pytorch fp32 eager", "fp32", ("torch-cpu",), torch_model.run))
        lengths = [min(x, manifest.max_length) for x in config.lengths]
        for scorer in scorers:
            if gemm and not scorer.on_gpu:
                # Re-measured right before this scorer's cells: on a shared machine the rate drifts during a
                # run, and a floor from minutes earlier would skew the fraction.
                peaks = hardware.gemm_rates(threads)
                meta.setdefault("gemm_by_scorer", {})[scorer.name] = peaks
            peak = peaks.get("int8_gops" if "int8" in scorer.variant else "fp32_gflops")
            for length in lengths:
                progress(f"latency {scorer.name} L={length}")
                ids = rng.integers(5, manifest.vocab_size, (1, length)).astype(np.int64)
                mask, types = np.ones_like(ids), np.zeros_like(ids)
                stats = time_call(
                    functools.partial(scorer.run, ids, mask, types), repeats=config.repeats, budget_s=config.budget_s
                )
                flops = hardware.bert_flops(length, **dims)
                floor = flops / (peak * 1e9) * 1e3 if peak else None
                latency.append(
                    LatencyRecord(
                        scorer.name,
                        scorer.variant,
                        scorer.providers,
                        length,
                        stats,
                        flops / 1e9,
                        floor,
                        floor / stats.p50_ms if floor else None,
                    )
                )
        sequences = _sequences(probe, workload.texts)
        seq_lengths = [len(s) for s in sequences]
        modes = {"on": ("bucketed",), "off": ("pad_to_max", "dynamic_arrival"), "both": MODES}[config.bucketing]
        wanted = set(config.throughput_precisions or variants)
        for scorer in scorers:
            if scorer.classifier is not None and scorer.variant not in wanted:
                continue
            for batch_size in config.batch_sizes:
                for mode in modes:
                    progress(f"throughput {scorer.name} {mode} batch {batch_size}")
                    if mode != "bucketed":
                        plans = _baseline_plans(seq_lengths, batch_size, manifest.max_length, mode)
                        throughput.append(_throughput(scorer, mode, batch_size, sequences, plans, probe.pad_id))
                    elif scorer.classifier is not None:
                        # The runtime's own call; dynamic int8 runs one text at a time there (batch invariance).
                        clf = load(package, variant=scorer.variant, max_batch_size=batch_size, **config.load_options())
                        throughput.append(_runtime_throughput(scorer, clf, workload.texts, sequences))
                    else:  # PyTorch under the plan the runtime makes for this batch size
                        plan = bucketing.plan_batches(
                            seq_lengths, probe.edges, max_batch_size=batch_size, token_budget=probe.config.token_budget
                        )
                        throughput.append(
                            _throughput(
                                scorer, mode, batch_size, sequences, [(b.indices, b.pad_to) for b in plan], probe.pad_id
                            )
                        )
        if config.cold_start:
            sample = list(workload.texts[:16])
            for variant in variants:
                progress(f"cold start and memory {variant}")
                process.append(_process_probe(package, variant, sample, dataclasses.asdict(config.session)))
    except KeyboardInterrupt:
        interrupted = True
    return BenchResult(meta, tuple(sessions), tuple(latency), tuple(throughput), tuple(process), interrupted)


def to_json(result: BenchResult) -> str:
    def default(obj):
        if dataclasses.is_dataclass(obj):
            return dataclasses.asdict(obj)
        raise TypeError(type(obj))

    return json.dumps(result.to_dict(), indent=2, default=default)


def to_markdown(result: BenchResult) -> str:
    meta = result.meta
    cpu = meta["cpu"]
    lines = [
        f"# secbert-edge bench — {meta['date']}",
        "",
        f"Package `{meta['package']}`; CPU {cpu.get('model_name', cpu.get('model'))} "
        f"({', '.join(cpu.get('flags', []))}), {meta.get('threads')} threads; onnxruntime {meta['onnxruntime']}.",
    ]
    if "gemm" in meta:
        g = meta["gemm"]
        lines.append(
            f"Measured GEMM peaks ({'x'.join(map(str, g['shape']))}): fp32 {g['fp32_gflops']:.0f} GFLOP/s, "
            f"int8 {g['int8_gops']:.0f} GOP/s."
        )
    if "gemm_skipped" in meta:
        lines.append(f"Note: {meta['gemm_skipped']}.")
    if meta.get("gemm_by_scorer"):
        by = meta["gemm_by_scorer"]
        fp, i8 = [p["fp32_gflops"] for p in by.values()], [p["int8_gops"] for p in by.values()]
        lines.append(
            f"Re-measured before each scorer's latency cells (each floor uses its own): fp32 "
            f"{min(fp):.0f}-{max(fp):.0f} GFLOP/s, int8 {min(i8):.0f}-{max(i8):.0f} GOP/s."
        )
    if "workload" in meta:
        lines.append(f"Workload {meta['workload']}.")
    if result.interrupted:
        lines.append("**Interrupted**: the tables hold what was measured before Ctrl-C.")
    if result.sessions:
        lines += [
            "",
            "## Sessions",
            "",
            "| precision | variant | requested | used | IO binding | session build s | warm-up s |",
            "|---|---|---|---|---|---|---|",
        ]
        for sess in result.sessions:
            fell_back = f" (fell back from {sess.fallback_from})" if sess.fallback_from else ""
            warm = f"{sess.warmup_s:.2f}" if sess.warmup_s is not None else "-"
            lines.append(
                f"| {sess.precision} | {sess.variant} | {', '.join(sess.requested_providers)} | "
                f"{', '.join(sess.providers)}{fell_back} | {'yes' if sess.io_binding else 'no'} | "
                f"{sess.session_s:.2f} | {warm} |"
            )
    if result.latency:
        lines += [
            "",
            "## Batch-1 latency (ms)",
            "",
            "| scorer | tokens | p50 | p95 | p99 | GFLOP | floor ms | floor / p50 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for lat in result.latency:
            floor = (
                f"{lat.floor_ms:.1f} | {100 * lat.fraction_of_floor:.0f}%"
                if lat.floor_ms and lat.fraction_of_floor
                else "- | -"
            )
            lines.append(
                f"| {lat.scorer} | {lat.length} | {lat.stats.p50_ms:.1f} | {lat.stats.p95_ms:.1f} | "
                f"{lat.stats.p99_ms:.1f} | {lat.gflop:.2f} | {floor} |"
            )
    if result.throughput:
        lines += [
            "",
            "## Throughput on the workload",
            "",
            "| scorer | mode | batch | texts/s | real tokens/s | padding efficiency | tokenization share |",
            "|---|---|---|---|---|---|---|",
        ]
        for tp in result.throughput:
            share = f"{100 * tp.tokenize_share:.1f}%" if tp.tokenize_share is not None else "-"
            lines.append(
                f"| {tp.scorer} | {tp.mode} | {tp.batch_size} | {tp.texts_per_s:.1f} | {tp.tokens_per_s:.0f} | "
                f"{100 * tp.padding_efficiency:.0f}% | {share} |"
            )
    if result.process:
        lines += [
            "",
            "## Cold start and memory",
            "",
            "| variant | import -> first result (s) | launch -> first result (s) | peak RSS (MB) |",
            "|---|---|---|---|",
        ]
        for proc in result.process:
            lines.append(f"| {proc.precision} | {proc.cold_start_s:.2f} | {proc.wall_s:.2f} | {proc.peak_rss_mb:.0f} |")
    return "\n".join(lines) + "\n"


def plot(result: BenchResult, directory: Path) -> list[Path]:
    """PNG plots: latency vs length per scorer; throughput per mode. Needs matplotlib (the bench extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    if result.latency:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for scorer in dict.fromkeys(lat.scorer for lat in result.latency):
            lat_rows = [lat for lat in result.latency if lat.scorer == scorer]
            ax.plot([lat.length for lat in lat_rows], [lat.stats.p50_ms for lat in lat_rows], marker="o", label=scorer)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("tokens")
        ax.set_ylabel("batch-1 latency p50 (ms)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        written.append(directory / "latency.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    if result.throughput:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        tps = result.throughput
        labels = [f"{tp.scorer}\n{tp.mode} b{tp.batch_size}" for tp in tps]
        ax.barh(range(len(tps)), [tp.texts_per_s for tp in tps])
        ax.set_yticks(range(len(tps)), labels, fontsize=7)
        ax.set_xlabel("texts/s on the workload")
        fig.tight_layout()
        written.append(directory / "throughput.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    return written

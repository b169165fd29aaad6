"""`secbert-edge tune`: measure serving plans on this box and write the winner where `serve` finds it.

What Triton's Model Analyzer does for a GPU model (sweep instance counts and dynamic batching against a load
generator, keep the best configuration under a latency constraint), for a small CPU service: every candidate plan
is served by the real ``secbert-edge serve`` (a subprocess on a free loopback port, warmed), loaded by closed-loop
clients at each concurrency level (one text a request, cycling through a real-length workload), and stopped.

Search, in two stages (a full grid would take an hour on a big model):
  1. how the cores are used: parallel runs x intra-op threads per run (every split that does not ask for more
     than cores + 1 busy threads), a session shared by the runs or one each, idle threads spinning or not;
  2. batching, on the best layout: max texts per runtime call x the wait for batch-mates.
A candidate's score is the geometric mean of its texts/s over the concurrency levels (each level counts the
same); a candidate whose p99 exceeds ``max_tail`` x its p50 at any level is not eligible. The best few are
measured again, in another order, and the mean of both passes decides: the box is shared and noisy.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import SecbertEdgeError
from ..runtime import plan as plans
from ..runtime.plan import ServingPlan
from ..settings import setting
from .loadgen import LoadResult, run_load
from .workload import Workload


class TuneError(SecbertEdgeError, RuntimeError):
    """A candidate's server did not start, or no candidate could be measured."""


@dataclasses.dataclass(frozen=True)
class TuneConfig:
    """How plans are measured and which are tried."""

    clients: tuple[int, ...] = setting(
        (1, 8, 32), "Concurrent clients to measure every plan at (comma-separated); each level counts the same.", min=1
    )
    seconds: float = setting(3.0, "Seconds measured per plan and client level.", min=0, min_open=True)
    warmup_s: float = setting(1.0, "Seconds of load before each measurement, not counted.", flag="--warmup", min=0)
    max_tail: float = setting(
        3.0, "A plan is eligible only with p99 <= this x p50 at every client level.", min=1, flag="--max-p99-over-p50"
    )
    confirm: int = setting(3, "The best N plans are measured again (in reverse order) before one is chosen.", min=0)
    runs: tuple[int, ...] | None = setting(
        None, "Parallel runs to try (comma-separated) [default: 1 to cores + 1].", flag="--try-runs", min=1
    )
    threads: tuple[int, ...] | None = setting(
        None, "Intra-op threads per run to try [default: 1, 2, 4, ... up to the cores].", flag="--try-threads", min=1
    )
    batch_sizes: tuple[int, ...] = setting(
        (1, 4, 16, 64), "Max texts per runtime call to try on the best layout.", flag="--try-batch-sizes", min=1
    )
    waits_ms: tuple[float, ...] = setting(
        (0.0, 2.0), "Waits for batch-mates (ms) to try on the best layout.", flag="--try-waits-ms", min=0
    )


@dataclasses.dataclass
class Measured:
    """One candidate's measurements (one LoadResult per concurrency level and pass)."""

    plan: ServingPlan
    passes: list[list[LoadResult]] = dataclasses.field(default_factory=list)

    def rate(self, clients: int) -> float:
        return statistics.fmean(r.texts_per_s for p in self.passes for r in p if r.clients == clients)

    def tail(self, clients: int) -> float:
        return max(r.tail for p in self.passes for r in p if r.clients == clients)

    @property
    def score(self) -> float:
        """Geometric mean over the concurrency levels of the mean texts/s over the passes."""
        levels = sorted({r.clients for p in self.passes for r in p})
        rates = [self.rate(c) for c in levels]
        if not rates or min(rates) <= 0:
            return 0.0
        return math.exp(statistics.fmean(math.log(x) for x in rates))

    def eligible(self, max_tail: float) -> bool:
        results = [r for p in self.passes for r in p]
        return bool(results) and all(r.failed == 0 and r.tail <= max_tail for r in results)

    def row(self) -> dict[str, Any]:
        levels = sorted({r.clients for p in self.passes for r in p})
        return {
            "plan": dataclasses.asdict(self.plan),
            "score": self.score,
            "levels": [
                {
                    "clients": c,
                    "texts_per_s": self.rate(c),
                    "p50_ms": statistics.fmean(r.p50_ms for p in self.passes for r in p if r.clients == c),
                    "p99_ms": max(r.p99_ms for p in self.passes for r in p if r.clients == c),
                    "p99_over_p50": self.tail(c),
                    "failed": sum(r.failed for p in self.passes for r in p if r.clients == c),
                    "passes": [r.texts_per_s for p in self.passes for r in p if r.clients == c],
                }
                for c in levels
            ],
        }


@dataclasses.dataclass
class TuneResult:
    key: plans.PlanKey
    rule: ServingPlan
    winner: Measured
    measured: list[Measured]
    workload: Workload
    config: TuneConfig
    load_average: dict[str, list[float]]
    path: Path | None = None

    def record(self) -> dict[str, Any]:
        """What the plan file keeps of the measurement (the winner first)."""
        rule = next((m for m in self.measured if m.plan == self.rule), None)
        return {
            "workload": {"source": self.workload.source, "tokens": self.workload.tokens},
            "clients": list(self.config.clients),
            "seconds_per_level": self.config.seconds,
            "max_p99_over_p50": self.config.max_tail,
            "load_average": self.load_average,
            "rule": dataclasses.asdict(self.rule),
            "winner_vs_rule": self.winner.score / rule.score if rule and rule.score else None,
            "candidates": [self.winner.row()] + [m.row() for m in self.measured if m is not self.winner],
        }


def layouts(cores: int, runs: Sequence[int] | None = None, threads: Sequence[int] | None = None) -> list[ServingPlan]:
    """Stage 1: how the cores are used. Every (runs, threads) with runs x threads <= cores + 1 (one more than the
    cores: the HTTP event loop also needs a turn), a session shared or one per run, spinning on or off where a
    session has more than one thread."""
    run_counts = sorted(set(runs or range(1, cores + 2)))
    thread_counts = sorted(set(threads or [t for t in (1, 2, 4, 8, 16, 32, 64) if t < cores] + [cores]))
    out = []
    for r, t in itertools.product(run_counts, thread_counts):
        if runs is None and threads is None and r * t > cores + 1:
            continue
        for sessions in (1, r) if r > 1 else (1,):
            for spinning in (True, False) if t > 1 else (True,):
                out.append(ServingPlan(runs=r, threads=t, sessions=sessions, spinning=spinning))
    return out


def batchings(best: ServingPlan, batch_sizes: Sequence[int], waits_ms: Sequence[float]) -> list[ServingPlan]:
    """Stage 2: max texts per runtime call x wait for batch-mates, on the best layout."""
    return [best.replace(max_batch_size=b, max_wait_ms=w) for b, w in itertools.product(batch_sizes, waits_ms)]


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux
        return []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_command(model_dir: Path, variant: str, plan: ServingPlan, port: int, providers: str | None) -> list[str]:
    """``secbert-edge serve`` running exactly ``plan`` (every plan setting given explicitly, no plan file read)."""
    cmd = [sys.executable, "-m", "secbert_edge.cli", "serve", "--model", str(model_dir), "--variant", variant]
    cmd += ["--port", str(port), "--quiet", "--plan", "rule", "--parallel-runs", str(plan.runs)]
    cmd += ["--threads", str(plan.threads), "--sessions", str(plan.sessions)]
    cmd += ["--max-batch-size", str(plan.max_batch_size), "--max-wait-ms", f"{plan.max_wait_ms:g}"]
    cmd += ["--spinning" if plan.spinning else "--no-spinning"]
    return cmd + (["--providers", providers] if providers else [])


class CandidateServer:
    """A `secbert-edge serve` subprocess for one plan, on a free loopback port; ready once /readyz says 200."""

    def __init__(self, model_dir: Path, variant: str, plan: ServingPlan, providers: str | None, timeout: float = 300):
        self.port = _free_port()
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (open while the server runs)
        cmd = serve_command(model_dir, variant, plan, self.port, providers)
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                self.log.seek(0)
                tail = self.log.read().decode(errors="replace")[-1500:]
                raise TuneError(f"the server for plan ({plan.describe()}) did not get ready: {tail}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def measure(
    model_dir: Path, variant: str, plan: ServingPlan, texts: Sequence[str], cfg: TuneConfig, providers: str | None
) -> list[LoadResult]:
    """One pass: serve ``plan``, load it at every concurrency level, stop it."""
    server = CandidateServer(model_dir, variant, plan, providers)
    try:
        return [
            run_load("127.0.0.1", server.port, texts, c, seconds=cfg.seconds, warmup_s=cfg.warmup_s)
            for c in cfg.clients
        ]
    finally:
        server.stop()


def tune(
    model_dir: str | Path,
    variant: str | None = None,
    *,
    texts: str | Path | None = None,
    config: TuneConfig = TuneConfig(),
    providers: str | None = None,
    out: str | Path | None = None,
    write: bool = True,
    progress: Callable[[str], None] = lambda message: None,
) -> TuneResult:
    """Measure candidate plans for a package on this box and write the winner (see the module docstring)."""
    from ..runtime import load

    model_dir = Path(model_dir)
    clf = load(model_dir, variant=variant, providers=providers and tuple(providers.split(",")), plan=plans.RULE)
    variant = clf.variant_name
    key = clf.plan_key()
    rule = clf.plan_choice.plan
    workload = Workload.load(clf, texts)
    del clf
    progress(f"{key.describe()}; workload: {workload.source}, tokens {workload.tokens}")
    before = load_average()
    progress(f"load average before: {before}")
    measured: dict[ServingPlan, Measured] = {}

    def run(candidates: Sequence[ServingPlan], again: bool = False) -> None:
        for plan in dict.fromkeys(candidates):
            if plan in measured and not again:
                continue
            m = measured.setdefault(plan, Measured(plan))
            m.passes.append(measure(model_dir, variant, plan, workload.texts, config, providers))
            levels = ", ".join(f"{r.clients}c {r.texts_per_s:.1f}/s p99/p50 {r.tail:.1f}" for r in m.passes[-1])
            progress(f"{plan.describe()}: {levels}")

    def best(pool: Sequence[Measured]) -> list[Measured]:
        ok = [m for m in pool if m.eligible(config.max_tail)] or list(pool)  # none eligible: the fastest anyway
        return sorted(ok, key=lambda m: m.score, reverse=True)

    stage1 = layouts(key.box.cores, config.runs, config.threads)
    stage1 = [rule] + [p.replace(max_batch_size=rule.max_batch_size, max_wait_ms=rule.max_wait_ms) for p in stage1]
    run(stage1)
    if not measured:
        raise TuneError("no candidate plan was measured")
    layout = best(list(measured.values()))[0].plan
    run(batchings(layout, config.batch_sizes, config.waits_ms))
    top = best(list(measured.values()))[: max(1, config.confirm)]
    if len(top) > 1:
        progress(f"confirming the best {len(top)} (measured again, in reverse order)")
        run([m.plan for m in reversed(top)], again=True)
        top = best(top)
    result = TuneResult(
        key=key,
        rule=rule,
        winner=top[0],
        measured=list(measured.values()),
        workload=workload,
        config=config,
        load_average={"before": before, "after": load_average()},
    )
    if write:
        result.path = plans.write(key, result.winner.plan, result.record(), out)
    return result

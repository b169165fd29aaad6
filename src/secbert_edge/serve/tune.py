"""`secbert-edge tune`: measure serving plans on this box and write the winner where `serve` finds it.

What Triton's Model Analyzer does for a GPU model (sweep instance counts and dynamic batching against a load
generator, keep the best configuration under a latency constraint; its "quick search" climbs one dimension at a
time), for a small CPU service: every candidate plan is served by the real ``secbert-edge serve`` (a subprocess on a
free loopback port, warmed), loaded by closed-loop clients at each concurrency level (one text a request, cycling
through a real-length workload).

Search in stages, each keeping the best plan so far (a full grid would take an hour on a big model):
  1. layout: parallel runs x intra-op threads per run (every split that asks for at most cores + 1 busy threads),
     several runs also with a solo session on every core for a request that is the only work;
  2. on the best layout: a session of its own per run, idle pool threads sleeping instead of spinning, the solo
     session's threads spinning on after a lone request instead of stopping;
  3. on the best so far: max texts per runtime call;
  4. on the best so far: the wait for batch-mates, with the rule beside it.
The box is shared and noisy, so every candidate of a stage is up at once and the stage is measured in interleaved
rounds (order rotated), as the project's benchmarks are: a candidate's texts/s and p99/p50 at a level are its
medians over the rounds. A stage keeps the candidate nearest the stage's best at its worst level (``worst_ratio``:
the lowest over the levels of its texts/s / the best texts/s of the stage there; the geometric mean of its texts/s,
``score``, breaks ties and is recorded); a candidate that failed a request, or whose p99/p50 at some level exceeds
``max_tail`` x its p99/p50 with one client (the spread of the workload's own lengths: a 148-token prompt takes
4x a 36-token one with no queue at all), is not eligible. A measurement during which other processes took more
than OTHER_LIMIT cores is taken again once, and the less disturbed one kept; each row records that CPU
(``other_cores``).
The last stage measures the rule beside the winner, so "x the rule" is a ratio from the same rounds. A challenger
replaces the best so far (in stage 1 and at the end: the rule) only when it beats it by MIN_GAIN over the rounds
*and* is ahead of it in every round, each round's worst-level ratio taken against that round's best (``choose``): the
rounds are interleaved, so a paired comparison; on a shared 2-core box a round's texts/s moved +-15%, and a plan that
led by 13% on the medians of two rounds while losing one of them served 17% slower than the rule it had replaced in
the next run (benchmarks/results/2026-12-07-x86_64-2c-serve-o.log). When the medians and a round disagree, the two
are measured again head to head for as many rounds, and those rounds alone decide by the same test (``contested``).
What the noise cannot tell apart stays as it was.
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

MIN_GAIN = 0.02  # a challenger must beat the best so far (in the last stage: the rule) by this much to replace it
OTHER_LIMIT = 0.25  # cores other processes may take during a measurement before it is taken again


class TuneError(SecbertEdgeError, RuntimeError):
    """A candidate's server did not start, or no candidate could be measured."""


@dataclasses.dataclass(frozen=True)
class TuneConfig:
    """How plans are measured and which are tried."""

    clients: tuple[int, ...] = setting(
        (1, 8, 32), "Concurrent clients to measure every plan at (comma-separated); each level counts the same.", min=1
    )
    seconds: float = setting(3.0, "Seconds measured per plan and client level.", min=0, min_open=True)
    warmup_s: float = setting(0.5, "Seconds of load before each measurement, not counted.", flag="--warmup", min=0)
    max_tail: float = setting(
        3.0,
        "A plan is eligible only if its p99/p50 at every client level is within this x its p99/p50 with one client "
        "(the spread of the workload's own lengths).",
        min=1,
        flag="--max-tail",
    )
    rounds: int = setting(2, "Interleaved rounds per stage (a candidate's numbers are its medians over them).", min=1)
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
    """One candidate in one stage: one LoadResult per concurrency level and round."""

    plan: ServingPlan
    stage: str
    rounds: list[list[LoadResult]] = dataclasses.field(default_factory=list)
    worst_ratio: float | None = None  # set by its stage: min over levels of texts/s / the stage's best at that level
    round_ratios: list[float] | None = None  # the same, within each round (against that round's best)

    def _at(self, clients: int) -> list[LoadResult]:
        return [r for one in self.rounds for r in one if r.clients == clients]

    @property
    def levels(self) -> list[int]:
        return sorted({r.clients for one in self.rounds for r in one})

    def rate(self, clients: int) -> float:
        return statistics.median(r.texts_per_s for r in self._at(clients))

    def tail(self, clients: int) -> float:
        return statistics.median(r.tail for r in self._at(clients))

    @property
    def score(self) -> float:
        """Geometric mean over the concurrency levels of the median texts/s over the rounds."""
        rates = [self.rate(c) for c in self.levels]
        if not rates or min(rates) <= 0:
            return 0.0
        return math.exp(statistics.fmean(math.log(x) for x in rates))

    def eligible(self, max_tail: float) -> bool:
        """No failed request, and p99/p50 at every level within ``max_tail`` x the one-client p99/p50 (the spread of
        the workload's own lengths, with no queueing; 1 when one client is not measured)."""
        spread = max(1.0, self.tail(1)) if 1 in self.levels else 1.0
        return bool(self.rounds) and all(
            self.tail(c) <= max_tail * spread and not any(r.failed for r in self._at(c)) for c in self.levels
        )

    def row(self) -> dict[str, Any]:
        return {
            "plan": dataclasses.asdict(self.plan),
            "stage": self.stage,
            "score": self.score,
            "worst_ratio": self.worst_ratio,
            "round_worst_ratios": self.round_ratios,
            "levels": [
                {
                    "clients": c,
                    "texts_per_s": self.rate(c),
                    "p50_ms": statistics.median(r.p50_ms for r in self._at(c)),
                    "p99_ms": statistics.median(r.p99_ms for r in self._at(c)),
                    "p99_over_p50": self.tail(c),
                    "failed": sum(r.failed for r in self._at(c)),
                    "other_cores": max((r.other_cores or 0.0 for r in self._at(c)), default=0.0),
                    "rounds": [r.texts_per_s for r in self._at(c)],
                }
                for c in self.levels
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

    def other_cores(self) -> float | None:
        """The mean CPU (in cores) other processes took during the measurements kept (None off Linux)."""
        seen = [r.other_cores for m in self.measured for one in m.rounds for r in one if r.other_cores is not None]
        return statistics.fmean(seen) if seen else None

    def record(self) -> dict[str, Any]:
        """What the plan file keeps of the measurement: the last stage (the winner first, the rule beside it), then
        the earlier stages."""
        last = [m for m in self.measured if m.stage == self.winner.stage]
        rule = next((m for m in last if m.plan == self.rule), None)
        others = [m for m in self.measured if m is not self.winner]
        return {
            "workload": {"source": self.workload.source, "tokens": self.workload.tokens},
            "clients": list(self.config.clients),
            "seconds_per_level": self.config.seconds,
            "max_p99_over_p50": self.config.max_tail,
            "load_average": self.load_average,
            "other_cores_mean": self.other_cores(),
            "rounds": self.config.rounds,
            "rule": dataclasses.asdict(self.rule),
            "winner_vs_rule": self.winner.score / rule.score if rule and rule.score else None,
            "candidates": [self.winner.row()] + [m.row() for m in sorted(others, key=lambda m: m.stage, reverse=True)],
        }


def _powers(top: int) -> list[int]:
    """1, 2, 4, ... below ``top``, and ``top``."""
    return sorted({1 << k for k in range(top.bit_length()) if 1 << k < top} | {top})


def worst_ratios(candidates: Sequence[Measured]) -> None:
    """Each candidate's ``worst_ratio``: at each client level its texts/s over the best of ``candidates`` there, and
    the lowest of those. The service is judged at every level, so the plan nearest the best at its worst level wins
    (a geometric mean let a plan 2x faster with one client but 15% slower at 8 and 32 win). ``round_ratios``: the same
    within each interleaved round, against that round's best."""
    levels = sorted({c for m in candidates for c in m.levels})
    best = {c: max((m.rate(c) for m in candidates if c in m.levels), default=0.0) for c in levels}
    for m in candidates:
        ratios = [m.rate(c) / best[c] if best[c] > 0 and c in m.levels else 0.0 for c in levels]
        m.worst_ratio = min(ratios) if ratios else 0.0
        m.round_ratios = []
    for r in range(min((len(m.rounds) for m in candidates), default=0)):
        top: dict[int, float] = {}
        for m in candidates:
            for x in m.rounds[r]:
                top[x.clients] = max(top.get(x.clients, 0.0), x.texts_per_s)
        for m in candidates:
            got = {x.clients: x.texts_per_s for x in m.rounds[r]}
            ratios = [got.get(c, 0.0) / top[c] if top.get(c, 0.0) > 0 else 0.0 for c in levels]
            m.round_ratios.append(min(ratios) if ratios else 0.0)  # type: ignore[union-attr]


def choose(candidates: Sequence[Measured], incumbent: ServingPlan) -> Measured:
    """The stage's pick among measured ``candidates``: the highest worst-level ratio (the geometric mean breaking
    ties), unless the ``incumbent`` is among them and the challenger does not beat it by MIN_GAIN, or is not ahead
    of it in every round (each round's own worst-level ratios): then the incumbent stays (see ``contested``)."""
    return _choose(candidates, incumbent)[0]


def contested(candidates: Sequence[Measured], incumbent: ServingPlan) -> Measured | None:
    """The challenger that beats the ``incumbent`` by MIN_GAIN on the medians but not in every round, if any: the
    tuner then measures the two again, head to head, and applies ``choose`` to those rounds alone. One disturbed
    cell (a lone-request level at 66 texts/s in one round, 84 in the other) had kept the rule over a plan 1.2x
    ahead at 8 and 32 clients in both rounds."""
    return _choose(candidates, incumbent)[1]


def _choose(candidates: Sequence[Measured], incumbent: ServingPlan) -> tuple[Measured, Measured | None]:
    worst_ratios(candidates)
    best = max(candidates, key=lambda m: (m.worst_ratio or 0.0, m.score))
    kept = next((m for m in candidates if m.plan == incumbent), None)
    if kept is None or kept is best:
        return best, None
    if (kept.worst_ratio or 0.0) * (1 + MIN_GAIN) >= (best.worst_ratio or 0.0):
        return kept, None  # within the noise of the incumbent
    if any(b <= k for b, k in zip(best.round_ratios or [], kept.round_ratios or [])):
        return kept, best  # behind (or level with) it in some round: the medians' lead is not a consistent one
    return best, None


def busy_threads(plan: ServingPlan) -> int:
    """The most threads a plan keeps busy: a session with T intra-op threads runs its calls on the calling thread
    and a pool of T - 1 workers, and concurrent runs of one shared session share that pool (ONNX Runtime's
    intra-op pool is per session): runs + T - 1. One session per run: runs x T."""
    if plan.sessions == 1:
        return plan.runs + plan.threads - 1
    return plan.runs * plan.threads


def layouts(cores: int, runs: Sequence[int] | None = None, threads: Sequence[int] | None = None) -> list[ServingPlan]:
    """Stage 1: how the cores are used, one session shared, pool threads spinning (ORT's default): runs of 1, 2,
    4, ... up to the cores and one more (the HTTP event loop also needs a turn) x threads of 1, 2, 4, ... up to the
    cores, never more than cores + 1 busy threads (``busy_threads``; unless the runs or threads are given); and each
    layout of several runs with fewer threads than cores once more with a solo session (``solo_threads`` = cores:
    a request that is the only work in the service runs on every core, concurrent ones a run each)."""
    run_counts = sorted(set(runs or _powers(cores) + [cores + 1]))
    thread_counts = sorted(set(threads or _powers(cores)))
    given = runs is not None or threads is not None
    candidates = [ServingPlan(runs=r, threads=t) for r, t in itertools.product(run_counts, thread_counts)]
    kept = [p for p in candidates if given or busy_threads(p) <= cores + 1]
    return kept + [solo for p in kept if (solo := p.with_solo(cores)) != p]


def variations(best: ServingPlan) -> list[ServingPlan]:
    """Stage 2: the best layout with a session of its own per run (when it has several runs), with its idle
    pool threads sleeping (when its sessions have several threads), and with its solo session's threads spinning on
    after a run instead of stopping (when it has one; ServingPlan.solo_stop_spinning)."""
    out = [best]
    if best.runs > 1:
        out.append(best.replace(sessions=best.runs))
    if best.threads > 1:
        out.append(best.replace(spinning=not best.spinning))
    if best.solo_threads:
        out.append(best.replace(solo_stop_spinning=not best.solo_stop_spinning))
    return out


def batchings(best: ServingPlan, batch_sizes: Sequence[int], waits_ms: Sequence[float]) -> list[ServingPlan]:
    """Max texts per runtime call x wait for batch-mates, on the best plan so far."""
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
    cmd += ["--spinning" if plan.spinning else "--no-spinning", "--solo-threads", str(plan.solo_threads)]
    cmd += ["--solo-stop-spinning" if plan.solo_stop_spinning else "--no-solo-stop-spinning"]
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


def measure_stage(
    name: str,
    candidates: Sequence[ServingPlan],
    model_dir: Path,
    variant: str,
    texts: Sequence[str],
    cfg: TuneConfig,
    providers: str | None,
    progress: Callable[[str], None],
) -> list[Measured]:
    """Every candidate up at once (an idle server costs memory, not CPU), measured at every level in ``cfg.rounds``
    interleaved rounds, the order rotated each round; then stopped."""
    candidates = list(dict.fromkeys(candidates))
    measured = [Measured(plan, name) for plan in candidates]
    servers: list[CandidateServer] = []
    try:
        for plan in candidates:
            servers.append(CandidateServer(model_dir, variant, plan, providers))
        for r in range(cfg.rounds):
            k = r % len(candidates)
            for m, server in list(zip(measured, servers))[k:] + list(zip(measured, servers))[:k]:
                m.rounds.append([_measure(server, texts, c, cfg) for c in cfg.clients])
                levels = ", ".join(
                    f"{x.clients}c {x.texts_per_s:.1f}/s p99/p50 {x.tail:.1f}"
                    + (f" (other processes {x.other_cores:.2f} cores)" if x.other_cores is not None else "")
                    for x in m.rounds[-1]
                )
                progress(f"{name} round {r + 1}: {m.plan.describe()}: {levels}")
    finally:
        for server in servers:
            server.stop()
    return measured


def _measure(server: CandidateServer, texts: Sequence[str], clients: int, cfg: TuneConfig) -> LoadResult:
    """One level; measured again (once) when other processes took more than OTHER_LIMIT cores meanwhile, keeping
    the less disturbed of the two."""
    result = run_load(
        "127.0.0.1", server.port, texts, clients, seconds=cfg.seconds, warmup_s=cfg.warmup_s, server_pid=server.proc.pid
    )
    if result.other_cores is not None and result.other_cores > OTHER_LIMIT:
        again = run_load(
            "127.0.0.1",
            server.port,
            texts,
            clients,
            seconds=cfg.seconds,
            warmup_s=cfg.warmup_s,
            server_pid=server.proc.pid,
        )
        result = min(result, again, key=lambda r: r.other_cores or 0.0)
    return result


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
    measured: list[Measured] = []

    def stage(name: str, candidates: Sequence[ServingPlan], incumbent: ServingPlan, alone: bool = False) -> ServingPlan:
        """The best of ``candidates``; the incumbent (the best so far, or the rule) stays unless ``choose`` says it is
        beaten."""
        if len(set(candidates)) == 1 and not alone:  # nothing to compare the best so far with
            return candidates[0]

        def measure_and_choose(label: str, plans: Sequence[ServingPlan]) -> tuple[Measured, Measured | None]:
            done = measure_stage(label, plans, model_dir, variant, workload.texts, config, providers, progress)
            measured.extend(done)
            ok = [m for m in done if m.eligible(config.max_tail)] or done  # none eligible: the fastest anyway
            return _choose(ok, incumbent)

        best, challenger = measure_and_choose(name, candidates)
        if challenger is not None:  # the rounds disagree: measure the two again, head to head
            progress(
                f"{name}: {challenger.plan.describe()} leads on the medians but not in every round: "
                "measuring it and the incumbent again"
            )
            best, _ = measure_and_choose(f"{name}, again", [challenger.plan, incumbent])
        progress(f"{name}: best {best.plan.describe()} ({best.worst_ratio:.2f} of the best at its worst level)")
        return best.plan

    defaults = {"max_batch_size": rule.max_batch_size, "max_wait_ms": rule.max_wait_ms}
    best = stage("1 layout", [p.replace(**defaults) for p in layouts(key.box.cores, config.runs, config.threads)], rule)
    best = stage("2 sessions, spinning", variations(best), best)
    best = stage("3 batch", batchings(best, config.batch_sizes, [best.max_wait_ms]), best)
    best = stage("4 wait", batchings(best, [best.max_batch_size], config.waits_ms) + [rule], rule)
    if not any(m.plan == best for m in measured):  # every stage had one candidate: measure it for the record
        stage("4 wait", [best], best, alone=True)
    winner = [m for m in measured if m.plan == best][-1]  # as measured in the last stage that had it
    result = TuneResult(
        key=key,
        rule=rule,
        winner=winner,
        measured=measured,
        workload=workload,
        config=config,
        load_average={"before": before, "after": load_average()},
    )
    busy = result.other_cores()
    if busy is not None and busy > OTHER_LIMIT:
        progress(
            f"warning: other processes took {busy:.2f} cores on average while this was measured: the plan fits a box "
            "that busy; tune again when it is quiet if that is not how it serves"
        )
    if write:
        result.path = plans.write(key, result.winner.plan, result.record(), out)
    return result

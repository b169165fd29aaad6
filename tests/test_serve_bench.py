"""benchmarks/serve_bench.py's harness: while one design is measured the others are paused (whole process groups),
and resumed afterwards even when the measurement fails."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "serve_bench.py"


def _bench():
    spec = importlib.util.spec_from_file_location("serve_bench_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _wait_state(pid: int, want: set[str]) -> str:
    deadline = time.monotonic() + 5
    while (state := _state(pid)) not in want and time.monotonic() < deadline:
        time.sleep(0.01)
    return state


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_paused_stops_the_other_servers_process_groups_and_resumes_them():
    sb = _bench()
    # a "server" with a child in its group, as LitServe has its inference worker
    child = "import time; time.sleep(60)"
    code = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {child!r}]); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    server = object.__new__(sb.Server)
    server.proc = proc
    try:
        time.sleep(0.5)
        children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        assert children
        with sb.paused([server]):
            assert _wait_state(proc.pid, {"T"}) == "T"
            assert _wait_state(children[0], {"T"}) == "T"
        assert _wait_state(proc.pid, {"S", "R"}) in {"S", "R"}
        assert _wait_state(children[0], {"S", "R"}) in {"S", "R"}
        with pytest.raises(RuntimeError), sb.paused([server]):
            raise RuntimeError("hey failed")
        assert _wait_state(proc.pid, {"S", "R"}) in {"S", "R"}
        with sb.paused([server]):
            assert server.stop() is not None  # a paused server still stops (SIGCONT before SIGTERM)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_a_tN_peer_that_opens_its_plain_twins_session_is_measured_once(monkeypatch):
    """fastapi-t2 under a plan that already runs 2 threads is fastapi itself: measured twice and the faster taken, the
    best peer would be biased upwards. Under a 1-thread plan the two differ and both stay."""
    import secbert_edge.runtime as runtime

    sb = _bench()
    plan_threads = {"value": 2}

    class Fake:
        def __init__(self, threads):
            self.threads = threads

        def describe(self):
            threads = self.threads if self.threads is not None else plan_threads["value"]
            return {"plan": {"runs": 1, "threads": threads, "sessions": 1, "solo_threads": None}}

    loaded: list[int | None] = []

    def fake_load(model, variant=None, threads=None):
        loaded.append(threads)
        return Fake(threads)

    monkeypatch.setattr(runtime, "load", fake_load)
    designs = ["serve-tuned", "fastapi", "fastapi-t2", "litserve", "litserve-t2"]
    assert sb.same_as_plain(Path("pkg"), "int8", designs) == {"fastapi-t2": "fastapi", "litserve-t2": "litserve"}
    assert sorted(loaded, key=str) == [2, None]  # each thread count's runtime loaded once, not once per design
    plan_threads["value"] = 1
    assert sb.same_as_plain(Path("pkg"), "int8", designs) == {}
    # a -tN peer without its plain twin in the run is kept
    plan_threads["value"] = 2
    assert sb.same_as_plain(Path("pkg"), "int8", ["serve-tuned", "fastapi-t2"]) == {}

    # the verdict then reads the plain twin as the all-cores peer too
    def runs(tps):
        return {"runs": [{"clients": 1, "texts_per_s": tps, "p99_over_p50": 1.2}]}

    result = {
        "designs": {"serve-tuned": runs(100.0), "fastapi": runs(95.0), "litserve": runs(60.0)},
        "measured_once": {"fastapi-t2": "fastapi"},
    }
    (v,) = sb.verdict(result, [1])
    assert v["best_peer"] == "fastapi" and v["best_peer_old_threads"] == "fastapi"
    assert v["tuned_over_best_peer"] == pytest.approx(100 / 95) and v["met"]

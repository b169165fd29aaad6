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

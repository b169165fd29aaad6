"""`score --engine ray` on a simulated 3-node cluster (``ray.cluster_utils.Cluster``: a head and two workers of 1 CPU
each, ~12-20 s to start here): a worker node lost mid-job and a driver killed after parts were written both end with
every id exactly once and the local engine's scores.

The jobs are slowed down without hooks in the package: the nodes start with tests/fault_injection on their
PYTHONPATH, whose sitecustomize.py makes ONNX Runtime sleep on batches holding a marker text, so a kill lands while
the actors are scoring. The lost-node test also holds those batches until its kill has landed (a hold file): unheld,
the 900 rows were scored in ~1-2 s and a CI run once finished the job before the killer saw actors on two nodes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner

ray = pytest.importorskip("ray", reason='needs the ray extra: pip install ".[ray]"')
pq = pytest.importorskip("pyarrow.parquet")

from secbert_edge.cli import main  # noqa: E402
from secbert_edge.cli._common import Status  # noqa: E402
from secbert_edge.errors import JobError  # noqa: E402
from secbert_edge.ray import _address_file, score_dataset  # noqa: E402
from secbert_edge.textio import Fields, parquet_files  # noqa: E402
from test_faults import FAULTS, SLOW_TEXT, _marker_ids  # noqa: E402
from test_ray import check_against_local, dataset, local_scores, rows  # noqa: E402

pytestmark = pytest.mark.slow

NODE = {"num_cpus": 1, "object_store_memory": 150 * 2**20}


@pytest.fixture(scope="module")
def cluster(tiny_package, tmp_path_factory):
    """A head and two worker nodes; every Ray worker process sleeps 50 ms on a batch holding SLOW_TEXT, then waits
    while the hold file (the fixture's third value) exists."""
    from ray.cluster_utils import Cluster

    if ray.is_initialized():  # another module's Ray (tests run in one process)
        ray.shutdown()
    env = {
        "PYTHONPATH": os.pathsep.join([str(FAULTS), os.environ.get("PYTHONPATH", "")]),
        "SECBERT_FAULT_SLOW_IDS": _marker_ids(tiny_package, SLOW_TEXT),
        "SECBERT_FAULT_SLEEP_S": "0.05",
        "SECBERT_FAULT_HOLD": str(hold := tmp_path_factory.mktemp("hold") / "hold"),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the nodes' processes inherit it; this process started without it
    try:
        # A lost node is declared dead after ~4 missed 1 s health checks (Ray's default waits ~20 s).
        checks = {"health_check_period_ms": 1000, "health_check_timeout_ms": 3000, "health_check_failure_threshold": 4}
        c = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False, "_system_config": checks})
        workers = [c.add_node(**NODE) for _ in range(2)]
        c.wait_for_nodes()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    ray.init(address=c.address, log_to_driver=False, configure_logging=False)
    yield c, workers, hold
    ray.shutdown()
    c.shutdown()
    # the head wrote its address to Ray's address file, and shutdown leaves it: a later ray.init() there would try to
    # join this dead cluster (secbert_edge.ray.ray_address steps around it; other Ray users would wait on it)
    file = _address_file()
    if file.is_file() and file.read_text(encoding="utf-8").strip() == c.address:
        file.unlink()


def slow_rows(n: int) -> list[dict]:
    return [{**r, "text": f"{SLOW_TEXT} {r['text']}"} for r in rows(n)]


def _scoring_actor_nodes() -> set[str]:
    actors = ray._private.state.actors().values()  # the GCS's table; the state API needs the dashboard
    return {a["Address"]["NodeID"] for a in actors if a["State"] == "ALIVE" and "_Scorer" in a["ActorClassName"]}


def test_a_worker_node_lost_mid_job(cluster, tiny_package, tmp_path):
    c, workers, hold = cluster
    src = dataset(tmp_path / "in", slow_rows(900), files=6)
    out = tmp_path / "out"
    lost: dict[str, float] = {}
    done = threading.Event()

    def kill_a_node_hosting_an_actor() -> None:
        try:
            deadline = time.monotonic() + 50  # inside the hold's own 60 s limit
            while time.monotonic() < deadline and not done.is_set():
                hosts = _scoring_actor_nodes()
                victim = next((w for w in workers if w.node_id in hosts), None)
                if victim is not None and len(hosts) >= 2:
                    lost["at"] = time.monotonic()
                    c.remove_node(victim, allow_graceful=False)  # its raylet and every worker on it: SIGKILL
                    return
                time.sleep(0.2)
        finally:
            hold.unlink(missing_ok=True)  # the actors scoring (held) on the other nodes go on

    hold.touch()  # every scoring batch waits here until the node is gone
    killer = threading.Thread(target=kill_a_node_hosting_an_actor, daemon=True)
    killer.start()
    try:
        try:
            summary = score_dataset(src, out, tiny_package, fields=Fields(id="id"), batch_rows=20)
            resumed = False
        except JobError:  # the job may stop instead of healing: what it wrote is kept, --resume finishes it
            killer.join(60)
            summary = score_dataset(src, out, tiny_package, fields=Fields(id="id"), batch_rows=20, resume=True)
            resumed = True
    finally:  # whatever happened, no hold and no killer outlive this test (the next one shares the cluster)
        done.set()
        killer.join(60)
        hold.unlink(missing_ok=True)
    finished = time.monotonic()
    print(f"node lost {finished - lost.get('at', finished):.1f} s before the end; {'resumed' if resumed else 'healed'}")
    assert "at" in lost and lost["at"] < finished, "the node was not lost while the job ran"
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    check_against_local(out, local_scores(src, tiny_package, tmp_path))  # every id once, the local scores
    assert summary.rows == 900 and (resumed or summary.scored_now == 900)


def test_a_killed_driver_resumes(cluster, tiny_package, tmp_path):
    c, _, _ = cluster
    data = slow_rows(900)
    src = dataset(tmp_path / "in", data, files=6)
    out = tmp_path / "out"
    args = ["score", "--engine", "ray", "--input", str(src), "--output", str(out), "--id-column", "id"]
    args += ["--model", str(tiny_package), "--batch-rows", "20", "--quiet"]
    log = tmp_path / "driver.log"
    with open(log, "wb") as sink:
        driver = subprocess.Popen(
            [sys.executable, "-m", "secbert_edge.cli", *args, "--ray-address", c.address],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while len(parquet_files(out) if out.is_dir() else []) < 2:
            assert driver.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        driver.kill()  # SIGKILL: no cleanup, files may be cut short
        driver.wait(30)
    written = 0
    for file in parquet_files(out):
        try:
            written += pq.read_table(file).num_rows
        except Exception:  # noqa: BLE001  (a file the kill cut short: resume deletes it)
            pass
    assert 0 < written < len(data)  # parts were written, the job was not done
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == Status.USAGE and "--resume" in refused.output
    result = CliRunner().invoke(main, args + ["--resume"])
    assert result.exit_code == Status.OK, result.output
    check_against_local(out, local_scores(src, tiny_package, tmp_path))


def test_a_job_ray_cannot_finish_says_to_resume(cluster, tiny_package, tmp_path, monkeypatch):
    src = dataset(tmp_path / "in", rows(40), files=2)

    def lost(*args, **kwargs):
        raise ray.exceptions.NodeDiedError("node 75ef59 died")

    monkeypatch.setattr(ray.data.Dataset, "write_parquet", lost)
    args = ["score", "--engine", "ray", "--input", str(src), "--output", str(tmp_path / "out"), "--id-column", "id"]
    result = CliRunner().invoke(main, args + ["--model", str(tiny_package), "--quiet"])
    assert result.exit_code == Status.ERROR and isinstance(result.exception, SystemExit), result.output
    assert (
        "NodeDiedError: node 75ef59 died" in result.output and "rerun the same command with --resume" in result.output
    )

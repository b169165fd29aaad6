"""`secbert-edge score`, local engine: streaming in chunks, ids exactly once in input order, bad rows reported in
place, Parquet/JSONL output, Parquet dataset folders, resume after an interruption (in-process and a real SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

pa = pytest.importorskip("pyarrow", reason="scoring to Parquet needs pyarrow (the data/dev/ray extras)")
pq = pytest.importorskip("pyarrow.parquet", reason="scoring to Parquet needs pyarrow (the data/dev/ray extras)")

from conftest import CORPUS  # noqa: E402
from secbert_edge.cli import main  # noqa: E402
from secbert_edge.cli._common import Status  # noqa: E402
from secbert_edge.errors import ConfigError, InputError  # noqa: E402
from secbert_edge.ray import plan_actors, ray_address  # noqa: E402  (pure: no ray import)
from secbert_edge.score import open_classifier, parts_dir, score_file  # noqa: E402
from secbert_edge.textio import Fields  # noqa: E402

RESPONSE_DEMO = Path(__file__).resolve().parents[1] / "models" / "response-judge-demo"


def corpus(n: int) -> list[dict]:
    """Mixed lengths (1 to 12 corpus sentences), unique string ids."""
    return [
        {"id": f"doc-{i:05d}", "text": " ".join(CORPUS[(i + k) % len(CORPUS)] for k in range(1 + i % 12))}
        for i in range(n)
    ]


def write_jsonl(path: Path, rows: list[dict], extra_lines: tuple[str, ...] = ()) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        for line in extra_lines:
            f.write(line + "\n")
    return path


def read_output(path: Path) -> list[dict]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]
    return pq.read_table(path).to_pylist()


class Counting:
    """Wraps a Classifier and counts the texts it is asked to score (to prove nothing is scored twice)."""

    def __init__(self, clf):
        self.clf, self.scored = clf, 0

    def threshold(self, value):
        return self.clf.threshold(value)

    def predict(self, texts, *, threshold=None):
        texts = list(texts)
        self.scored += len(texts)
        return self.clf.predict(texts, threshold=threshold)


@pytest.mark.parametrize("ext", [".parquet", ".jsonl"])
def test_every_row_once_in_order_with_the_runtime_scores(tiny_package, classifier, tmp_path, ext):
    rows = corpus(230)
    src = write_jsonl(tmp_path / "in.jsonl", rows, ('{"id": "no-text"}', "not json at all", '{"id": "e", "text": ""}'))
    out = tmp_path / f"scores{ext}"
    summary = score_file(
        src, out, lambda: open_classifier(tiny_package), fields=Fields(id="id"), batch_rows=64, progress=False
    )
    got = read_output(out)
    line = "232" if ext == ".parquet" else 232  # bad JSON has no id: its line number (a string in a string column)
    assert [r["id"] for r in got] == [r["id"] for r in rows] + ["no-text", line, "e"]
    assert summary.rows == summary.scored_now == 233 and summary.errors == 3 and summary.resumed_rows == 0
    expected = classifier.predict([r["text"] for r in rows])
    for row, p in zip(got, expected):
        assert row["score"] == pytest.approx(p.score, abs=1e-6)
        assert (row["label"], row["n_tokens"], row["truncated"], row["error"]) == (
            p.label,
            p.n_tokens,
            p.truncated,
            None,
        )
    assert "no 'text' field" in got[-3]["error"] and "not valid JSON" in got[-2]["error"]
    assert "empty" in got[-1]["error"]
    assert all(got[i]["score"] is None for i in (-3, -2, -1))
    assert not parts_dir(out).exists()
    if ext == ".parquet":
        meta = pq.ParquetFile(out).metadata
        assert meta.num_row_groups == 4  # one row group per --batch-rows chunk: 64+64+64+41
        assert pq.read_schema(out).names == ["id", "score", "label", "n_tokens", "truncated", "error"]


def test_row_numbers_as_ids_and_parquet_dataset_folders(tiny_package, tmp_path):
    folder = tmp_path / "dataset"
    folder.mkdir()
    rows = corpus(50)
    for k in range(3):  # written out of name order on purpose: files are read in name order
        part = rows[k * 20 : (k + 1) * 20]
        pq.write_table(pa.Table.from_pylist([{"text": r["text"]} for r in part]), folder / f"part-{2 - k}.parquet")
    out = tmp_path / "scores.parquet"
    score_file(folder, out, lambda: open_classifier(tiny_package), batch_rows=16, progress=False)
    got = read_output(out)
    assert [r["id"] for r in got] == list(range(1, 51))
    texts = [r["text"] for k in (2, 1, 0) for r in rows[k * 20 : (k + 1) * 20]]
    assert [r["n_tokens"] for r in got] == [p.n_tokens for p in open_classifier(tiny_package).predict(texts)]


def test_pairs_with_a_response_judge(tmp_path):
    rows = [
        {"id": i, "q": f"Como faço a tarefa {i}?", "a": "Não posso ajudar com isso." if i % 2 else "Claro."}
        for i in range(20)
    ]
    src = write_jsonl(tmp_path / "chats.jsonl", rows)
    out = tmp_path / "judged.jsonl"
    score_file(
        src,
        out,
        lambda: open_classifier(RESPONSE_DEMO),
        fields=Fields(id="id", prompt="q", response="a"),
        batch_rows=8,
        progress=False,
    )
    expected = open_classifier(RESPONSE_DEMO).predict_pairs([r["q"] for r in rows], [r["a"] for r in rows])
    got = read_output(out)
    assert [r["id"] for r in got] == list(range(20))
    assert [r["score"] for r in got] == pytest.approx([p.score for p in expected], abs=1e-6)


def test_resume_after_an_interruption_scores_only_the_rest(tiny_package, tmp_path):
    rows = corpus(300)
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    clean = tmp_path / "clean.parquet"
    score_file(src, clean, lambda: open_classifier(tiny_package), fields=Fields(id="id"), batch_rows=50, progress=False)

    out = tmp_path / "scores.parquet"
    first = Counting(open_classifier(tiny_package))

    def kill_after_third_chunk(index: int, done: int) -> None:
        if index == 2:
            raise KeyboardInterrupt  # what Ctrl-C or a kill between two chunks leaves behind

    with pytest.raises(KeyboardInterrupt):
        score_file(
            src,
            out,
            lambda: first,
            fields=Fields(id="id"),
            batch_rows=50,
            progress=False,
            on_chunk=kill_after_third_chunk,
        )
    assert first.scored == 150 and not out.exists()
    (parts_dir(out) / "part-00000003.parquet.tmp").write_bytes(b"PAR1 half a file")  # a write cut short
    with pytest.raises(ConfigError, match="--resume"):
        score_file(src, out, lambda: first, fields=Fields(id="id"), batch_rows=50, progress=False)
    with pytest.raises(ConfigError, match="batch_rows"):
        score_file(src, out, lambda: first, fields=Fields(id="id"), batch_rows=60, resume=True, progress=False)

    second = Counting(open_classifier(tiny_package))
    summary = score_file(src, out, lambda: second, fields=Fields(id="id"), batch_rows=50, resume=True, progress=False)
    assert second.scored == 150  # nothing scored twice
    assert (summary.resumed_rows, summary.scored_now, summary.rows) == (150, 150, 300)
    assert pq.read_table(out).equals(pq.read_table(clean))  # nothing lost: identical to an uninterrupted run
    again = score_file(src, out, lambda: second, fields=Fields(id="id"), batch_rows=50, resume=True, progress=False)
    assert again.scored_now == 0 and second.scored == 150  # resuming a finished job is a no-op


def test_resume_after_sigkill(tiny_package, tmp_path):
    """A real `kill -9` of the CLI mid-run, then --resume: every id exactly once, same scores as a clean run."""
    rows = corpus(2000)
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "scores.jsonl"
    args = [
        "score",
        "--input",
        str(src),
        "--output",
        str(out),
        "--id-column",
        "id",
        "--model",
        str(tiny_package),
        "--batch-rows",
        "100",
        "--quiet",
    ]
    code = "import sys; from secbert_edge.cli import main; sys.exit(main())"
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    parts = parts_dir(out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(parts.glob("part-*.jsonl"))) < 3 and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, f"finished before it could be killed: {proc.stderr.read().decode()[-500:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = len(list(parts.glob("part-*.jsonl")))
    assert 3 <= kept < 20 and not out.exists()

    result = CliRunner().invoke(main, [*args, "--resume"])
    assert result.exit_code == 0, result.output
    assert f"{kept * 100:,} kept from the interrupted run" in result.output
    got = read_output(out)
    assert [r["id"] for r in got] == [r["id"] for r in rows]
    clean = tmp_path / "clean.jsonl"
    assert CliRunner().invoke(main, [*args[:4], str(clean), *args[5:]]).exit_code == 0
    assert [r["score"] for r in got] == pytest.approx([r["score"] for r in read_output(clean)], abs=1e-6)


def test_cli_exit_codes_and_messages(tiny_package, tmp_path):
    runner = CliRunner()
    src = write_jsonl(tmp_path / "in.jsonl", corpus(5), ('{"id": "x", "text": null}',))
    ok = write_jsonl(tmp_path / "ok.jsonl", corpus(5))
    base = ["score", "--model", str(tiny_package), "--id-column", "id", "--quiet"]
    result = runner.invoke(main, [*base, "--input", str(ok), "--output", str(tmp_path / "a.parquet")])
    assert result.exit_code == 0 and "wrote 5 rows" in result.output
    result = runner.invoke(main, [*base, "--input", str(src), "--output", str(tmp_path / "b.parquet")])
    assert result.exit_code == Status.PARTIAL and "1 of 6 rows could not be scored" in result.output
    result = runner.invoke(main, [*base, "--input", str(ok), "--output", str(tmp_path / "c.csv")])
    assert result.exit_code == 2 and "use .parquet or .jsonl" in result.output
    csv_in = tmp_path / "in.csv"
    csv_in.write_text("key,body\n1,olá\n", encoding="utf-8")
    result = runner.invoke(main, [*base, "--input", str(csv_in), "--output", str(tmp_path / "d.parquet")])
    assert result.exit_code == 2 and "no 'id' column" in result.output and "--id-column" in result.output
    result = runner.invoke(
        main, [*base, "--input", str(ok), "--output", str(tmp_path / "e.jsonl"), "--prompt-column", "q"]
    )
    assert result.exit_code == 2 and "--response-column" in result.output
    result = runner.invoke(main, ["score", "--help"])
    assert result.exit_code == 0 and "Examples:" in result.output and "--resume" in result.output


def test_mixed_id_types_are_refused_not_mangled(tiny_package, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": i, "text": "olá"} for i in range(3)] + [{"id": "z", "text": "oi"}])
    with pytest.raises(InputError, match="mixes types"):
        score_file(
            src,
            tmp_path / "o.parquet",
            lambda: open_classifier(tiny_package),
            fields=Fields(id="id"),
            batch_rows=3,
            progress=False,
        )


def test_actor_plan_leaves_room_for_read_and_write():
    assert plan_actors(2) == plan_actors(2.0)
    two = plan_actors(2)
    assert (two.actors, two.threads) == (2, 1) and two.actors * two.cpus_per_actor <= 1.0  # 2 x 1 CPU hung here
    sixteen = plan_actors(16)
    assert sixteen.threads == 2 and sixteen.actors == 8 and sixteen.actors * sixteen.cpus_per_actor <= 14.0
    assert plan_actors(1).cpus_per_actor == 0.5
    with pytest.raises(ConfigError):
        plan_actors(0)


def test_actor_plan_on_a_cluster_keeps_room_to_restart_a_lost_nodes_actors():
    assert plan_actors(2, largest_node=2) == plan_actors(2)  # one node: nothing to lose and go on with
    three = plan_actors(3, largest_node=1)  # 3 nodes of 1 CPU (tests/test_ray_cluster.py)
    assert (three.actors, three.cpus_per_actor) == (3, 0.333)  # 0.667 each stalled once a node was lost
    assert three.actors * three.cpus_per_actor <= 3 - 1 - 1  # fits on the 2 nodes left, a CPU to spare
    big = plan_actors(32, largest_node=8)  # 4 nodes of 8
    assert big.actors * big.cpus_per_actor <= 32 - 8 - 2 + 1e-9


def test_ray_address_skips_a_dead_local_cluster_that_rays_address_file_names(tmp_path, monkeypatch):
    """A Ray that died without cleaning up leaves ray_current_cluster behind; ray.init() would wait on its GCS."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    assert ray_address(None) is None  # no file: Ray starts a local cluster itself
    assert ray_address("10.0.0.9:6379") == "10.0.0.9:6379"  # named: used as given, never probed
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.8:6379")
    assert ray_address(None) == "10.0.0.8:6379"
    monkeypatch.delenv("RAY_ADDRESS")
    (tmp_path / "ray").mkdir()
    with socket.create_server(("127.0.0.1", 0)) as live:  # a cluster that answers: Ray joins it
        (tmp_path / "ray" / "ray_current_cluster").write_text(f"127.0.0.1:{live.getsockname()[1]}\n")
        assert ray_address(None) is None
        dead_port = live.getsockname()[1]
    said: list[str] = []
    assert ray_address(None, said.append) == "local"  # the same address, nobody listening now: a new local Ray
    assert len(said) == 1 and f"127.0.0.1:{dead_port}" in said[0] and "does not answer" in said[0]

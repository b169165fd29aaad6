"""Exit statuses: one table (cli._common.Status / STATUS_HELP), shown in every command's --help and in README, and
each status reached the way a pipeline meets it (partial vs too many bad rows, usage vs an unloadable package, a
failed gate, a bug, Ctrl-C)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from secbert_edge.cli import main
from secbert_edge.cli._common import ERROR_STATUS, STATUS_HELP, ErrorBudget, Status, status_of
from secbert_edge.errors import (
    CheckpointError,
    ConfigError,
    InputError,
    JobError,
    MissingDependencyError,
    PackageError,
    ParityError,
    ProviderError,
    ProviderOptionError,
)

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_the_table_is_in_every_help_and_in_readme(runner):
    assert [int(s) for s in Status] == [0, 1, 2, 3, 4, 5, 6, 130]  # the contract pipelines code against
    assert set(STATUS_HELP) == set(Status)
    readme = README.read_text(encoding="utf-8")
    for status, text in STATUS_HELP.items():
        assert f"| {int(status)} | `{status.name}` | {text} |" in readme, status
    for name in [None, *main.commands]:
        out = runner.invoke(main, ([name] if name else []) + ["--help"], terminal_width=200).output
        assert "Exit status:" in out, name
        flat = " ".join(out.split())
        for status, text in STATUS_HELP.items():
            assert f"{int(status)} {text}" in flat, (name, status)


def test_each_error_class_maps_to_its_status():
    cases = {
        ParityError: Status.GATE,
        PackageError: Status.LOAD,
        CheckpointError: Status.LOAD,
        ProviderError: Status.LOAD,  # a provider this machine lacks (--strict-providers)
        MissingDependencyError: Status.LOAD,
        ProviderOptionError: Status.USAGE,  # --providers rocm, --threads 0
        ConfigError: Status.USAGE,
        InputError: Status.USAGE,
        JobError: Status.ERROR,  # a Ray job cut short: a message saying to --resume, not a traceback
    }
    assert {cls: status_of(cls("x")) for cls in cases} == cases
    assert {cls for cls, _ in ERROR_STATUS} <= set(cases)


def test_error_budget():
    assert ErrorBudget().status(0, 10) is Status.OK
    assert ErrorBudget().status(9, 10) is Status.PARTIAL
    assert ErrorBudget().status(10, 10) is Status.TOO_MANY_ERRORS  # default: every input failed is a failed job
    assert ErrorBudget(count=0).status(1, 50_000) is Status.TOO_MANY_ERRORS
    assert ErrorBudget(count=2).status(2, 50_000) is Status.PARTIAL
    assert ErrorBudget(percent=0.5).status(250, 50_000) is Status.PARTIAL
    assert ErrorBudget(percent=0.5).status(251, 50_000) is Status.TOO_MANY_ERRORS
    assert ErrorBudget(percent=100).status(10, 10) is Status.PARTIAL


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_predict_clean_partial_and_too_many(runner, tiny_package):
    model = ["predict", "--model", str(tiny_package), "--json"]
    assert runner.invoke(main, model + ["oi", "tchau"]).exit_code == Status.OK
    partial = runner.invoke(main, model + ["oi", "", "tchau"])
    assert partial.exit_code == Status.PARTIAL, partial.output
    assert len(_lines(partial.output)) == 3 and "1 of 3 inputs could not be scored" in partial.output
    assert "within --max-errors every input (default)" in partial.output
    strict = runner.invoke(main, model + ["--max-errors", "0", "oi", "", "tchau"])
    assert strict.exit_code == Status.TOO_MANY_ERRORS and "over --max-errors 0" in strict.output
    assert len(_lines(strict.output)) == 3  # every result is still printed
    assert runner.invoke(main, model + ["", " "]).exit_code == Status.TOO_MANY_ERRORS  # nothing could be scored
    assert runner.invoke(main, model + ["--max-errors", "50%", "oi", ""]).exit_code == Status.PARTIAL
    assert runner.invoke(main, model + ["--max-errors", "10%", "oi", ""]).exit_code == Status.TOO_MANY_ERRORS
    bad = runner.invoke(main, model + ["--max-errors", "some", "oi"])
    assert bad.exit_code == Status.USAGE and "a count of inputs (100) or a share of them (0.5%)" in bad.output


def test_score_partial_and_too_many_still_write_every_row(runner, tiny_package, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(["oi", "", "tchau"])))
    base = ["score", "--model", str(tiny_package), "--input", str(src), "--id-column", "id", "--quiet"]
    partial = runner.invoke(main, base + ["--output", str(tmp_path / "a.jsonl")])
    assert partial.exit_code == Status.PARTIAL and "1 of 3 rows could not be scored" in partial.output
    failed = runner.invoke(main, base + ["--output", str(tmp_path / "b.jsonl"), "--max-errors", "0"])
    assert failed.exit_code == Status.TOO_MANY_ERRORS, failed.output
    rows = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().split("\n") if line]
    assert [r["id"] for r in rows] == [0, 1, 2] and rows[1]["error"] and rows[0]["score"] is not None


def test_an_unloadable_package_is_not_a_usage_error(runner, tiny_package, tmp_path):
    copy = tmp_path / "pkg"
    shutil.copytree(tiny_package, copy)
    with open(copy / "model.onnx", "ab") as fh:
        fh.write(b"\0")  # a model file failing its sha256
    for command in (["predict", "oi"], ["info"], ["bench", "--lengths", "8"]):
        result = runner.invoke(main, [command[0], "--model", str(copy), *command[1:]])
        assert result.exit_code == Status.LOAD and "sha256 differs" in result.output, (command, result.output)
    (copy / "manifest.json").write_text("{not json")
    result = runner.invoke(main, ["predict", "--model", str(copy), "oi"])
    assert result.exit_code == Status.LOAD and "not valid JSON" in result.output
    served = runner.invoke(main, ["serve", "--model", str(copy)])
    assert served.exit_code == Status.LOAD and "not valid JSON" in served.output
    typo = runner.invoke(main, ["predict", "--model", str(tiny_package), "--trheshold", "0.5", "oi"])
    assert typo.exit_code == Status.USAGE  # a mistyped flag stays a usage error


def test_export_parity_failure_is_a_failed_gate(runner, tiny_checkpoint, tiny_backbone, tmp_path):
    args = ["export", "--checkpoint", str(tiny_checkpoint), "--backbone", str(tiny_backbone)]
    result = runner.invoke(main, args + ["--out", str(tmp_path / "p"), "--tolerance", "1e-12"])
    assert result.exit_code == Status.GATE and "PyTorch" in result.output, result.output
    assert not (tmp_path / "p").exists()


def test_a_bug_is_status_1_with_its_traceback_and_ctrl_c_is_130(runner, tiny_package, monkeypatch):
    import secbert_edge.runtime as runtime

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(runtime, "load", broken)
    bug = runner.invoke(main, ["predict", "--model", str(tiny_package), "oi"])
    assert bug.exit_code == Status.ERROR and isinstance(bug.exception, RuntimeError)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runtime, "load", interrupted)
    stopped = runner.invoke(main, ["predict", "--model", str(tiny_package), "oi"])
    assert stopped.exit_code == Status.INTERRUPTED and "interrupted" in stopped.output

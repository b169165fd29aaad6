"""Commands that measure and gate a package: verify (metric parity with PyTorch), bench (speed and memory)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..benchmarks.config import BenchConfig
from . import main
from ._common import (
    DIR,
    FILE,
    Status,
    bundle,
    config_options,
    echo_json,
    flag,
    json_option,
    log,
    model_option,
    opt,
    resolve_model,
    session_options,
    variant_option,
)
from .build import columns_options


@main.command()
@model_option()
@opt("--checkpoint", FILE, "The original checkpoint the package was exported from.", required=True)
@opt("--backbone", DIR, "The backbone folder it was exported with.", required=True)
@opt("--data", FILE, "Labelled data (.csv/.tsv/.jsonl/.parquet).", required=True)
@columns_options(preset_default=None)
@variant_option(multiple=True)
@bundle(
    "overrides",
    dict,
    opt("--max-dp", "max_abs_diff", "Override a variant's max |dP| (int8=0.05).", multiple=True, metavar="VARIANT=X"),
    opt(
        "--max-drift",
        "metric_drift_pp",
        "Override a variant's metric drift, in pp.",
        multiple=True,
        metavar="VARIANT=PP",
    ),
    opt("--max-flips", "flip_rate", "Override a variant's flip rate (0.01 = 1%).", multiple=True, metavar="VARIANT=F"),
)
@flag(
    "--teacher",
    "Gate a distilled student against its TEACHER: --checkpoint/--backbone are the teacher's, and the default gate is "
    "<= 1% flips at tau and tau*, <= 1 pp metric drift, |dP| reported.",
)
@opt(
    "--alpha",
    click.FloatRange(0, 0.5, min_open=True, max_open=True),
    "Each test's false-failure rate for a variant exactly at its tolerance (flips: exact binomial; drift: paired "
    "bootstrap).",
    default=0.05,
)
@flag("--no-cache", "Recompute the PyTorch reference scores.")
@flag("--no-update-manifest", "Do not store the re-fitted per-variant tau* in the manifest.")
@opt("--report", FILE, "Write the report as markdown to this path (and JSON beside it).")
@json_option("the full report")
def verify(
    model_dir: Path | None,
    checkpoint: Path,
    backbone: Path,
    data: Path,
    columns: Any,
    variant: tuple[str, ...],
    overrides: dict[str, tuple[str, ...]],
    teacher: bool,
    alpha: float,
    no_cache: bool,
    no_update_manifest: bool,
    report: Path | None,
    as_json: bool,
) -> None:
    """Gate every variant on metric parity with the original PyTorch model; a failing variant fails the gate.

    Per variant: max and mean |dP|, decision flips at tau and tau*, drift of accuracy/F1/AUC/KS in
    percentage points, and the re-fitted tau* that keeps the reference's false-positive rate. Tolerances
    (the effect sizes tested): fp32 max |dP| 1e-4, 0.05 pp, no flips; fp16 1e-2, 0.2 pp, 0.5%; int8
    0.15, 0.5 pp, 1%. The gate is sample-size aware: a variant fails when its flips exceed what a variant
    flipping exactly its tolerated share shows on this many texts (one-sided exact binomial at --alpha),
    or when a metric's paired-bootstrap interval lies wholly beyond its tolerance; the report prints the
    set size, each bound and each interval.

    \b
    Example (CI):
      secbert-edge verify --model models/secbert-pt --checkpoint best_model.pth \\
          --backbone ./bert-base-portuguese-cased --data test.tsv --preset wildjailbreak --report verify.md
    """
    import json

    from .. import verify as gate
    from ..variants import TEACHER_GATE, tolerances_from

    result = gate.verify(
        resolve_model(model_dir),
        checkpoint,
        backbone,
        data,
        columns=columns,
        tolerances=tolerances_from(overrides, base=TEACHER_GATE if teacher else None),
        variants=variant or None,
        use_cache=not no_cache,
        update_manifest=not no_update_manifest,
        reference="teacher" if teacher else "source",
        rule=gate.GateRule(alpha=alpha),
        log=log("verify"),
    )
    text = gate.markdown(result)
    if report:
        report.write_text(text, encoding="utf-8")
        report.with_suffix(".json").write_text(json.dumps(result.to_dict(), indent=2), encoding="utf-8")
    if as_json:
        echo_json(result.to_dict())
    else:
        click.echo(text)
    if not result.passed:
        sys.exit(int(Status.GATE))


def _bench_config(variant: tuple[str, ...], **settings: Any) -> BenchConfig:
    return BenchConfig(precisions=variant or None, **settings)


@main.command()
@model_option()
@bundle(
    "config",
    _bench_config,
    variant_option(multiple=True, help="Variant (repeatable) [default: every variant except the TensorRT graphs]."),
    session_options(providers_default="cpu"),
    *config_options(BenchConfig),
)
@opt(
    "--workload",
    "'mix' (seeded pt-BR length mix: 55% 8-64, 30% 64-256, 15% 256-700 tokens) or a file of texts.",
    default="mix",
)
@opt("--text-column", "Column of a --workload file.", default="text")
@opt("--checkpoint", FILE, "With --backbone: add the PyTorch eager fp32 baseline (needs the export extra).")
@opt("--backbone", DIR, "The checkpoint's backbone folder.")
@opt("--report", DIR, "Write report.md, results.json and PNG plots into this folder.")
@json_option("the typed records")
def bench(
    model_dir: Path | None,
    config: Any,
    workload: str,
    text_column: str,
    checkpoint: Path | None,
    backbone: Path | None,
    report: Path | None,
    as_json: bool,
) -> None:
    """Measure latency, throughput, cold start and memory of a package's variants.

    PyTorch eager (with --checkpoint/--backbone) and the machine's measured GEMM peaks are measured in
    the same run, so every number comes with its baseline and its hardware floor. Ctrl-C keeps what was
    measured so far.

    \b
    Examples:
      secbert-edge bench --model models/secbert-pt --variant fp32 --variant int8 --report bench-out
      secbert-edge bench --variant int8 --lengths 128 --bucketing on --workload prompts.txt --json > b.json
      secbert-edge bench --model models/secbert-pt --providers tensorrt,cuda,cpu --variant fp16 --variant int8-static
    """
    from ..benchmarks.runner import plot, run_bench, to_json, to_markdown
    from ..textio import read_texts

    if (checkpoint is None) != (backbone is None):
        raise click.UsageError("--checkpoint and --backbone go together (the PyTorch baseline needs both)")
    texts = None if workload == "mix" else read_texts(workload, text_column)
    steps: list[str] = []
    with click.progressbar(length=1, label="bench", file=sys.stderr, show_pos=True) as bar:

        def progress(step: str) -> None:
            steps.append(step)
            bar.label, bar.length = step, len(steps) + 1
            bar.update(1)

        reference = (checkpoint, backbone) if checkpoint and backbone else None
        kwargs: dict[str, Any] = {"workload_texts": texts, "workload_name": Path(workload).name, "reference": reference}
        result = run_bench(resolve_model(model_dir), config, progress=progress, **kwargs)
    text = to_markdown(result)
    if report:
        report.mkdir(parents=True, exist_ok=True)
        (report / "report.md").write_text(text, encoding="utf-8")
        (report / "results.json").write_text(to_json(result), encoding="utf-8")
        if not plot(result, report):
            click.echo('note: no plots written (pip install "secbert-edge[bench]" for matplotlib)', err=True)
    click.echo(to_json(result) if as_json else text)
    if result.interrupted:
        sys.exit(int(Status.INTERRUPTED))

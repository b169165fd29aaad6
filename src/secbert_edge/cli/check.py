"""Commands that measure and gate a package: verify (metric parity with PyTorch), bench (speed and memory)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from . import main
from ._common import (
    EXIT_FAILED,
    echo_json,
    json_option,
    log,
    model_option,
    resolve_model,
    session_options,
    variant_option,
)
from .build import columns_options


@main.command()
@model_option()
@click.option(
    "--checkpoint",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The original checkpoint the package was exported from.",
)
@click.option(
    "--backbone",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The backbone folder it was exported with.",
)
@click.option(
    "--data",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Labelled data (.csv/.tsv/.jsonl/.parquet).",
)
@columns_options(preset_default=None)
@variant_option(multiple=True)
@click.option("--max-dp", multiple=True, metavar="VARIANT=X", help="Override a variant's max |dP| (e.g. int8=0.05).")
@click.option("--max-drift", multiple=True, metavar="VARIANT=PP", help="Override a variant's metric drift, in pp.")
@click.option(
    "--max-flips", multiple=True, metavar="VARIANT=FRACTION", help="Override a variant's flip rate (0.01 = 1%)."
)
@click.option(
    "--teacher",
    is_flag=True,
    help="Gate a distilled student against its TEACHER: --checkpoint/--backbone are the teacher's, and the "
    "default gate is <= 1% flips at tau and tau*, <= 1 pp metric drift, |dP| reported.",
)
@click.option("--no-cache", is_flag=True, help="Recompute the PyTorch reference scores.")
@click.option("--no-update-manifest", is_flag=True, help="Do not store the re-fitted per-variant tau* in the manifest.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report as markdown to this path (and JSON beside it).",
)
@json_option("the full report")
def verify(
    model_dir: Path | None,
    checkpoint: Path,
    backbone: Path,
    data: Path,
    preset: str | None,
    columns: Any,
    variant: tuple[str, ...],
    max_dp: tuple[str, ...],
    max_drift: tuple[str, ...],
    max_flips: tuple[str, ...],
    teacher: bool,
    no_cache: bool,
    no_update_manifest: bool,
    report: Path | None,
    as_json: bool,
) -> None:
    """Gate every variant on metric parity with the original PyTorch model; exit 1 when one fails.

    Per variant: max and mean |dP|, decision flips at tau and tau*, drift of accuracy/F1/AUC/KS in
    percentage points, and the re-fitted tau* that keeps the reference's false-positive rate. Defaults:
    fp32 max |dP| 1e-4, 0.05 pp, no flips; fp16 1e-2, 0.2 pp, 0.5%; int8 dP reported, 0.5 pp, 1%.

    \b
    Example (CI):
      secbert-edge verify --model models/secbert-pt --checkpoint best_model.pth \\
          --backbone ./bert-base-portuguese-cased --data test.tsv --preset wildjailbreak --report verify.md
    """
    import json

    from .. import verify as gate
    from ..variants import TEACHER_GATE, tolerances_from

    tolerances = tolerances_from(
        {"max_abs_diff": max_dp, "metric_drift_pp": max_drift, "flip_rate": max_flips},
        base=TEACHER_GATE if teacher else None,
    )
    result = gate.verify(
        resolve_model(model_dir),
        checkpoint,
        backbone,
        data,
        columns=columns,
        tolerances=tolerances,
        variants=variant or None,
        use_cache=not no_cache,
        update_manifest=not no_update_manifest,
        reference="teacher" if teacher else "source",
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
        sys.exit(EXIT_FAILED)


def _ints(value: str) -> tuple[int, ...]:
    try:
        numbers = tuple(int(x) for x in value.split(",") if x.strip())
    except ValueError as err:
        raise click.BadParameter(f"{value!r}: expected comma-separated integers") from err
    if not numbers or min(numbers) < 1:
        raise click.BadParameter(f"{value!r}: expected comma-separated integers >= 1")
    return numbers


@main.command()
@model_option()
@variant_option(multiple=True)
@session_options(providers_default="cpu")
@click.option("--batch-sizes", default="32", show_default=True, help="Comma-separated batch sizes for throughput.")
@click.option("--lengths", default="16,64,128,256,512", show_default=True, help="Token lengths for batch-1 latency.")
@click.option(
    "--workload",
    default="mix",
    show_default=True,
    help="'mix' (seeded pt-BR length mix: 55% 8-64, 30% 64-256, 15% 256-700 tokens) or a file of texts.",
)
@click.option(
    "--workload-size", type=click.IntRange(min=1), default=200, show_default=True, help="Texts in the 'mix' workload."
)
@click.option("--text-column", default="text", show_default=True, help="Column of a --workload file.")
@click.option(
    "--bucketing",
    type=click.Choice(["on", "off", "both"]),
    default="both",
    show_default=True,
    help="on: the runtime's bucketing; off: pad-to-max and arrival-order dynamic padding; both.",
)
@click.option(
    "--repeats", type=click.IntRange(min=1), default=20, show_default=True, help="Timed runs per latency cell."
)
@click.option(
    "--budget",
    type=click.FloatRange(min=0, min_open=True),
    default=15.0,
    show_default=True,
    help="Max seconds per latency cell.",
)
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --backbone: add the PyTorch eager fp32 baseline (needs the export extra).",
)
@click.option("--backbone", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--no-cold-start", is_flag=True, help="Skip the fresh-process cold start / peak RSS probes.")
@click.option(
    "--report",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write report.md, results.json and PNG plots into this folder.",
)
@json_option("the typed records")
def bench(
    model_dir: Path | None,
    variant: tuple[str, ...],
    session: Any,
    batch_sizes: str,
    lengths: str,
    workload: str,
    workload_size: int,
    text_column: str,
    bucketing: str,
    repeats: int,
    budget: float,
    checkpoint: Path | None,
    backbone: Path | None,
    no_cold_start: bool,
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
    from ..benchmarks.runner import BenchConfig, plot, run_bench, to_json, to_markdown
    from ..manifest import Manifest
    from ..textio import read_texts

    if (checkpoint is None) != (backbone is None):
        raise click.UsageError("--checkpoint and --backbone go together (the PyTorch baseline needs both)")
    path = resolve_model(model_dir)
    config = BenchConfig(
        precisions=variant or tuple(Manifest.read(path).variants),
        session=session,
        lengths=_ints(lengths),
        batch_sizes=_ints(batch_sizes),
        bucketing=bucketing,
        workload_size=workload_size,
        repeats=repeats,
        budget_s=budget,
        cold_start=not no_cold_start,
    )
    texts = None if workload == "mix" else read_texts(workload, text_column)
    steps: list[str] = []
    with click.progressbar(length=1, label="bench", file=sys.stderr, show_pos=True) as bar:

        def progress(step: str) -> None:
            steps.append(step)
            bar.label = step
            bar.length = len(steps) + 1
            bar.update(1)

        result = run_bench(
            path,
            config,
            workload_texts=texts,
            workload_name=Path(workload).name,
            reference=(checkpoint, backbone) if checkpoint and backbone else None,
            progress=progress,
        )
    text = to_markdown(result)
    if report:
        report.mkdir(parents=True, exist_ok=True)
        (report / "report.md").write_text(text, encoding="utf-8")
        (report / "results.json").write_text(to_json(result), encoding="utf-8")
        if not plot(result, report):
            click.echo('note: no plots written (pip install "secbert-edge[bench]" for matplotlib)', err=True)
    click.echo(to_json(result) if as_json else text)
    if result.interrupted:
        sys.exit(130)

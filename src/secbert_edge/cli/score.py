"""``secbert-edge score``: score a corpus file into a Parquet/JSONL file, streaming, on one box or a Ray cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from . import main
from ._common import (
    COUNT,
    PATH,
    THRESHOLD_HELP,
    choice,
    exit_for_bad_inputs,
    flag,
    log,
    max_errors_option,
    model_option,
    opt,
    report_reading,
    resolve_model,
    runtime_options,
)


@main.command()
@opt(
    "--input",
    "input_path",
    PATH,
    "Corpus: .parquet (a file or a dataset folder), .jsonl, .csv, .tsv or .txt.",
    required=True,
)
@opt("--output", PATH, "Scores: .parquet or .jsonl (local engine); a folder of Parquet files (ray).", required=True)
@opt(
    "--id-column",
    "Column holding each row's id, passed through to the output [default: the row number, as 'id'; required with "
    "--engine ray].",
)
@opt("--text-column", "Column holding the text to score.", default="text")
@opt("--prompt-column", "With --response-column: the prompt each response answers (response-judge packages).")
@opt("--response-column", "Score (prompt, response) pairs: the column holding the response (not --text-column).")
@model_option(" (the response-judge default with --response-column)")
@runtime_options()
@opt("--threshold", THRESHOLD_HELP)
@choice(
    "--engine",
    ["local", "ray"],
    "local: stream on this machine; ray: Ray Data on a local Ray or an existing cluster.",
    default="local",
)
@opt(
    "--batch-rows", COUNT, "Rows read, scored and written at a time (bounds memory; one row group each).", default=4096
)
@flag("--resume", "Finish an interrupted run: keep what it wrote, score only the rest (same input and options).")
@opt(
    "--ray-address",
    "Ray cluster to join (--engine ray) [default: $RAY_ADDRESS, else a local Ray].",
    envvar="RAY_ADDRESS",
)
@opt("--ray-actors", COUNT, "Scoring actors (--engine ray) [default: sized to the CPUs Ray reports, one left free].")
@opt("--ray-threads", COUNT, "ONNX Runtime threads per actor (--engine ray) [default: 1 up to 4 CPUs, else 2].")
@max_errors_option()
@flag("--quiet", "No progress output.")
def score(
    input_path: Path,
    output: Path,
    id_column: str | None,
    text_column: str,
    prompt_column: str | None,
    response_column: str | None,
    model_dir: Path | None,
    runtime: Any,
    threshold: str | None,
    engine: str,
    batch_rows: int,
    resume: bool,
    ray_address: str | None,
    ray_actors: int | None,
    ray_threads: int | None,
    max_errors: Any,
    quiet: bool,
) -> None:
    """Score a whole corpus into a Parquet or JSONL file, streaming: memory is bounded by --batch-rows, not by the
    input's size.

    Every input row gives exactly one output row, in input order: the id column (--id-column, else 'id' = the row
    number) and score, label, n_tokens, truncated, error. A row that cannot be scored (not JSON, no text, not UTF-8,
    empty) keeps its place with the reason in 'error'; every other row is still scored. The exit status then says
    whether the bad rows stayed within --max-errors or not (see Exit status); the output is written either way.

    A killed run keeps every chunk it finished: rerun the same command with --resume and it scores only the rest.

    \b
    Examples:
      secbert-edge score --input prompts.parquet --output scores.parquet --id-column id --text-column prompt
      secbert-edge score --input chats.jsonl --output judged.jsonl --id-column id \\
          --prompt-column prompt --response-column answer --variant int8
      secbert-edge score --input prompts.parquet --output scores.parquet --id-column id --resume
      secbert-edge score --engine ray --input s3-synced/prompts/ --output scores/ --id-column id
      RAY_ADDRESS=ray://head:10001 secbert-edge score --engine ray --input /shared/logs/ --output /shared/scores/ \\
          --id-column id
    """
    from ..textio import Fields

    if prompt_column is not None and response_column is None:
        raise click.UsageError("--prompt-column needs --response-column (pairs); a single text uses --text-column")
    pairs = response_column is not None
    fields = Fields(text=text_column, id=id_column, prompt=prompt_column if pairs else None, response=response_column)
    package = resolve_model(model_dir, pairs)
    common: dict[str, Any] = {"fields": fields, "batch_rows": batch_rows, "resume": resume, "threshold": threshold}
    if engine == "ray":
        from ..ray import score_dataset

        ray: dict[str, Any] = {
            "address": ray_address,
            "actors": ray_actors,
            "threads": ray_threads,
            "log": None if quiet else log("score"),
        }
        summary = score_dataset(input_path, output, package, runtime=runtime, **common, **ray)
    else:
        from ..score import open_classifier, score_file

        settings = {
            "model": str(package.resolve()),
            "variant": runtime.variant,
            "long_inputs": runtime.long_inputs.value,
        }
        opened = lambda: open_classifier(package, runtime)  # noqa: E731  (opened once the output is checked)
        summary = score_file(input_path, output, opened, settings=settings, progress=not quiet, **common)
    report_reading(summary.blank_lines, summary.duplicate_ids, id_column)
    resumed = f" ({summary.resumed_rows:,} kept from the interrupted run)" if summary.resumed_rows else ""
    click.echo(
        f"wrote {summary.rows:,} rows to {summary.output}{resumed}: scored {summary.scored_now:,} in "
        f"{summary.seconds:.1f} s ({summary.rows_per_s:,.0f} rows/s)",
        err=True,
    )
    exit_for_bad_inputs(summary.errors, summary.rows, max_errors, "rows", "see the error column")

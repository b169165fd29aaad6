"""``secbert-edge score``: score a corpus file into a Parquet/JSONL file, streaming, on one box or a Ray cluster."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..runtime.tokenization import LongInputPolicy
from . import main
from ._common import EXIT_FAILED, log, model_option, resolve_model, session_options, variant_option


@main.command()
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Corpus to score: .parquet (a file or a dataset folder), .jsonl, .csv, .tsv or .txt.",
)
@click.option(
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Where the scores go: .parquet or .jsonl (local engine); a folder of Parquet files (ray engine).",
)
@click.option(
    "--id-column",
    default=None,
    help="Column holding each row's id, passed through to the output [default: the row number, as 'id'; "
    "required with --engine ray].",
)
@click.option("--text-column", default="text", show_default=True, help="Column holding the text to score.")
@click.option(
    "--prompt-column",
    default=None,
    help="With --response-column: the prompt each response answers (response-judge packages).",
)
@click.option(
    "--response-column",
    default=None,
    help="Score (prompt, response) pairs: the column holding the response (instead of --text-column).",
)
@model_option(" (the response-judge default with --response-column)")
@variant_option()
@session_options(providers_default="auto")
@click.option(
    "--threshold",
    default=None,
    help="Decision threshold: a number in [0,1], 'default' (the manifest's) or 'ks' (tau*).",
)
@click.option(
    "--long-inputs",
    type=click.Choice([p.value for p in LongInputPolicy]),
    default="truncate",
    show_default=True,
    help="What to do with inputs over the max length.",
)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=32, show_default=True, help="Max texts per model call."
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: stream on this machine; ray: Ray Data on a local Ray or an existing cluster.",
)
@click.option(
    "--batch-rows",
    type=click.IntRange(min=1),
    default=4096,
    show_default=True,
    help="Rows read, scored and written at a time (bounds memory; one output row group / part each).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Finish an interrupted run: keep what it wrote, score only the rest (same input and options).",
)
@click.option(
    "--ray-address",
    default=None,
    envvar="RAY_ADDRESS",
    help="Ray cluster to join (--engine ray) [default: $RAY_ADDRESS, else start a local Ray].",
)
@click.option(
    "--ray-actors",
    type=click.IntRange(min=1),
    default=None,
    help="Scoring actors (--engine ray) [default: sized to the CPUs Ray reports, one left free].",
)
@click.option(
    "--ray-threads",
    type=click.IntRange(min=1),
    default=None,
    help="ONNX Runtime threads per actor (--engine ray) [default: 1 up to 4 CPUs, else 2].",
)
@click.option("--quiet", is_flag=True, help="No progress output.")
def score(
    input_path: Path,
    output: Path,
    id_column: str | None,
    text_column: str,
    prompt_column: str | None,
    response_column: str | None,
    model_dir: Path | None,
    variant: str | None,
    session: Any,
    threshold: str | None,
    long_inputs: str,
    batch_size: int,
    engine: str,
    batch_rows: int,
    resume: bool,
    ray_address: str | None,
    ray_actors: int | None,
    ray_threads: int | None,
    quiet: bool,
) -> None:
    """Score a whole corpus into a Parquet or JSONL file, streaming: memory is bounded by --batch-rows, not by the
    input's size.

    Every input row gives exactly one output row, in input order: the id column (--id-column, else 'id' = the row
    number) and score, label, n_tokens, truncated, error. A row that cannot be scored (not JSON, no text, not UTF-8,
    empty) keeps its place with the reason in 'error'; every other row is still scored. Exit status: 0 when every row
    was scored, 1 when some could not be (see the error column), 2 on usage errors.

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
    open_kwargs = {"variant": variant, "session": session, "long_inputs": long_inputs, "max_batch_size": batch_size}
    if engine == "ray":
        from ..ray import score_dataset

        summary = score_dataset(
            input_path,
            output,
            package,
            fields=fields,
            batch_rows=batch_rows,
            resume=resume,
            threshold=threshold,
            open_kwargs=open_kwargs,
            address=ray_address,
            actors=ray_actors,
            threads=ray_threads,
            log=None if quiet else log("score"),
        )
    else:
        from ..score import open_classifier, score_file

        settings = {"model": str(package.resolve()), "variant": variant, "long_inputs": long_inputs}
        summary = score_file(
            input_path,
            output,
            lambda: open_classifier(package, **open_kwargs),
            fields=fields,
            batch_rows=batch_rows,
            resume=resume,
            threshold=threshold,
            settings=settings,
            progress=not quiet,
        )
    if summary.blank_lines:
        click.echo(f"skipped {summary.blank_lines} blank line{'s' * (summary.blank_lines != 1)}", err=True)
    if summary.duplicate_ids:
        click.echo(
            f"warning: {summary.duplicate_ids} rows repeat an id seen earlier (--id-column {id_column}); each "
            "is still scored",
            err=True,
        )
    resumed = f" ({summary.resumed_rows:,} kept from the interrupted run)" if summary.resumed_rows else ""
    click.echo(
        f"wrote {summary.rows:,} rows to {summary.output}{resumed}: scored {summary.scored_now:,} in "
        f"{summary.seconds:.1f} s ({summary.rows_per_s:,.0f} rows/s)",
        err=True,
    )
    if summary.errors:
        click.echo(f"{summary.errors:,} of {summary.rows:,} rows could not be scored (see the error column)", err=True)
        sys.exit(EXIT_FAILED)

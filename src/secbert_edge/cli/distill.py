"""``secbert-edge distill``: a smaller student that makes its teacher's decisions (the export extra)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..data import Preset
from . import main
from ._common import log


@main.command()
@click.option(
    "--checkpoint",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The TEACHER's fine-tuned weights (best_model.pth / .safetensors).",
)
@click.option(
    "--backbone",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The teacher's backbone folder (config.json + vocab.txt).",
)
@click.option(
    "--data",
    "data_files",
    required=True,
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Unlabelled texts: .txt (one per line), .jsonl, .csv, .tsv or .parquet (repeatable).",
)
@click.option("--text-column", default="text", show_default=True, help="Text column of .jsonl/.csv/.parquet files.")
@click.option("--prompt-column", default=None, help="Prompt column for response judges (pairs).")
@click.option(
    "--layers",
    type=click.IntRange(min=1),
    required=True,
    help="The student's encoder layers (fewer than the teacher's).",
)
@click.option(
    "--hidden",
    type=click.IntRange(min=8),
    default=None,
    help="A narrower student (random init + hidden-state loss through a projection) [default: teacher's].",
)
@click.option("--epochs", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--max-steps", type=click.IntRange(min=1), default=None, help="Stop after this many steps.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-4, show_default=True)
@click.option(
    "--temperature",
    type=click.FloatRange(min=0, min_open=True),
    default=2.0,
    show_default=True,
    help="KD temperature T.",
)
@click.option(
    "--hidden-loss",
    type=click.FloatRange(min=0),
    default=None,
    help="Weight of the hidden-state MSE at mapped layers [default: 1 with --hidden, else 0].",
)
@click.option(
    "--attention-loss",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Weight of the attention-map MSE at mapped layers (same number of heads only).",
)
@click.option(
    "--labelled",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Labelled data: mixes the labelled loss in and reports both models' metrics on its test split.",
)
@click.option(
    "--labelled-preset",
    type=click.Choice([p.value for p in Preset]),
    default=Preset.TEXT.value,
    show_default=True,
    help="Column layout of --labelled.",
)
@click.option(
    "--labelled-weight",
    type=click.FloatRange(min=0),
    default=0.5,
    show_default=True,
    help="Weight of the labelled loss.",
)
@click.option(
    "--threshold", "tau", type=click.FloatRange(0, 1), default=0.5, show_default=True, help="The teacher's tau."
)
@click.option(
    "--tau-star",
    type=click.FloatRange(0, 1),
    default=None,
    help="The teacher's tau* [default: ks_threshold of metrics.json beside --checkpoint, if any].",
)
@click.option("--max-length", type=click.IntRange(min=8), default=512, show_default=True)
@click.option(
    "--holdout",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.1,
    show_default=True,
    help="Fraction of the texts held out for the agreement report.",
)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for best_model.pth, backbone/ and distill.json.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="torch threads [default: torch's]; 1 is often faster on a shared, busy machine.",
)
@click.option("--force", is_flag=True, help="Overwrite a previous student in --out.")
def distill(
    checkpoint: Path,
    backbone: Path,
    data_files: tuple[Path, ...],
    text_column: str,
    prompt_column: str | None,
    layers: int,
    hidden: int | None,
    epochs: int,
    max_steps: int | None,
    batch_size: int,
    lr: float,
    temperature: float,
    hidden_loss: float | None,
    attention_loss: float,
    labelled: Path | None,
    labelled_preset: str,
    labelled_weight: float,
    tau: float,
    tau_star: float | None,
    max_length: int,
    holdout: float,
    seed: int,
    out: Path,
    threads: int | None,
    force: bool,
) -> None:
    """Distil a fine-tuned model into a smaller student that makes the same decisions (export extra).

    The student starts from the teacher: its embeddings, an evenly spaced subset of its layers (12 -> 6 keeps
    layers 2,4,..,12), its pooler and head; with --hidden, a narrower random student. It learns the teacher's
    probabilities on unlabelled texts (KL at --temperature; a sigmoid head is the distribution [1-p, p]),
    optionally plus hidden-state / attention losses and the labelled loss of --labelled.

    Writes OUT/best_model.pth + OUT/backbone (what `export` reads) and OUT/distill.json: agreement with the
    teacher on held-out texts (decision flips at tau and tau*, mean/max |dP|). Deterministic for a --seed.

    \b
    Example:
      secbert-edge distill --checkpoint run/best_model.pth --backbone run/backbone --data chats.txt \\
          --layers 6 --out students/l6
      secbert-edge export --checkpoint students/l6/best_model.pth --backbone students/l6/backbone --out pkg-l6
      secbert-edge verify --model pkg-l6 --teacher --checkpoint run/best_model.pth --backbone run/backbone \\
          --data test.jsonl
    """
    from .. import distill as dist

    if threads is not None:
        dist.torch.set_num_threads(threads)
    if (out / dist.DISTILL_REPORT).exists() and not force:
        raise click.UsageError(f"{out} already holds a student ({dist.DISTILL_REPORT}); pass --force to replace it")
    texts = [e for path in data_files for e in dist.read_texts(path, text_column, prompt_column)]
    examples = dist.load_labelled(labelled, labelled_preset) if labelled else None
    config = dist.DistillConfig(
        layers=layers,
        hidden=hidden,
        epochs=epochs,
        max_steps=max_steps,
        batch_size=batch_size,
        lr=lr,
        temperature=temperature,
        hidden_weight=hidden_loss,
        attention_weight=attention_loss,
        labelled_weight=labelled_weight,
        max_length=max_length,
        holdout_fraction=holdout,
        seed=seed,
    )
    with click.progressbar(length=1, label="distilling", file=sys.stderr) as bar:

        def progress(step: int, total: int, loss: float) -> None:
            bar.length = total
            bar.label = f"distilling (loss {loss:.4f})"
            bar.update(1)

        result: dict[str, Any] = dist.distill(
            checkpoint,
            backbone,
            texts,
            out,
            config,
            labelled=examples,
            tau=tau,
            tau_star=tau_star,
            progress=progress,
            log=log("distill"),
        )
    click.echo(dist.describe(result))
    thresholds = result["agreement"]["thresholds"]
    ks = f" --ks-threshold {thresholds['tau*']:.4f}" if "tau*" in thresholds else ""
    click.echo(f"wrote {out / 'best_model.pth'}, {out / 'backbone'}, {out / dist.DISTILL_REPORT}")
    click.echo(
        f"next: secbert-edge export --checkpoint {out / 'best_model.pth'} --backbone {out / 'backbone'} "
        f"--out PACKAGE --threshold {thresholds['tau']}{ks}"
    )

"""``secbert-edge distill``: a smaller student that makes its teacher's decisions (the export extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..data import Preset
from ..recipe import DistillConfig
from . import main
from ._common import COUNT, DIR, FILE, FRACTION, bundle, choice, config_options, flag, log, opt, step_bar


@main.command()
@opt("--checkpoint", FILE, "The TEACHER's fine-tuned weights (best_model.pth / .safetensors).", required=True)
@opt(
    "--backbone",
    DIR,
    "The teacher's backbone folder (config.json + vocab.txt, or tokenizer.json + sentencepiece.bpe.model).",
    required=True,
)
@opt(
    "--data",
    "data_files",
    FILE,
    "Unlabelled texts: .txt, .jsonl, .csv, .tsv or .parquet (repeatable).",
    required=True,
    multiple=True,
)
@opt("--text-column", "Text column of .jsonl/.csv/.parquet files.", default="text")
@opt("--prompt-column", "Prompt column for response judges (pairs).")
@bundle("config", DistillConfig, *config_options(DistillConfig))
@opt(
    "--labelled", FILE, "Labelled data: mixes the labelled loss in and reports both models' metrics on its test split."
)
@choice("--labelled-preset", Preset, "Column layout of --labelled.", default=Preset.TEXT.value)
@opt("--threshold", "tau", FRACTION, "The teacher's tau.", default=0.5)
@opt("--tau-star", FRACTION, "The teacher's tau* [default: ks_threshold of metrics.json beside --checkpoint, if any].")
@opt("--out", DIR, "Folder for best_model.pth, backbone/ and distill.json.", required=True)
@opt("--threads", COUNT, "torch threads [default: torch's]; 1 is often faster on a shared, busy machine.")
@flag("--force", "Overwrite a previous student in --out.")
@flag(
    "--no-cache",
    "Score the texts with the teacher again instead of reusing the logits an earlier run with the same teacher, "
    "texts and split cached (a third of a run on a CPU).",
)
def distill(
    checkpoint: Path,
    backbone: Path,
    data_files: tuple[Path, ...],
    text_column: str,
    prompt_column: str | None,
    config: Any,
    labelled: Path | None,
    labelled_preset: str,
    tau: float,
    tau_star: float | None,
    out: Path,
    threads: int | None,
    force: bool,
    no_cache: bool,
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
    with step_bar("distilling") as progress:
        kw: dict[str, Any] = {"labelled": examples, "tau": tau, "tau_star": tau_star, "cache": not no_cache}
        result = dist.distill(checkpoint, backbone, texts, out, config, progress=progress, log=log("distill"), **kw)
    click.echo(dist.describe(result))
    thresholds = result["agreement"]["thresholds"]
    ks = f" --ks-threshold {thresholds['tau*']:.4f}" if "tau*" in thresholds else ""
    click.echo(f"wrote {out / 'best_model.pth'}, {out / 'backbone'}, {out / dist.DISTILL_REPORT}")
    click.echo(
        f"next: secbert-edge export --checkpoint {out / 'best_model.pth'} --backbone {out / 'backbone'} "
        f"--out PACKAGE --threshold {thresholds['tau']}{ks}"
    )

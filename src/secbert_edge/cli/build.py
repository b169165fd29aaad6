"""Commands that build models and packages: export, train, quantize (the export extra: torch, transformers, onnx)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..data import Preset
from ..export.quantize import CalibrationMethod, Target  # numpy only: quantize imports onnx lazily
from ..manifest import Task
from ..variants import QUANTIZE_NAMES
from . import main
from ._common import compose, echo_json, json_option, log, variant_option

TASKS = [t.value for t in Task]


def columns_options(preset_default: str | None) -> Any:
    """--preset and the column overrides, handed to the command as ``columns`` (a data.Columns or None)."""
    import functools

    def decorator(f: Any) -> Any:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from ..data import columns_for

            preset = kwargs.pop("preset")
            text, label, prompt = kwargs.pop("text_column"), kwargs.pop("label_column"), kwargs.pop("prompt_column")
            kwargs["preset"] = preset
            kwargs["columns"] = (
                columns_for(preset, text=text, label=label, prompt=prompt)
                if preset or text or label or prompt
                else None
            )
            return f(*args, **kwargs)

        return compose(
            click.option(
                "--preset",
                type=click.Choice([p.value for p in Preset]),
                default=preset_default,
                show_default=preset_default is not None,
                help="Column layout: text (text, label); wildjailbreak (adversarial|vanilla, data_type); "
                "response (prompt, response, label).",
            ),
            click.option("--text-column", default=None, help="Override the preset's text (or response) column."),
            click.option("--label-column", default=None, help="Override the preset's label column."),
            click.option(
                "--prompt-column", default=None, help="Override the preset's prompt column (response judges)."
            ),
        )(wrapper)

    return decorator


@main.command()
@click.option(
    "--checkpoint",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Fine-tuned weights: best_model.pth (a state_dict) or .safetensors.",
)
@click.option(
    "--backbone",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Local folder of the backbone (config.json, vocab.txt, tokenizer_config.json).",
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Package folder to write.")
@click.option(
    "--task",
    type=click.Choice(TASKS),
    default=Task.PROMPT.value,
    show_default=True,
    help="What the model classifies: user prompts, or LLM responses.",
)
@click.option(
    "--max-length",
    type=click.IntRange(min=8),
    default=None,
    help="Max tokens per input [default: min(512, backbone's)].",
)
@click.option("--opset", type=click.IntRange(min=17), default=17, show_default=True, help="ONNX opset (>= 17).")
@click.option(
    "--threshold",
    "default_threshold",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Default decision threshold tau recorded in the manifest.",
)
@click.option(
    "--ks-threshold",
    type=click.FloatRange(0, 1),
    default=None,
    help="KS-optimal threshold tau* if known (SecBERT-PT: 0.72); enables --threshold ks.",
)
@click.option(
    "--tolerance",
    type=float,
    default=1e-4,
    show_default=True,
    help="Max |P(ONNX) - P(PyTorch)| allowed; export fails above it.",
)
@click.option(
    "--tensorrt",
    is_flag=True,
    help="Also keep the unfused graph (standard ONNX ops) as the 'tensorrt' variant: TensorRT cannot parse "
    "ONNX Runtime's fused ops, and makes its own fp16/int8 engines from this graph.",
)
@click.option("--force", is_flag=True, help="Replace an existing package at --out.")
@json_option("the written manifest")
def export(
    checkpoint: Path,
    backbone: Path,
    out: Path,
    task: str,
    max_length: int | None,
    opset: int,
    default_threshold: float,
    ks_threshold: float | None,
    tolerance: float,
    tensorrt: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Export a checkpoint to a validated ONNX model package (needs the export extra).

    \b
    Example:
      secbert-edge export --checkpoint best_model.pth --backbone ./bert-base-portuguese-cased \\
          --out models/secbert-pt --ks-threshold 0.72
    """
    from ..export import export_package

    manifest = export_package(
        checkpoint,
        backbone,
        out,
        task=task,
        max_length=max_length,
        opset=opset,
        default_threshold=default_threshold,
        ks_threshold=ks_threshold,
        tolerance=tolerance,
        force=force,
        tensorrt=tensorrt,
        progress=log("export"),
    )
    if as_json:
        echo_json(manifest.to_dict())
        return
    fp32 = manifest.variants["fp32"]
    click.echo(
        f"wrote {out}: {manifest.head.value} head, max length {manifest.max_length}, fp32 max |dP| vs PyTorch "
        f"{fp32.parity['max_abs_diff']:.2e} on {len(fp32.parity['shapes'])} shapes, tokenizer parity on "
        f"{manifest.tokenizer['parity_texts_checked']} texts"
    )


@main.command()
@click.option(
    "--data",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Labelled data (.csv/.tsv/.jsonl/.parquet); split 75/25 train/test + a validation share.",
)
@columns_options(preset_default=Preset.TEXT.value)
@click.option(
    "--backbone",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Local backbone folder to fine-tune (config.json, vocab.txt, weights).",
)
@click.option(
    "--vocab",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="From scratch instead of --backbone: a WordPiece vocab.txt ...",
)
@click.option("--layers", type=click.IntRange(min=1), default=2, show_default=True, help="... and the BERT's layers,")
@click.option("--hidden", type=click.IntRange(min=8), default=128, show_default=True, help="... hidden size,")
@click.option("--heads", type=click.IntRange(min=1), default=4, show_default=True, help="... and attention heads.")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for best_model.pth, metrics.json and the splits.",
)
@click.option(
    "--task",
    type=click.Choice(TASKS),
    default=None,
    help="prompt or response [default: response for --preset response, else prompt].",
)
@click.option("--lr", type=float, default=2e-5, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--max-length", type=click.IntRange(min=8), default=512, show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--max-steps", type=click.IntRange(min=1), default=None, help="Stop after this many steps.")
@click.option(
    "--eval-every",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Steps between validation evaluations.",
)
@click.option(
    "--patience",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Early stopping: evaluations without a better validation loss.",
)
@click.option("--freeze-backbone", is_flag=True, help="Train the MLP head only.")
@click.option(
    "--num-labels",
    type=click.Choice(["1", "2"]),
    default="1",
    show_default=True,
    help="1 logit + sigmoid, or 2 logits + softmax.",
)
@click.option("--test-fraction", type=float, default=0.25, show_default=True)
@click.option("--validation-fraction", type=float, default=0.1, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
def train(
    data: Path,
    preset: str,
    columns: Any,
    backbone: Path | None,
    vocab: Path | None,
    layers: int,
    hidden: int,
    heads: int,
    out: Path,
    task: str | None,
    lr: float,
    batch_size: int,
    max_length: int,
    epochs: int,
    max_steps: int | None,
    eval_every: int,
    patience: int,
    freeze_backbone: bool,
    num_labels: str,
    test_fraction: float,
    validation_fraction: float,
    seed: int,
) -> None:
    """Train a BertMLPClassifier with SecBERT-PT's recipe (needs the export extra).

    Writes OUT/best_model.pth (the layout `export` reads), OUT/metrics.json (validation curve, tau*, test
    metrics) and the splits as JSONL. From scratch (--vocab), the backbone folder is written to OUT/backbone.

    \b
    Examples:
      secbert-edge train --data harmful-prompts-pt.tsv --preset wildjailbreak \\
          --backbone ./bert-base-portuguese-cased --out runs/secbert-pt
      secbert-edge train --data chats.jsonl --preset response --vocab vocab.txt --layers 2 --out runs/judge --lr 5e-4
    """
    from ..data import load_examples, stratified_split, write_jsonl
    from ..training import TrainConfig, write_scratch_backbone
    from ..training import train as run_training

    if (backbone is None) == (vocab is None):
        raise click.UsageError(
            "give either --backbone (fine-tune) or --vocab (+ --layers/--hidden/--heads, from scratch)"
        )
    task = task or (Task.RESPONSE.value if preset == Preset.RESPONSE.value else Task.PROMPT.value)
    config = TrainConfig(
        lr=lr,
        batch_size=batch_size,
        max_length=max_length,
        epochs=epochs,
        max_steps=max_steps,
        eval_every=eval_every,
        patience=patience,
        freeze_backbone=freeze_backbone,
        num_labels=int(num_labels),
        seed=seed,
        task=Task(task),
    )
    examples = load_examples(data, columns)
    splits = stratified_split(examples, test=test_fraction, validation=validation_fraction, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    for part in ("train", "validation", "test"):
        write_jsonl(out / f"{part}.jsonl", getattr(splits, part))
    if vocab is not None:
        backbone = write_scratch_backbone(out / "backbone", vocab, layers=layers, hidden=hidden, heads=heads)
    assert backbone is not None  # one of --backbone / --vocab, checked above
    log("train")(f"{len(splits.train)} train / {len(splits.validation)} validation / {len(splits.test)} test")
    with click.progressbar(length=1, label="training", file=sys.stderr) as bar:

        def progress(step: int, total: int, loss: float) -> None:
            bar.length = total
            bar.label = f"training (loss {loss:.4f})"
            bar.update(1)

        result = run_training(
            splits.train, splits.validation, backbone, out, config, test_set=splits.test, progress=progress
        )
    scores = ""
    if result.test is not None:
        at = result.test.at
        scores = (
            f"; test F1 {at['default'].f1:.4f} at 0.5, {at['ks_optimal'].f1:.4f} at tau*; AUC {result.test.auc:.4f}"
        )
    click.echo(
        f"wrote {result.checkpoint}: best validation loss {result.best_val_loss:.4f} at step "
        f"{result.best_step}/{result.steps}; tau* {result.ks_threshold:.4f}{scores}"
    )
    click.echo(
        f"next: secbert-edge export --checkpoint {result.checkpoint} --backbone {backbone} "
        f"--out PACKAGE --task {task} --ks-threshold {result.ks_threshold:.4f}"
    )


@main.command()
@click.option(
    "--model",
    "model_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The package to add a variant to (the embedded defaults are never rewritten in place).",
)
@variant_option(
    choices=QUANTIZE_NAMES,
    help="The variant to build: int8 (dynamic), int8-static (QDQ, calibrated), "
    "fp16 (GPU), tensorrt-int8 (QDQ on the unfused TensorRT graph, calibrated).",
)
@click.option(
    "--calibration",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Calibration texts for int8-static / tensorrt-int8 (.txt/.jsonl/.csv/.tsv/.parquet).",
)
@click.option("--text-column", default="text", show_default=True, help="Column of a --calibration file.")
@click.option(
    "--method",
    type=click.Choice([m.value for m in CalibrationMethod]),
    default=CalibrationMethod.MINMAX.value,
    show_default=True,
    help="Calibration method for int8-static / tensorrt-int8.",
)
@click.option(
    "--target",
    type=click.Choice([t.value for t in Target]),
    default=None,
    help="int8 kernel target [default: detected from this CPU]; sets reduce_range.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace a variant the package already has, and write a variant even when it misses its tolerance "
    "against fp32 (the manifest then records that it missed).",
)
def quantize(
    model_dir: Path,
    variant: str | None,
    calibration: Path | None,
    text_column: str,
    method: str,
    target: str | None,
    force: bool,
) -> None:
    """Add an int8 or fp16 variant to a package, checked against its fp32 variant (the quantize extra: onnx).

    int8 (dynamic): per-channel int8 weights on the fused graph; run one text at a time by the runtime so a text's
    score never depends on its batch-mates. int8-static: QDQ with calibrated scales. fp16: for GPU providers, with
    float32 inputs/outputs and LayerNorms kept in fp32. tensorrt-int8: TensorRT's int8 rules on the unfused graph.

    The candidate is compared with fp32 on the parity texts and random token shapes; it is refused (exit 1, nothing
    written) when its max |dP| or its label flips at tau / tau* exceed the variant's check: int8, int8-static,
    tensorrt-int8: |dP| <= 0.15 and <= 1% flips; fp16: |dP| <= 1e-2 and <= 0.5% flips.

    \b
    Examples:
      secbert-edge quantize --model models/secbert-pt --variant int8
      secbert-edge quantize --model models/secbert-pt --variant int8-static --calibration prompts.txt
      secbert-edge quantize --model models/secbert-pt --variant fp16
      secbert-edge quantize --model models/secbert-pt --variant tensorrt-int8 --calibration prompts.txt
    """
    from ..export.quantize import add_variant
    from ..runtime.defaults import is_embedded
    from ..textio import read_texts

    if variant is None:
        raise click.UsageError("choose the variant to build with --variant (" + ", ".join(QUANTIZE_NAMES) + ")")
    if variant in ("int8-static", "tensorrt-int8") and calibration is None:
        raise click.UsageError(f"--variant {variant} needs --calibration FILE (a few hundred representative texts)")
    if is_embedded(model_dir):
        raise click.UsageError(
            f"--model {model_dir} is an embedded default package, which quantize would rewrite in "
            f"place; copy it first (cp -r {model_dir} my-model) and quantize the copy"
        )
    texts = read_texts(calibration, text_column) if calibration else []
    manifest = add_variant(
        model_dir, variant, calibration_texts=texts, method=method, target=target, force=force, log=log("quantize")
    )
    v = manifest.variants[variant]
    missed = "" if v.parity.get("passed", True) else f" -- MISSED its tolerance ({'; '.join(v.parity['failures'])})"
    click.echo(
        f"added {variant} variant {v.file} ({(model_dir / v.file).stat().st_size / 1e6:.1f} MB) to {model_dir}: "
        f"max |dP| vs fp32 {v.parity['max_abs_diff']:.2e}, label flips {v.parity.get('flips')} on "
        f"{v.parity.get('inputs')} inputs{missed}; gate it on labelled data with `secbert-edge verify`"
    )

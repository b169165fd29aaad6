"""Commands that build models and packages: export, train, quantize (the export extra: torch, transformers, onnx)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..data import Preset
from ..export.quantize import ActivationScales, CalibrationMethod, Target  # numpy only: quantize imports onnx lazily
from ..manifest import Pooling, Task
from ..recipe import TrainConfig
from ..variants import QUANTIZE_NAMES
from . import main
from ._common import (
    COUNT,
    DIR,
    FILE,
    FRACTION,
    PATH,
    bundle,
    choice,
    config_options,
    echo_json,
    flag,
    json_option,
    log,
    opt,
    step_bar,
    variant_option,
)


def _columns(preset: str | None, text_column: str | None, label_column: str | None, prompt_column: str | None) -> Any:
    from ..data import columns_for

    if not (preset or text_column or label_column or prompt_column):
        return None  # the reader's own default layout
    return columns_for(preset or Preset.TEXT, text=text_column, label=label_column, prompt=prompt_column)


def columns_options(preset_default: str | None) -> Any:
    """--preset and the column overrides, handed to the command as ``columns`` (a data.Columns, or None)."""
    return bundle(
        "columns",
        _columns,
        choice(
            "--preset",
            Preset,
            "Column layout: text (text, label); wildjailbreak (adversarial|vanilla, data_type); response (prompt, "
            "response, label).",
            default=preset_default,
        ),
        opt("--text-column", "Override the preset's text (or response) column."),
        opt("--label-column", "Override the preset's label column."),
        opt("--prompt-column", "Override the preset's prompt column (response judges)."),
    )


TASK_HELP = "What the model classifies: user prompts, or LLM responses"


@main.command()
@opt("--checkpoint", FILE, "Fine-tuned weights: best_model.pth (a state_dict) or .safetensors.", required=True)
@opt(
    "--backbone",
    DIR,
    "Local backbone folder: config.json + vocab.txt (WordPiece) or tokenizer.json + sentencepiece.bpe.model (XLM-R "
    "vocabulary).",
    required=True,
)
@opt("--out", PATH, "Package folder to write.", required=True)
@choice("--task", Task, f"{TASK_HELP}.", default=Task.PROMPT.value)
@choice(
    "--pooling",
    Pooling,
    "cls (BERT's pooler, SecBERT-PT) or mean (over the attention mask, e5) [default: from the checkpoint: pooler "
    "tensors -> cls, none -> mean]; mean over a checkpoint with an unused pooler is allowed, cls without one is not.",
)
@opt("--max-length", click.IntRange(min=8), "Max tokens per input [default: min(512, backbone's)].")
@opt("--opset", click.IntRange(min=17), "ONNX opset (>= 17).", default=17)
@opt("--threshold", "default_threshold", FRACTION, "Default decision threshold tau for the manifest.", default=0.5)
@opt("--ks-threshold", FRACTION, "KS-optimal threshold tau* if known (SecBERT-PT: 0.72); enables --threshold ks.")
@opt("--tolerance", float, "Max |P(ONNX) - P(PyTorch)| allowed; export fails above it.", default=1e-4)
@flag(
    "--tensorrt",
    "Also keep the unfused graph (standard ONNX ops) as the 'tensorrt' variant: TensorRT cannot parse ONNX Runtime's "
    "fused ops, and makes its own fp16/int8 engines from this graph.",
)
@flag("--force", "Replace an existing package at --out.")
@json_option("the written manifest")
def export(checkpoint: Path, backbone: Path, out: Path, as_json: bool, **settings: Any) -> None:
    """Export a checkpoint to a validated ONNX model package (needs the export extra).

    \b
    Example:
      secbert-edge export --checkpoint best_model.pth --backbone ./bert-base-portuguese-cased \\
          --out models/secbert-pt --ks-threshold 0.72
    """
    from ..export import export_package

    manifest = export_package(checkpoint, backbone, out, progress=log("export"), **settings)
    if as_json:
        return echo_json(manifest.to_dict())
    fp32 = manifest.variants["fp32"]
    click.echo(
        f"wrote {out}: {manifest.head.value} head, {manifest.pooling.value} pooling, {manifest.tokenizer['kind']} "
        f"tokenizer, max length {manifest.max_length}, fp32 max |dP| vs PyTorch "
        f"{fp32.parity['max_abs_diff']:.2e} on {len(fp32.parity['shapes'])} shapes, tokenizer parity on "
        f"{manifest.tokenizer['parity_texts_checked']} texts"
    )


def _scratch(vocab: Path | None, **architecture: int) -> dict | None:
    return None if vocab is None else {"vocab_file": vocab, **architecture}


@main.command()
@opt(
    "--data",
    FILE,
    "Labelled data (.csv/.tsv/.jsonl/.parquet); split 75/25 train/test + a validation share.",
    required=True,
)
@columns_options(preset_default=Preset.TEXT.value)
@opt(
    "--backbone",
    DIR,
    "Local backbone folder to fine-tune: config.json, model.safetensors and its tokenizer (vocab.txt, or "
    "tokenizer.json + sentencepiece.bpe.model).",
)
@bundle(
    "scratch",
    _scratch,
    opt("--vocab", FILE, "From scratch instead of --backbone: a WordPiece vocab.txt ..."),
    opt("--layers", COUNT, "... and the BERT's layers,", default=2),
    opt("--hidden", click.IntRange(min=8), "... hidden size,", default=128),
    opt("--heads", COUNT, "... and attention heads.", default=4),
)
@opt("--out", DIR, "Folder for best_model.pth, metrics.json and the splits.", required=True)
@choice("--task", Task, f"{TASK_HELP} [default: response when the columns include a prompt].")
@bundle("config", TrainConfig, *config_options(TrainConfig))
@opt("--test-fraction", FRACTION, "Share of the data held out for the test metrics.", default=0.25)
@opt("--validation-fraction", FRACTION, "Share used for early stopping and tau*.", default=0.1)
def train(
    data: Path,
    columns: Any,
    backbone: Path | None,
    scratch: dict | None,
    out: Path,
    task: str | None,
    config: Any,
    test_fraction: float,
    validation_fraction: float,
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
    import dataclasses

    from ..data import load_examples, stratified_split, write_jsonl
    from ..training import train as run_training
    from ..training import write_scratch_backbone

    if (backbone is None) == (scratch is None):
        raise click.UsageError(
            "give either --backbone (fine-tune) or --vocab (+ --layers/--hidden/--heads, from scratch)"
        )
    config = dataclasses.replace(config, task=task or (Task.RESPONSE if columns and columns.prompt else Task.PROMPT))
    splits = stratified_split(
        load_examples(data, columns), test=test_fraction, validation=validation_fraction, seed=config.seed
    )
    out.mkdir(parents=True, exist_ok=True)
    for part in ("train", "validation", "test"):
        write_jsonl(out / f"{part}.jsonl", getattr(splits, part))
    backbone = backbone or write_scratch_backbone(out / "backbone", **(scratch or {}))
    log("train")(f"{len(splits.train)} train / {len(splits.validation)} validation / {len(splits.test)} test")
    with step_bar("training") as progress:
        result = run_training(
            splits.train, splits.validation, backbone, out, config, test_set=splits.test, progress=progress
        )
    at = result.test.at if result.test is not None else None
    scores = f"; test F1 {at['default'].f1:.4f} at 0.5, {at['ks_optimal'].f1:.4f} at tau*" if at else ""
    auc = f"; AUC {result.test.auc:.4f}" if result.test is not None else ""
    click.echo(
        f"wrote {result.checkpoint}: best validation loss {result.best_val_loss:.4f} at step "
        f"{result.best_step}/{result.steps}; tau* {result.ks_threshold:.4f}{scores}{auc}"
    )
    click.echo(
        f"next: secbert-edge export --checkpoint {result.checkpoint} --backbone {backbone} --out PACKAGE "
        f"--task {config.task.value} --ks-threshold {result.ks_threshold:.4f}"
    )


@main.command()
@opt("--model", "model_dir", DIR, "The package to add a variant to (never an embedded default).", required=True)
@variant_option(
    choices=QUANTIZE_NAMES,
    help="The variant to build: int8 (dynamic), int8-static (QDQ, calibrated), fp16 (GPU), tensorrt-int8 (QDQ on the "
    "unfused TensorRT graph, calibrated).",
)
@opt(
    "--calibration",
    FILE,
    "Calibration texts for int8-static / tensorrt-int8, and for int8 --smooth (.txt/.jsonl/.csv/.tsv/.parquet).",
)
@opt(
    "--check-texts",
    FILE,
    "Texts the candidate is compared with fp32 on, beside random token shapes [default: the tokenizer's ~25 parity "
    "texts]: a few hundred of your own, both classes, when a few borderline texts decide the check (its flips are "
    "tested like verify's, exact binomial against 1%: 2 of ~40 inputs pass, 3 fail; 10 of ~600 pass).",
)
@opt("--text-column", "Column of a --calibration / --check-texts file.", default="text")
@choice("--method", CalibrationMethod, "Calibration method for int8-static / tensorrt-int8.", default="minmax")
@choice("--target", Target, "int8 kernel target [default: detected from this CPU]; sets reduce_range.")
@flag(
    "--force",
    "Replace a variant the package already has, and write a variant even when it misses its tolerance against fp32 "
    "(the manifest then records that it missed).",
)
@flag(
    "--drop-fp32",
    "int8 / int8-static: once the variant passed its check, delete model.onnx and make it the default variant (the "
    "manifest keeps fp32's measurements under not_shipped): the smallest package. No variant can be added afterwards.",
)
@opt(
    "--keep-fp32",
    "int8 (dynamic): leave these groups of MatMuls in fp32, comma-separated: ffn-out (the feed-forward output "
    "matrices, which read the widest activation outliers), ffn-in, attention-out; GROUP@LAYERS for some layers only "
    "(ffn-in@0-3, ffn-out@0+2: layers from 0). For a model whose all-int8 variant misses its check; each matrix "
    "costs size and speed (e5-small: 1.8 MB each; the first layers' feed-forward matrices lose the most in int8).",
    default="",
)
@choice(
    "--activation-scales",
    ActivationScales,
    "int8 (dynamic): per-batch is ONNX Runtime's recipe, one input scale over the whole call, so the runtime scores "
    "the variant one text at a time; per-text scales each text alone, so batches are exact and serve and lists batch "
    "it (BERTimbau-base: as fast one text a call, 1.2x the texts/s in batches of 8).",
    default="per-batch",
)
@flag(
    "--refresh",
    "Rewrite the package's existing int8 variant with this version's graph passes instead of building it (today: "
    "SkipLayerNormalization as Add + LayerNormalization, 1.2-1.4x faster on CPU with onnxruntime 1.32; variants "
    "quantized now get it already). Checked against fp32, or in a package without fp32 against the file it "
    "replaces (max |dP| <= 0.05); needs no checkpoint.",
)
@opt(
    "--smooth",
    click.FloatRange(0, 1, min_open=True, max_open=True),
    "int8 (dynamic): SmoothQuant the feed-forward MatMuls with this alpha (0.8-0.85 measured best) before quantizing, "
    "their activations' max per channel measured on --calibration texts: all-int8 where those MatMuls would "
    "otherwise stay fp32 (the e5 guard student: max |dP| 0.09-0.12 instead of 0.29, 1.4x faster than 7 left fp32).",
)
def quantize(
    model_dir: Path,
    variant: str | None,
    calibration: Path | None,
    check_texts: Path | None,
    text_column: str,
    method: str,
    target: str | None,
    force: bool,
    drop_fp32: bool,
    keep_fp32: str,
    activation_scales: str,
    refresh: bool,
    smooth: float | None,
) -> None:
    """Add an int8 or fp16 variant to a package, checked against its fp32 variant (the quantize extra: onnx).

    int8 (dynamic): per-channel int8 weights on the fused graph; with per-batch activation scales (ORT's recipe) the
    runtime runs it one text at a time so a text's score never depends on its batch-mates; with per-text scales
    (--activation-scales per-text) each text is quantized alone and batches are exact. int8-static: QDQ with
    calibrated scales. fp16: for GPU providers, with float32 inputs/outputs and LayerNorms kept in fp32.
    tensorrt-int8: TensorRT's int8 rules on the unfused graph.

    The candidate is compared with fp32 on the parity texts and random token shapes; it is refused (a failed gate,
    nothing written) when its max |dP| or its label flips at tau / tau* exceed the variant's check: int8, int8-static,
    tensorrt-int8: |dP| <= 0.15 and <= 1% flips; fp16: |dP| <= 1e-2 and <= 0.5% flips.

    \b
    Examples:
      secbert-edge quantize --model models/secbert-pt --variant int8
      secbert-edge quantize --model models/e5-guard --variant int8 --drop-fp32
      secbert-edge quantize --model models/e5-guard --variant int8 --keep-fp32 ffn-out --drop-fp32
      secbert-edge quantize --model models/e5-guard --variant int8 --keep-fp32 ffn-in@0-3,ffn-out@0-2 --drop-fp32
      secbert-edge quantize --model models/e5-guard --variant int8 --check-texts my-600-prompts.jsonl
      secbert-edge quantize --model models/e5-guard --variant int8 --smooth 0.85 --calibration prompts.txt --drop-fp32
      secbert-edge quantize --model bertimbau-pkg --variant int8 --activation-scales per-text
      secbert-edge quantize --model models/secbert-pt --variant int8-static --calibration prompts.txt
      secbert-edge quantize --model models/secbert-pt --variant fp16
      secbert-edge quantize --model models/secbert-pt --variant tensorrt-int8 --calibration prompts.txt
      secbert-edge quantize --model old-pkg --variant int8 --refresh
    """
    from ..export.quantize import add_variant, refresh_variant
    from ..runtime.defaults import is_embedded
    from ..textio import read_texts

    if refresh:
        given = [
            name
            for name, value in (
                ("--calibration", calibration),
                ("--force", force),
                ("--drop-fp32", drop_fp32),
                ("--keep-fp32", keep_fp32),
                ("--smooth", smooth),
                ("--target", target),
                ("--activation-scales", activation_scales != "per-batch"),
            )
            if value
        ]
        if given:
            raise click.UsageError(
                f"--refresh rewrites the variant the package has, as it was quantized: drop {', '.join(given)}"
            )
        variant = variant or "int8"
    if variant is None:
        raise click.UsageError("choose the variant to build with --variant (" + ", ".join(QUANTIZE_NAMES) + ")")
    if variant in ("int8-static", "tensorrt-int8") and calibration is None:
        raise click.UsageError(f"--variant {variant} needs --calibration FILE (a few hundred representative texts)")
    if smooth is not None and calibration is None:
        raise click.UsageError("--smooth needs --calibration FILE (a few hundred representative texts, both classes)")
    if is_embedded(model_dir):
        raise click.UsageError(
            f"--model {model_dir} is an embedded default package, which quantize would rewrite in place; copy it "
            f"first (cp -r {model_dir} my-model) and quantize the copy"
        )
    texts = read_texts(calibration, text_column) if calibration else []
    check = read_texts(check_texts, text_column) if check_texts else []
    if check_texts and not check:
        raise click.UsageError(f"--check-texts {check_texts} holds no texts (column {text_column!r})")
    if refresh:
        manifest, count = refresh_variant(model_dir, variant, check_texts=check, log=log("quantize"))
        entry = manifest.variants[variant]
        if count:
            click.echo(
                f"refreshed {entry.file}: {count} SkipLayerNormalization nodes unfused (sha256 {entry.sha256[:12]})"
            )
        else:
            click.echo(f"{entry.file} is already current: nothing written")
        return
    manifest = add_variant(
        model_dir,
        variant,
        calibration_texts=texts,
        check_texts=check,
        method=method,
        target=target,
        force=force,
        drop_fp32=drop_fp32,
        keep_fp32=[g.strip() for g in keep_fp32.split(",") if g.strip()],
        activation_scales=activation_scales,
        smooth=smooth,
        log=log("quantize"),
    )
    v = manifest.variants[variant]
    missed = "" if v.parity.get("passed", True) else f" -- MISSED its tolerance ({'; '.join(v.parity['failures'])})"
    click.echo(
        f"added {variant} variant {v.file} ({(model_dir / v.file).stat().st_size / 1e6:.1f} MB) to {model_dir}: "
        f"max |dP| vs fp32 {v.parity['max_abs_diff']:.2e}, label flips {v.parity.get('flips')} on "
        f"{v.parity.get('inputs')} inputs{missed}; gate it on labelled data with `secbert-edge verify`"
    )

"""Build the embedded default models: one deterministic command, ``python models/build_demo.py``.

Each demo is a small BERT trained from scratch with ``secbert_edge.training`` on pt-BR data from
``secbert_edge.synthetic`` with a WordPiece vocabulary trained here, then exported like any checkpoint.
They demonstrate the pipeline; they are not substitutes for SecBERT-PT or a SecureBreak-trained judge.
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from . import __version__, synthetic
from .data import Example, stratified_split, write_jsonl
from .export import export_package
from .errors import ParityError
from .export.quantize import add_variant
from .export.tokenizer import train_wordpiece_vocab
from .manifest import Task
from .runtime.defaults import DEFAULT_PROMPT_MODEL, DEFAULT_RESPONSE_MODEL
from .training import TrainConfig, train, write_scratch_backbone
from .verify import verify


@dataclasses.dataclass(frozen=True)
class DemoSpec:
    name: str
    task: Task
    generated: int  # examples generated before de-duplication and class balancing
    seed: int
    vocab_size: int = 4000
    layers: int = 2
    hidden: int = 128
    heads: int = 4
    intermediate: int = 512
    # From-scratch training needs a larger step than fine-tuning (the recipe's 2e-5 is for a pretrained BERT).
    train: TrainConfig = TrainConfig(lr=5e-4, epochs=3, eval_every=25)


DEMOS = {
    DEFAULT_PROMPT_MODEL: DemoSpec(DEFAULT_PROMPT_MODEL, Task.PROMPT, generated=8000, seed=7),
    DEFAULT_RESPONSE_MODEL: DemoSpec(
        DEFAULT_RESPONSE_MODEL, Task.RESPONSE, generated=6000, seed=11,
        train=TrainConfig(lr=5e-4, epochs=3, eval_every=25, task=Task.RESPONSE),
    ),
}


def balanced_unique(examples: list[Example], seed: int) -> list[Example]:
    """Drop duplicates (so no text sits in both train and test), then subsample to equal classes."""
    unique = list({(e.prompt, e.text): e for e in examples}.values())
    by_label = {label: [e for e in unique if e.label == label] for label in (0, 1)}
    n = min(len(v) for v in by_label.values())
    rng = random.Random(seed)
    out = [e for group in by_label.values() for e in rng.sample(group, n)]
    rng.shuffle(out)
    return out


PINNED_VOCAB = "demo-vocab.txt"


def demo_vocab(models_dir: Path, *, retrain: bool = False, size: int = 4000, seed: int = 7) -> Path:
    """The demos' WordPiece vocabulary, pinned in models/demo-vocab.txt.

    `tokenizers`' WordPiece trainer breaks frequency ties in hash-map order, which changes from process to
    process, so retraining gives a slightly different vocabulary each time. It is trained once (``retrain``)
    and pinned, which makes every rebuild of the demos deterministic.
    """
    path = models_dir / PINNED_VOCAB
    if retrain or not path.is_file():
        train_wordpiece_vocab(synthetic.corpus(seed), size, path)
    return path


def build_demo(spec: DemoSpec, models_dir: Path, *, retrain_vocab: bool = False, log: Callable[[str], None] = print) -> dict:
    """Generate data, train the model on the pinned vocabulary, export to models_dir/<name>; returns the metrics."""
    started = time.perf_counter()
    source = models_dir / "src" / spec.name  # what verify needs later: checkpoint, backbone folder, data splits
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    generate = synthetic.generate_prompts if spec.task is Task.PROMPT else synthetic.generate_responses
    examples = balanced_unique(generate(spec.generated, spec.seed), spec.seed)
    splits = stratified_split(examples, test=0.25, validation=0.1, seed=spec.seed)
    for part in ("train", "validation", "test"):
        write_jsonl(source / f"{part}.jsonl", getattr(splits, part))
    log(f"[{spec.name}] {len(examples)} examples: {len(splits.train)} train / {len(splits.validation)} validation "
        f"/ {len(splits.test)} test")
    vocab = demo_vocab(models_dir, retrain=retrain_vocab, size=spec.vocab_size)
    backbone = write_scratch_backbone(
        source / "backbone", vocab, layers=spec.layers, hidden=spec.hidden, heads=spec.heads,
        intermediate=spec.intermediate,
    )

    def progress(step, total, loss):
        if step % 50 == 0 or step == total:
            log(f"[{spec.name}] step {step}/{total} loss {loss:.4f}")

    result = train(splits.train, splits.validation, backbone, source, spec.train, test_set=splits.test, progress=progress)
    manifest = export_package(
        source / "best_model.pth", backbone, models_dir / spec.name, task=spec.task,
        ks_threshold=round(result["ks_threshold"], 4), force=True,
    )
    log(f"[{spec.name}] adding the int8 variant and gating it with verify")
    add_variant(models_dir / spec.name, "int8")
    gate = verify(models_dir / spec.name, source / "best_model.pth", backbone, source / "test.jsonl", use_cache=False)
    if not gate["passed"]:
        failures = {k: v["failures"] for k, v in gate["variants"].items() if v["failures"]}
        raise ParityError(f"{spec.name}: a variant failed the verify gate: {failures}")
    result["verify"] = {name: {k: v[k] for k in ("max_abs_diff", "mean_abs_diff", "flip_rate", "drift_pp")}
                        for name, v in gate["variants"].items()}
    result["build_seconds"] = round(time.perf_counter() - started, 1)
    result["package"] = {
        "files": {p.name: p.stat().st_size for p in sorted((models_dir / spec.name).iterdir()) if p.name != "README.md"},
        "fp32_parity": manifest.variants["fp32"].parity["max_abs_diff"],
        "secbert_edge": __version__,
    }
    (source / "metrics.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    write_model_card(spec, result, models_dir / spec.name / "README.md")
    log(f"[{spec.name}] done in {result['build_seconds']} s")
    return result


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def write_model_card(spec: DemoSpec, result: dict, path: Path) -> None:
    test = result["test"]
    rows = "\n".join(
        f"| {name} ({m['threshold']:.3f}) | {_pct(m['accuracy'])} | {_pct(m['precision'])} | {_pct(m['recall'])} | "
        f"{_pct(m['f1'])} | {_pct(m['fpr'])} |"
        for name, m in test["at"].items()
    )
    files = "\n".join(f"- `{name}`: {size / 1e6:.2f} MB" for name, size in result["package"]["files"].items())
    gate = "\n".join(
        f"  - {name}: max |dP| {v['max_abs_diff']:.1e}, mean {v['mean_abs_diff']:.1e}, label flips "
        f"{100 * v['flip_rate']['tau']:.2f}% at 0.5 and {100 * v['flip_rate']['tau*']:.2f}% at tau*, F1 drift "
        f"{v['drift_pp']['f1@tau']:+.2f} pp, AUC drift {v['drift_pp']['auc']:+.2f} pp"
        for name, v in result["verify"].items()
    )
    what = "pt-BR prompts (harmful / benign)" if spec.task is Task.PROMPT else "LLM responses with their prompts (unsafe / safe)"
    path.write_text(
        f"""# {spec.name} — a demo of the secbert-edge pipeline

**This is not SecBERT-PT** and not a substitute for it or for a SecureBreak-trained judge. It is a small BERT
trained from scratch on synthetic data that this project generates, so that the package's main command has
a real trained model to run on a machine with nothing downloaded. Its scores on real traffic mean little.

- Task: `{spec.task.value}` — {what}.
- Data: `secbert_edge.synthetic` (seed {spec.seed}), {spec.generated} generated, de-duplicated and balanced to
  {result['train_examples'] + result['validation_examples'] + test['n']} examples; stratified 75% / 25% train+validation / test,
  validation = 10% of the whole for early stopping. Splits: `models/src/{spec.name}/*.jsonl`.
- Vocabulary: cased WordPiece, {spec.vocab_size} tokens, trained with `tokenizers` on the generator's text and
  pinned in `models/demo-vocab.txt` (the trainer is not deterministic across processes).
- Model: BertMLPClassifier — BERT {spec.layers} layers, hidden {spec.hidden}, {spec.heads} heads, intermediate
  {spec.intermediate}, max length 512; head Linear({spec.hidden},128) -> ReLU -> Linear(128,1) + sigmoid;
  {result['parameters']:,} parameters.
- Training: `secbert_edge.training` — AdamW lr {spec.train.lr} (from scratch; the recipe's 2e-5 is for
  fine-tuning a pretrained BERT), batch {spec.train.batch_size}, warm-up 10% + linear decay, {spec.train.epochs} epochs,
  early stopping on validation loss (patience {spec.train.patience} evaluations every {spec.train.eval_every} steps);
  best step {result['best_step']} of {result['steps']}, {result['train_seconds']} s on 2 CPU cores.
- tau* (KS-optimal on validation): {result['ks_threshold']:.4f}.
- Package: fp32 (fused) ONNX, max |dP| vs PyTorch {result['package']['fp32_parity']:.1e} on the export's validation
  shapes; int8 (dynamic, per-channel, fused graph). Verified on the test split against the PyTorch model:
{gate}
{files}

## Held-out test metrics ({test['n']} examples, {test['positives']} positive)

| threshold | acc | precision | recall | F1 | FPR |
|---|---|---|---|---|---|
{rows}

AUC {_pct(test['auc'])}, KS {_pct(test['ks'])}. The synthetic data is template-built and nearly separable: these
numbers show the pipeline works end to end, not how well a model detects real jailbreaks.

Rebuild (deterministic for a given machine and library versions): `python models/build_demo.py`
""",
        encoding="utf-8",
    )


def build_all(models_dir: Path, names=None, *, retrain_vocab: bool = False, log: Callable[[str], None] = print) -> dict:
    if retrain_vocab:
        demo_vocab(models_dir, retrain=True)
    return {name: build_demo(DEMOS[name], models_dir, log=log) for name in (names or DEMOS)}

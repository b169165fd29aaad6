"""SecBERT-PT's training recipe (export extra: torch + transformers).

Defaults are the paper's: AdamW, lr 2e-5, batch 20, max length 512, linear warm-up over 10% of the steps
then linear decay, early stopping on validation loss with patience 20 (counted in evaluations). Full
fine-tuning, or ``freeze_backbone`` to train the MLP head only. The backbone is a local folder (with weights
to fine-tune, as BERTimbau) or a BertConfig built here for from-scratch training.

Inputs are encoded with the package's own tokenizer and the runtime's own fitting functions, so training
and inference see identical token sequences. The result is ``best_model.pth`` in exactly the layout
``load_checkpoint`` reads, plus ``metrics.json`` with the validation curve and the tau* found on validation.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import metrics
from .data import Example
from .errors import CheckpointError, ConfigError, InputError, require
from .manifest import Pooling
from .modeling import POOLER_KEYS, BertMLPClassifier, load_backbone_config, torch, transformers
from .recipe import TrainConfig
from .reference import batches, encode_examples

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What a training run produced and measured (metrics.json holds :meth:`to_dict`)."""

    checkpoint: Path  # best_model.pth: the weights of the best validation loss
    config: TrainConfig
    backbone: str
    pretrained_backbone: bool
    pooling: str  # cls | mean: what the model was trained with (also told by the checkpoint: pooler tensors or none)
    parameters: int
    train_examples: int
    validation_examples: int
    steps: int
    best_step: int
    stopped_early: bool
    initial_val_loss: float
    best_val_loss: float
    train_seconds: float
    ks_threshold: float  # tau*, found on the validation split
    history: tuple[dict, ...]  # {"step", "train_loss", "val_loss"} per evaluation
    validation: metrics.Summary  # at "default" (0.5) and "ks_optimal" (tau*)
    test: metrics.Summary | None  # the same on the test split, when one was given

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["checkpoint"] = str(self.checkpoint)
        pooling = self.config.pooling.value if self.config.pooling is not None else None
        data["config"] = {**dataclasses.asdict(self.config), "task": self.config.task.value, "pooling": pooling}
        data["history"] = list(self.history)
        return data


def write_scratch_backbone(
    folder: str | Path,
    vocab_file: str | Path,
    *,
    layers: int,
    hidden: int,
    heads: int,
    intermediate: int | None = None,
    max_position: int = 512,
) -> Path:
    """A backbone folder for from-scratch training: config.json + vocab.txt + tokenizer_config.json (cased)."""
    folder = Path(folder)
    if hidden % heads:
        raise ConfigError(f"hidden size {hidden} must be divisible by the number of heads {heads}")
    folder.mkdir(parents=True, exist_ok=True)
    vocab = Path(vocab_file).read_text(encoding="utf-8").removesuffix("\n").split("\n")  # one token per \n line
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False}), encoding="utf-8")
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate or 4 * hidden,
        max_position_embeddings=max_position,
    )
    config.to_json_file(str(folder / "config.json"))
    return folder


def backbone_weights(backbone: str | Path) -> Path | None:
    """The pretrained weights file of a backbone folder, if it has one."""
    return next((Path(backbone) / name for name in WEIGHT_FILES if (Path(backbone) / name).is_file()), None)


def weight_names(path: Path) -> list[str]:
    """The tensor names of a weights file (safetensors: read from its header; .bin: loaded with weights_only)."""
    if path.suffix == ".safetensors":
        safetensors = require("safetensors", "export", "Reading backbone weights")
        with safetensors.safe_open(str(path), framework="pt") as fh:
            return list(fh.keys())
    return list(torch.load(str(path), map_location="cpu", weights_only=True))


def training_pooling(backbone: str | Path, requested: Pooling | None) -> Pooling:
    """The pooling to fine-tune with: as asked; else mean when the backbone's weights hold no pooler (e5, which was
    trained mean-pooled), cls otherwise (SecBERT-PT's, and from-scratch models: their pooler trains with them)."""
    if requested is not None:
        return Pooling(requested)
    weights = backbone_weights(backbone)
    if weights is None:
        return Pooling.CLS
    has_pooler = any(name.endswith(POOLER_KEYS[0]) for name in weight_names(weights))
    return Pooling.CLS if has_pooler else Pooling.MEAN


def build_model(backbone: str | Path, config: TrainConfig) -> tuple[BertMLPClassifier, bool]:
    """The classifier, with the backbone folder's pretrained weights when it has them. (model, pretrained).

    The pooling is :func:`training_pooling`'s. A cls model over a backbone without a pooler starts that pooler from
    random weights (it trains with the rest); a mean model leaves a backbone's pooler out."""
    backbone = Path(backbone)
    bert_config = load_backbone_config(backbone)
    pooling = training_pooling(backbone, config.pooling)
    torch.manual_seed(config.seed)
    model = BertMLPClassifier(
        bert_config, head_hidden=config.head_hidden, num_labels=config.num_labels, pooling=pooling
    )
    pretrained = backbone_weights(backbone) is not None
    if pretrained:
        # A local folder path, never a hub id: nothing is downloaded.
        loaded = transformers.BertModel.from_pretrained(
            str(backbone), local_files_only=True, attn_implementation="eager", add_pooling_layer=pooling is Pooling.CLS
        )
        missing, unexpected = model.bert.load_state_dict(loaded.state_dict(), strict=False)
        if missing or unexpected:
            raise CheckpointError(
                f"{backbone}: backbone weights do not fit its config: missing {missing}, unexpected {unexpected}"
            )
    if config.freeze_backbone:
        for p in model.bert.parameters():
            p.requires_grad_(False)
    return model, pretrained


def labelled_batches(encoded, labels, batch_size: int, rng: random.Random | None):
    """(input_ids, attention_mask, token_type_ids, labels) tensors per batch (shuffled with ``rng``)."""
    for idx, ids, mask, types in batches(encoded, batch_size, rng):
        yield ids, mask, types, torch.tensor([labels[i] for i in idx], dtype=torch.float32)


def bucketed_batches(encoded, labels, batch_size: int, rng: random.Random):
    """Like :func:`labelled_batches`, but each batch holds texts of similar length: shuffle, sort within windows of 50
    batches by length, cut into batches, shuffle the batches."""
    order = list(range(len(encoded)))
    rng.shuffle(order)
    window = batch_size * 50
    chunks = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: len(encoded[i][0]))
        chunks += [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(chunks)
    for idx in chunks:
        yield from labelled_batches([encoded[i] for i in idx], [labels[i] for i in idx], len(idx), None)


def optimizer_step(loss, params, optimizer, scheduler) -> float:
    """One step of the recipe: backward, clip the gradient norm at 1, AdamW step, schedule step; the loss value."""
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()
    scheduler.step()
    return float(loss.item())


def classification_loss(model: BertMLPClassifier, logits, y):
    """BCE on the logit (sigmoid head) or cross-entropy (softmax head)."""
    if model.num_labels == 1:
        return torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], y)
    return torch.nn.functional.cross_entropy(logits, y.long())


def evaluate(model: BertMLPClassifier, encoded, labels, batch_size: int = 64) -> tuple[float, list[float]]:
    """(mean loss, P(positive) per example)."""
    model.eval()
    total, scores = 0.0, []
    with torch.no_grad():
        for ids, mask, types, y in labelled_batches(encoded, labels, batch_size, None):
            logits = model(ids, mask, types)
            total += float(classification_loss(model, logits, y)) * len(y)
            scores.extend(model.probability(logits).tolist())
    return total / len(labels), scores


def train(
    train_set: Sequence[Example],
    validation_set: Sequence[Example],
    backbone: str | Path,
    out: str | Path,
    config: TrainConfig = TrainConfig(),
    *,
    test_set: Sequence[Example] | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> TrainResult:
    """Train, keep the weights of the best validation loss, write best_model.pth + metrics.json; return the result."""
    for name, part in (("training", train_set), ("validation", validation_set)):
        if len({e.label for e in part}) < 2:
            raise InputError(
                f"the {name} set needs both classes (has {len(part)} examples, "
                f"labels {sorted({e.label for e in part})})"
            )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    model, pretrained = build_model(backbone, config)
    max_length = min(config.max_length, model.config.max_position_embeddings)
    train_enc = encode_examples(train_set, backbone, max_length)
    val_enc = encode_examples(validation_set, backbone, max_length)
    train_y, val_y = [e.label for e in train_set], [e.label for e in validation_set]

    steps_per_epoch = math.ceil(len(train_set) / config.batch_size)
    total_steps = config.max_steps or steps_per_epoch * config.epochs
    warmup = int(total_steps * config.warmup_fraction)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, warmup, total_steps)

    initial_loss, _ = evaluate(model, val_enc, val_y)
    history = [{"step": 0, "train_loss": None, "val_loss": initial_loss}]
    best_loss, best_state, best_step, stale, step = math.inf, None, 0, 0, 0
    started = time.perf_counter()
    stopped_early = False
    while step < total_steps and not stopped_early:
        draw = bucketed_batches if config.length_bucketing else labelled_batches
        for ids, mask, types, y in draw(train_enc, train_y, config.batch_size, rng):
            model.train()
            loss_value = optimizer_step(
                classification_loss(model, model(ids, mask, types), y), params, optimizer, scheduler
            )
            step += 1
            if progress:
                progress(step, total_steps, loss_value)
            if step % config.eval_every == 0 or step == total_steps:
                val_loss, _ = evaluate(model, val_enc, val_y)
                history.append({"step": step, "train_loss": loss_value, "val_loss": val_loss})
                if val_loss < best_loss:
                    best_loss, best_step, stale = val_loss, step, 0
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    stale += 1
                    if stale >= config.patience:
                        stopped_early = True
                        break
            if step >= total_steps:
                break
    seconds = time.perf_counter() - started
    model.load_state_dict(best_state)
    torch.save(model.state_dict(), out / "best_model.pth")

    _, val_scores = evaluate(model, val_enc, val_y)
    _, tau_star = metrics.ks(val_y, val_scores)
    thresholds = {"default": 0.5, "ks_optimal": tau_star}
    test = None
    if test_set:
        test_enc = encode_examples(test_set, backbone, max_length)
        test_y = [e.label for e in test_set]
        _, test_scores = evaluate(model, test_enc, test_y)
        test = metrics.summary(test_y, test_scores, thresholds)
    result = TrainResult(
        checkpoint=out / "best_model.pth",
        config=config,
        backbone=Path(backbone).name,
        pretrained_backbone=pretrained,
        pooling=model.pooling.value,
        parameters=sum(p.numel() for p in model.parameters()),
        train_examples=len(train_set),
        validation_examples=len(validation_set),
        steps=step,
        best_step=best_step,
        stopped_early=stopped_early,
        initial_val_loss=initial_loss,
        best_val_loss=best_loss,
        train_seconds=round(seconds, 1),
        ks_threshold=tau_star,
        history=tuple(history),
        validation=metrics.summary(val_y, val_scores, thresholds),
        test=test,
    )
    (out / "metrics.json").write_text(json.dumps(result.to_dict(), indent=2), encoding="utf-8")
    return result

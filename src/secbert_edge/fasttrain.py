"""Length-bucketed training for the embedded defaults (export extra: torch + transformers).

The same recipe as :func:`secbert_edge.training.train` (AdamW, warm-up + linear decay, early stopping on
validation loss, ``best_model.pth`` + ``metrics.json`` in the same layout), but batches are drawn from
length-sorted chunks, so a batch is padded to the length of similar texts instead of the longest text in a random
draw. With real text of mixed lengths this cuts the tokens computed per epoch several-fold, which is what keeps a
default's rebuild within minutes on two CPU cores.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from . import metrics
from .data import Example
from .errors import InputError
from .modeling import torch, transformers
from .runtime.bucketing import pad_batch
from .training import TrainConfig, _loss, build_model, encode_examples, evaluate


def bucketed_batches(encoded, labels, batch_size: int, rng: random.Random) -> Iterator[tuple]:
    """Shuffle, sort within windows of 50 batches by length, cut into batches, shuffle the batches."""
    order = list(range(len(encoded)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: len(encoded[i][0]))
        batches += [chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    for idx in batches:
        seqs = [encoded[i][0] for i in idx]
        ids, mask, types = pad_batch(seqs, max(len(s) for s in seqs), 0, [encoded[i][1] for i in idx])
        yield (torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types),
               torch.tensor([labels[i] for i in idx], dtype=torch.float32))


def train_bucketed(
    train_set: Sequence[Example], validation_set: Sequence[Example], backbone: str | Path, out: str | Path,
    config: TrainConfig, *, test_set: Sequence[Example] | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> dict:
    """Train, keep the weights of the best validation loss, write best_model.pth + metrics.json; return metrics."""
    for name, part in (("training", train_set), ("validation", validation_set)):
        if len({e.label for e in part}) < 2:
            raise InputError(f"the {name} set needs both classes (has {len(part)} examples)")
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
    total_steps = config.max_steps or math.ceil(len(train_set) / config.batch_size) * config.epochs
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    warmup = int(total_steps * config.warmup_fraction)
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, warmup, total_steps)
    initial_loss, _ = evaluate(model, val_enc, val_y)
    history = [{"step": 0, "train_loss": None, "val_loss": initial_loss}]
    best_loss, best_state, best_step, stale, step, stopped_early = math.inf, None, 0, 0, 0, False
    started = time.perf_counter()
    while step < total_steps and not stopped_early:
        for ids, mask, types, y in bucketed_batches(train_enc, train_y, config.batch_size, rng):
            model.train()
            loss = _loss(model, model(ids, mask, types), y)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            if progress:
                progress(step, total_steps, loss.item())
            if step % config.eval_every == 0 or step == total_steps:
                val_loss, _ = evaluate(model, val_enc, val_y)
                history.append({"step": step, "train_loss": loss.item(), "val_loss": val_loss})
                if val_loss < best_loss:
                    best_loss, best_step, stale = val_loss, step, 0
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    stale += 1
                    stopped_early = stale >= config.patience
                    if stopped_early:
                        break
            if step >= total_steps:
                break
    seconds = time.perf_counter() - started
    model.load_state_dict(best_state)
    torch.save(model.state_dict(), out / "best_model.pth")
    _, val_scores = evaluate(model, val_enc, val_y)
    _, tau_star = metrics.ks(val_y, val_scores)
    result = {
        "config": {**dataclasses.asdict(config), "task": config.task.value}, "batching": "length-bucketed",
        "backbone": Path(backbone).name, "pretrained_backbone": pretrained,
        "parameters": sum(p.numel() for p in model.parameters()), "train_examples": len(train_set),
        "validation_examples": len(validation_set), "steps": step, "best_step": best_step,
        "stopped_early": stopped_early, "initial_val_loss": initial_loss, "best_val_loss": best_loss,
        "train_seconds": round(seconds, 1), "ks_threshold": tau_star, "history": history,
        "validation": metrics.summary(val_y, val_scores, {"default": 0.5, "ks_optimal": tau_star}),
    }
    if test_set:
        test_enc = encode_examples(test_set, backbone, max_length)
        test_y = [e.label for e in test_set]
        _, test_scores = evaluate(model, test_enc, test_y)
        result["test"] = metrics.summary(test_y, test_scores, {"default": 0.5, "ks_optimal": tau_star})
    (out / "metrics.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result

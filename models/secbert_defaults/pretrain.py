"""Masked-language-model pretraining of a small from-scratch encoder on real text (the default guard's recipe).

A 2-layer BERT trained from scratch on a classification task only ever sees the classifier's examples; a short
MLM pass over real pt-BR text first teaches it the language of ordinary messages (slang, typos, emoji, tweets)
before fine-tuning. :func:`mlm_pretrain` writes a backbone folder with weights (``model.safetensors``, config,
vocabulary) that :func:`secbert_edge.training.train` loads like any pretrained backbone. Seeded; deterministic for a
given machine and library versions.
"""

from __future__ import annotations

import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from secbert_edge.errors import InputError
from secbert_edge.export.tokenizer import build_tokenizer
from secbert_edge.modeling import torch, transformers
from secbert_edge.runtime.bucketing import pad_batch


def mask_tokens(
    ids: torch.Tensor, special: torch.Tensor, vocab_size: int, mask_id: int, generator: torch.Generator, p: float = 0.15
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: ``p`` of the (non-special) tokens are targets; of those 80% become [MASK], 10% a random
    token, 10% stay. (inputs, labels with -100 where no target)."""
    labels = ids.clone()
    chosen = (torch.rand(ids.shape, generator=generator) < p) & ~special
    labels[~chosen] = -100
    inputs = ids.clone()
    r = torch.rand(ids.shape, generator=generator)
    inputs[chosen & (r < 0.8)] = mask_id
    rand = chosen & (r >= 0.8) & (r < 0.9)
    inputs[rand] = torch.randint(vocab_size, ids.shape, generator=generator)[rand]
    return inputs, labels


def mlm_pretrain(
    backbone: str | Path,
    texts: Sequence[str],
    out: str | Path,
    *,
    steps: int = 1500,
    batch_size: int = 32,
    max_length: int = 128,
    lr: float = 1e-3,
    seed: int = 7,
    progress: Callable[[int, int, float], None] | None = None,
) -> Path:
    """Pretrain the backbone folder's (config + vocabulary) encoder with MLM on ``texts``; write the weights, config
    and tokenizer files to ``out`` and return it."""
    backbone, out = Path(backbone), Path(out)
    if not texts:
        raise InputError("MLM pretraining needs texts")
    tokenizer, settings = build_tokenizer(backbone)
    cls, sep = settings["cls_id"], settings["sep_id"]
    vocab = tokenizer.get_vocab()
    mask_id, pad_id = vocab["[MASK]"], vocab["[PAD]"]
    encoded = [
        [cls, *e.ids[: max_length - 2], sep]
        for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)
        if len(e.ids) >= 3
    ]
    config = transformers.BertConfig.from_json_file(str(backbone / "config.json"))
    torch.manual_seed(seed)
    model = transformers.BertForMaskedLM(config)
    rng = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, int(0.06 * steps), steps)
    order: list[int] = []
    started, step = time.perf_counter(), 0
    model.train()
    while step < steps:
        if len(order) < batch_size:
            order = list(range(len(encoded)))
            rng.shuffle(order)
        idx, order = order[:batch_size], order[batch_size:]
        rows = [encoded[i] for i in idx]
        ids_np, mask_np, _ = pad_batch(rows, max(len(r) for r in rows), pad_id, [[0] * len(r) for r in rows])
        ids, attention = torch.from_numpy(ids_np), torch.from_numpy(mask_np)
        special = (ids == cls) | (ids == sep) | (attention == 0)
        inputs, labels = mask_tokens(ids, special, config.vocab_size, mask_id, generator)
        hidden = model.bert(input_ids=inputs, attention_mask=attention).last_hidden_state
        targets = labels != -100  # the vocabulary projection only where there is a target (the costly part)
        if not bool(targets.any()):
            continue
        loss = torch.nn.functional.cross_entropy(model.cls(hidden[targets]), labels[targets])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        step += 1
        value = float(loss.item())
        if progress and not math.isnan(value):
            progress(step, steps, value)
    out.mkdir(parents=True, exist_ok=True)
    model.bert.save_pretrained(str(out))
    for name in ("vocab.txt", "tokenizer_config.json"):
        shutil.copyfile(backbone / name, out / name)
    (out / "pretrain.txt").write_text(
        f"MLM: {len(encoded)} texts, {steps} steps x {batch_size}, max length {max_length}, lr {lr}, seed {seed}, "
        f"{time.perf_counter() - started:.0f} s\n",
        encoding="utf-8",
    )
    return out

"""MLM pretraining of a small encoder, then fine-tuning from it (the default guard's optional first stage)."""

from __future__ import annotations

import torch

from conftest import DEMO_VOCAB
from secbert_defaults import pretrain
from secbert_edge import synthetic
from secbert_edge.data import stratified_split
from secbert_edge.training import TrainConfig, train, write_scratch_backbone


def test_mask_tokens_never_masks_specials():
    ids = torch.arange(40).reshape(2, 20) + 5
    special = torch.zeros_like(ids, dtype=torch.bool)
    special[:, 0] = True
    inputs, labels = pretrain.mask_tokens(ids, special, 100, 3, torch.Generator().manual_seed(0), p=0.5)
    assert (labels[:, 0] == -100).all() and (inputs[:, 0] == ids[:, 0]).all()
    targets = labels != -100
    assert targets.any() and (labels[targets] == ids[targets]).all()


def test_pretrain_then_fine_tune(tmp_path):
    backbone = write_scratch_backbone(tmp_path / "scratch", DEMO_VOCAB, layers=1, hidden=32, heads=2, intermediate=64)
    texts = [e.text for e in synthetic.generate_prompts(60, seed=2)]
    out = pretrain.mlm_pretrain(backbone, texts, tmp_path / "mlm", steps=4, batch_size=8, max_length=32, seed=1)
    assert (out / "model.safetensors").is_file() and (out / "vocab.txt").is_file()
    again = pretrain.mlm_pretrain(backbone, texts, tmp_path / "mlm2", steps=4, batch_size=8, max_length=32, seed=1)
    assert (again / "model.safetensors").read_bytes() == (out / "model.safetensors").read_bytes()  # seeded
    splits = stratified_split(synthetic.generate_prompts(80, seed=3), seed=0)
    config = TrainConfig(lr=2e-3, batch_size=16, max_steps=3, eval_every=3, max_length=32)
    result = train(splits.train, splits.validation, out, tmp_path / "run", config)
    assert result.pretrained_backbone

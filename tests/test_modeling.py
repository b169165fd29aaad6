"""Checkpoint loading: any prefix, wrapped or bare, .pth or .safetensors, k=1 or k=2, and exact mismatch reports."""

from __future__ import annotations

import pytest
import torch

from conftest import save_random_checkpoint
from secbert_edge.errors import CheckpointError
from secbert_edge.manifest import HeadType
from secbert_edge.modeling import build_classifier, load_backbone_config, load_checkpoint, load_reference_model


@pytest.mark.parametrize("prefix", ["", "bert.", "model.", "module.bert.", "_orig_mod.backbone.", "encoder_model."])
def test_finds_backbone_and_head_whatever_the_prefix(tiny_backbone, tmp_path, prefix):
    path = save_random_checkpoint(tiny_backbone, tmp_path / "m.pth", prefix=prefix)
    ckpt = load_checkpoint(path)
    assert ckpt.prefix == prefix + "bert."
    assert ckpt.num_labels == 1 and ckpt.head_type is HeadType.SIGMOID and ckpt.head_hidden == 128
    assert set(ckpt.head) == {"classifier.0.weight", "classifier.0.bias", "classifier.2.weight", "classifier.2.bias"}
    model = build_classifier(load_backbone_config(tiny_backbone), ckpt)
    reference = torch.load(path, weights_only=True)
    assert torch.equal(model.classifier[2].weight, reference[prefix + "classifier.2.weight"])


def test_head_found_by_shape_not_name(tiny_backbone, tmp_path):
    path = save_random_checkpoint(tiny_backbone, tmp_path / "m.pth")
    state = torch.load(path, weights_only=True)
    renamed = {k.replace("classifier.0", "fc1").replace("classifier.2", "out_proj"): v for k, v in state.items()}
    torch.save(renamed, path)
    ckpt = load_checkpoint(path)
    assert ckpt.source_keys["classifier.0.weight"] == "fc1.weight"
    assert ckpt.source_keys["classifier.2.bias"] == "out_proj.bias"


@pytest.mark.parametrize("wrapper", ["state_dict", "model_state_dict"])
def test_wrapped_state_dict_and_legacy_position_ids(tiny_backbone, tmp_path, wrapper):
    path = save_random_checkpoint(tiny_backbone, tmp_path / "m.pth", prefix="bert_model.")
    state = torch.load(path, weights_only=True)
    state["bert_model.bert.embeddings.position_ids"] = torch.arange(512)[None]
    torch.save({wrapper: state, "epoch": 3, "best_val_loss": 0.12}, path)
    ckpt = load_checkpoint(path)
    assert "embeddings.position_ids" not in ckpt.backbone
    build_classifier(load_backbone_config(tiny_backbone), ckpt)


def test_two_logit_head_is_softmax(tiny_backbone, tmp_path):
    path = save_random_checkpoint(tiny_backbone, tmp_path / "m.pth", num_labels=2)
    model, ckpt = load_reference_model(path, tiny_backbone)
    assert ckpt.head_type is HeadType.SOFTMAX
    logits = torch.tensor([[0.0, 2.0], [1.0, -1.0]])
    assert torch.allclose(model.probability(logits), torch.softmax(logits, -1)[:, 1])


def test_safetensors_checkpoint(tiny_backbone, tmp_path):
    from safetensors.torch import save_file

    state = torch.load(save_random_checkpoint(tiny_backbone, tmp_path / "m.pth"), weights_only=True)
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "m.safetensors")
    assert load_checkpoint(tmp_path / "m.safetensors").num_labels == 1


def test_mismatch_lists_missing_unexpected_and_wrongly_shaped(tiny_backbone, tmp_path):
    state = torch.load(save_random_checkpoint(tiny_backbone, tmp_path / "m.pth"), weights_only=True)
    del state["bert.encoder.layer.1.output.dense.bias"]
    state["bert.encoder.layer.0.attention.self.query.weight"] = torch.zeros(8, 8)
    state["bert.encoder.layer.9.output.dense.bias"] = torch.zeros(32)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError) as info:
        load_reference_model(tmp_path / "bad.pth", tiny_backbone)
    message = str(info.value)
    assert "missing (1): encoder.layer.1.output.dense.bias" in message
    assert "unexpected (1): encoder.layer.9.output.dense.bias" in message
    assert "encoder.layer.0.attention.self.query.weight: checkpoint (8, 8) vs model (32, 32)" in message


def test_extra_head_tensor_is_reported(tiny_backbone, tmp_path):
    state = torch.load(save_random_checkpoint(tiny_backbone, tmp_path / "m.pth"), weights_only=True)
    state["loss_fn.pos_weight"] = torch.ones(1)
    torch.save(state, tmp_path / "extra.pth")
    with pytest.raises(CheckpointError, match=r"unexpected \['loss_fn.pos_weight'\]"):
        load_checkpoint(tmp_path / "extra.pth")


def test_no_backbone_or_no_head(tiny_backbone, tmp_path):
    torch.save({"fc.weight": torch.zeros(2, 3)}, tmp_path / "nobackbone.pth")
    with pytest.raises(CheckpointError, match="exactly one BERT backbone"):
        load_checkpoint(tmp_path / "nobackbone.pth")
    state = torch.load(save_random_checkpoint(tiny_backbone, tmp_path / "m.pth"), weights_only=True)
    torch.save({k: v for k, v in state.items() if not k.startswith("classifier")}, tmp_path / "nohead.pth")
    with pytest.raises(CheckpointError, match="found no head Linear pairs"):
        load_checkpoint(tmp_path / "nohead.pth")


def test_pickled_module_is_refused(tiny_backbone, tmp_path):
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pth")  # a whole pickled object, not a state_dict
    with pytest.raises(CheckpointError, match=r"weights_only=True.*state_dict"):
        load_checkpoint(tmp_path / "module.pth")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "absent.pth")


def test_backbone_folder_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no config.json"):
        load_backbone_config(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "roberta"}')
    with pytest.raises(CheckpointError, match="BERT models only"):
        load_backbone_config(tmp_path)

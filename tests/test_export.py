"""Export: package layout, manifest contract, dynamic axes, parity gate, atomic writes."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from conftest import save_random_checkpoint, write_backbone
from secbert_edge.errors import ConfigError, PackageError, ParityError
from secbert_edge.export import export_package
from secbert_edge.export.onnx_export import DYNAMIC_AXES, validate_against_torch
from secbert_edge.manifest import Manifest, sha256_file
from secbert_edge.modeling import load_reference_model


def test_package_layout_and_manifest(tiny_package, tiny_checkpoint):
    assert sorted(p.name for p in tiny_package.iterdir()) == ["manifest.json", "model.onnx", "tokenizer.json"]
    m = Manifest.read(tiny_package)
    assert m.task.value == "prompt" and m.head.value == "sigmoid" and m.num_labels == 1
    assert (m.positive_label, m.negative_label) == ("harmful", "benign")
    assert m.max_length == 512 and m.thresholds == {"default": 0.5, "ks_optimal": 0.6}
    fp32 = m.variants["fp32"]
    assert fp32.opset >= 17 and fp32.sha256 == sha256_file(tiny_package / "model.onnx")
    assert fp32.parity["max_abs_diff"] <= 1e-4
    assert fp32.parity["shapes"] == [[1, 8], [3, 33], [5, 96], [3, 154], [1, 512]]
    assert m.source["checkpoint_sha256"] == sha256_file(tiny_checkpoint)
    assert m.tokenizer["parity_texts_checked"] > 10 and m.tokenizer["do_lower_case"] is False
    assert m.package_version and m.created


def test_graph_declares_named_dynamic_axes(tiny_package):
    graph = onnx.load(str(tiny_package / "model.onnx")).graph
    dims = {vi.name: [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim] for vi in graph.input}
    assert dims == {name: ["batch", "sequence"] for name in ("input_ids", "attention_mask", "token_type_ids")}
    outs = {vi.name: vi.type.tensor_type.shape.dim[0].dim_param for vi in graph.output}
    assert outs == {"logits": "batch", "probability": "batch"}
    assert set(DYNAMIC_AXES) == set(dims) | set(outs)


def test_two_logit_checkpoint_exports_softmax_probability(tiny_backbone, tmp_path):
    ckpt = save_random_checkpoint(tiny_backbone, tmp_path / "k2.pth", num_labels=2, prefix="model.")
    manifest = export_package(ckpt, tiny_backbone, tmp_path / "pkg")
    assert manifest.head.value == "softmax" and manifest.num_labels == 2
    assert manifest.variants["fp32"].parity["max_abs_diff"] <= 1e-4


def test_failed_validation_writes_nothing(tiny_backbone, tiny_checkpoint, tmp_path):
    out = tmp_path / "pkg"
    with pytest.raises(ParityError, match="disagrees with PyTorch"):
        export_package(tiny_checkpoint, tiny_backbone, out, tolerance=0.0)
    assert list(tmp_path.iterdir()) == [], "neither the package nor its temp folder may remain"


def test_validation_catches_a_different_model(tiny_backbone, tiny_checkpoint, tiny_package, tmp_path):
    other = save_random_checkpoint(tiny_backbone, tmp_path / "other.pth", seed=1)
    model, _ = load_reference_model(other, tiny_backbone)
    with pytest.raises(ParityError) as info:
        validate_against_torch(model, tiny_package / "model.onnx", vocab_size=model.config.vocab_size, max_length=512)
    assert "batch 1 x seq 8" in str(info.value) and "batch 5 x seq 96" in str(info.value)


def test_existing_package_needs_force(tiny_backbone, tiny_checkpoint, tmp_path):
    out = tmp_path / "pkg"
    first = export_package(tiny_checkpoint, tiny_backbone, out)
    with pytest.raises(ConfigError, match="--force"):  # a usage error (exit status 2), not a broken package
        export_package(tiny_checkpoint, tiny_backbone, out)
    second = export_package(tiny_checkpoint, tiny_backbone, out, force=True, ks_threshold=0.7)
    assert second.thresholds["ks_optimal"] == 0.7 and first.thresholds["ks_optimal"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg"]
    (tmp_path / "notapackage").mkdir()
    with pytest.raises(ConfigError, match="not a secbert-edge package"):
        export_package(tiny_checkpoint, tiny_backbone, tmp_path / "notapackage", force=True)


def test_tokenizer_vocab_must_match_embedding_rows(tiny_backbone, tiny_checkpoint, tmp_path):
    vocab = (tiny_backbone / "vocab.txt").read_text(encoding="utf-8").splitlines()
    wrong = write_backbone(tmp_path / "wrong", vocab + ["extra1", "extra2"])
    config = json.loads((tiny_backbone / "config.json").read_text())
    (wrong / "config.json").write_text(json.dumps(config))  # config says len(vocab); vocab.txt has 2 more
    with pytest.raises(PackageError, match=r"has \d+ tokens but the model's embedding matrix has \d+ rows"):
        export_package(tiny_checkpoint, wrong, tmp_path / "pkg")


def test_max_length_bounds(tiny_backbone, tiny_checkpoint, tmp_path):
    with pytest.raises(ConfigError, match="max length 4096"):
        export_package(tiny_checkpoint, tiny_backbone, tmp_path / "pkg", max_length=4096)
    manifest = export_package(tiny_checkpoint, tiny_backbone, tmp_path / "pkg", max_length=128)
    assert manifest.max_length == 128
    assert max(s[1] for s in manifest.variants["fp32"].parity["shapes"]) == 128


def test_runtime_scores_equal_pytorch_on_real_texts(tiny_package, tiny_backbone, tiny_checkpoint, classifier):
    """End to end: tokenizer.json + ONNX through the runtime vs the PyTorch model on the same texts."""
    import torch

    from conftest import CORPUS
    from secbert_edge.export.tokenizer import reference_tokenizer

    model, _ = load_reference_model(tiny_checkpoint, tiny_backbone)
    ref_tok = reference_tokenizer(tiny_backbone)
    with torch.no_grad():
        expected = []
        for text in CORPUS:
            ids = torch.tensor([ref_tok.encode(text)])
            expected.append(float(model.probability(model(ids, torch.ones_like(ids), torch.zeros_like(ids)))[0]))
    got = classifier.score(CORPUS)
    assert np.max(np.abs(got - np.array(expected))) <= 1e-4

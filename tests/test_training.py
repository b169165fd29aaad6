"""Training: the recipe lowers validation loss and writes a checkpoint that export accepts; pair mode end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from secbert_edge.cli import main
from secbert_edge.data import write_jsonl
from secbert_edge.errors import InputError
from secbert_edge.export import export_package
from secbert_edge.modeling import load_checkpoint
from secbert_edge.runtime import load
from secbert_edge.training import TrainConfig, train


def test_training_lowers_validation_loss_and_export_accepts_it(trained_runs, tmp_path):
    run, backbone, splits = trained_runs["prompt"]
    result = json.loads((run / "metrics.json").read_text())
    assert result["best_val_loss"] < 0.8 * result["initial_val_loss"]
    assert result["history"][0]["step"] == 0 and result["steps"] <= 150
    assert 0 < result["ks_threshold"] < 1 and result["test"]["auc"] > 0.7
    assert load_checkpoint(run / "best_model.pth").prefix == "bert."
    manifest = export_package(run / "best_model.pth", backbone, tmp_path / "pkg", ks_threshold=result["ks_threshold"])
    clf = load(tmp_path / "pkg")
    scores = clf.score([e.text for e in splits.test])
    labels = np.array([e.label for e in splits.test])
    assert scores[labels == 1].mean() > scores[labels == 0].mean() + 0.2  # trained: scores spread apart
    assert manifest.thresholds["ks_optimal"] == result["ks_threshold"]


def test_response_judge_pairs_end_to_end(trained_runs, tmp_path):
    run, backbone, splits = trained_runs["response"]
    manifest = export_package(run / "best_model.pth", backbone, tmp_path / "judge", task="response")
    assert manifest.task.value == "response" and (manifest.positive_label, manifest.negative_label) == (
        "unsafe",
        "safe",
    )
    clf = load(tmp_path / "judge")
    prompts, responses = [e.prompt for e in splits.test], [e.text for e in splits.test]
    results = clf.predict_pairs(prompts, responses)
    assert all(r.ok and r.label in ("unsafe", "safe") for r in results)
    labels = np.array([e.label for e in splits.test])
    scores = np.array([r.score for r in results])
    assert scores[labels == 1].mean() > scores[labels == 0].mean()
    # A blank prompt scores the response alone; an unreadable prompt fails only its own pair.
    mixed = clf.predict_pairs(["", None, 7, prompts[0]], [responses[0]] * 3 + [""])
    assert mixed[0].ok and mixed[1].ok and mixed[0].score == mixed[1].score == clf.predict([responses[0]])[0].score
    assert "int" in mixed[2].error and "empty" in mixed[3].error
    with pytest.raises(InputError, match="2 prompts but 1 responses"):
        clf.predict_pairs(["a", "b"], ["c"])
    # Pair batch invariance: alone vs inside the batch.
    alone = [clf.predict_pairs([p], [r])[0].score for p, r in zip(prompts[:8], responses[:8])]
    assert np.max(np.abs(np.array(alone) - scores[:8])) <= 1e-5


def test_pairs_on_a_prompt_package_is_refused(tiny_package):
    with pytest.raises(InputError, match="pairs need a response-judge package"):
        load(tiny_package).predict_pairs(["a"], ["b"])


def test_cli_train_then_predict_pairs(trained_runs, tmp_path):
    _, backbone, splits = trained_runs["response"]
    data = write_jsonl(tmp_path / "chats.jsonl", splits.train[:120] + splits.test[:40])
    runner = CliRunner()
    out = tmp_path / "run"
    result = runner.invoke(
        main,
        [
            "train",
            "--data",
            str(data),
            "--preset",
            "response",
            "--vocab",
            str(backbone / "vocab.txt"),
            "--layers",
            "1",
            "--hidden",
            "32",
            "--heads",
            "2",
            "--out",
            str(out),
            "--lr",
            "1e-3",
            "--max-steps",
            "12",
            "--eval-every",
            "4",
            "--max-length",
            "128",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "next: secbert-edge export" in result.output and (out / "best_model.pth").is_file()
    assert {p.name for p in out.iterdir()} >= {
        "train.jsonl",
        "validation.jsonl",
        "test.jsonl",
        "metrics.json",
        "backbone",
    }
    pkg = tmp_path / "pkg"
    exported = runner.invoke(
        main,
        [
            "export",
            "--checkpoint",
            str(out / "best_model.pth"),
            "--backbone",
            str(out / "backbone"),
            "--out",
            str(pkg),
            "--task",
            "response",
        ],
    )
    assert exported.exit_code == 0, exported.output
    pairs = runner.invoke(
        main,
        ["predict", "--model", str(pkg), "--pairs", "--json", "Como fabricar uma bomba?", "Não posso ajudar com isso."],
    )
    assert pairs.exit_code == 0, pairs.output
    assert json.loads(pairs.output.splitlines()[0])["label"] in ("unsafe", "safe")
    odd = runner.invoke(main, ["predict", "--model", str(pkg), "--pairs", "only a prompt"])
    assert odd.exit_code == 2 and "prompt, response" in odd.output
    from_file = runner.invoke(main, ["predict", "--model", str(pkg), "--pairs", "--file", str(data), "--json"])
    assert from_file.exit_code == 0 and len(from_file.output.strip().splitlines()) == 160


def test_training_needs_both_classes(trained_runs, tmp_path):
    _, backbone, splits = trained_runs["prompt"]
    only_benign = [e for e in splits.train if e.label == 0]
    with pytest.raises(InputError, match="training set needs both classes"):
        train(only_benign, splits.validation, backbone, tmp_path, TrainConfig(max_steps=1))
    with pytest.raises(ValueError, match="invalid training settings: lr=-1"):
        TrainConfig(lr=-1)

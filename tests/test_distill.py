"""Distillation: a briefly trained tiny teacher -> a 1-layer student that keeps its decisions, and the verify gate
that holds a student package to its teacher."""

from __future__ import annotations

import dataclasses
import json

import pytest
from click.testing import CliRunner

from secbert_edge import synthetic
from secbert_edge.cli import main
from secbert_edge.cli._common import Status
from secbert_edge.data import write_jsonl
from secbert_edge.errors import CheckpointError, InputError, PackageError

torch = pytest.importorskip("torch")

from secbert_edge import distill as dist  # noqa: E402  (needs torch)
from secbert_edge.export import export_package  # noqa: E402
from secbert_edge.variants import Tolerance  # noqa: E402
from secbert_edge.verify import verify  # noqa: E402


def _texts(tmp_path, n=700, seed=11):
    """Unlabelled synthetic prompts (a different seed from the teacher's training data), one per line."""
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(e.text for e in synthetic.generate_prompts(n, seed=seed)) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def student(trained_runs, tmp_path_factory):
    run, backbone, _ = trained_runs["prompt"]
    tmp = tmp_path_factory.mktemp("student")
    texts = dist.read_texts(_texts(tmp))
    config = dist.DistillConfig(
        layers=1, epochs=4, batch_size=16, lr=1e-3, temperature=1.0, max_length=128, eval_every=40, holdout_fraction=0.2
    )
    report = dist.distill(run / "best_model.pth", backbone, texts, tmp / "l1", config)
    return tmp / "l1", report


def test_layer_map_is_evenly_spaced_and_ends_at_the_last_layer():
    assert dist.layer_map(12, 6) == [1, 3, 5, 7, 9, 11]
    assert dist.layer_map(12, 4) == [2, 5, 8, 11]
    assert dist.layer_map(2, 1) == [1]
    assert dist.layer_map(3, 3) == [0, 1, 2]
    with pytest.raises(ValueError, match="student layers must be in 1..2"):
        dist.layer_map(2, 3)


def test_sigmoid_head_is_the_two_class_distribution_and_kd_is_zero_on_itself():
    z = torch.tensor([[-3.0], [0.0], [2.5]])
    as_softmax = torch.log_softmax(torch.cat([torch.zeros_like(z), z], dim=-1) / 2.0, dim=-1)
    assert torch.allclose(dist.class_log_probs(z, 1, 2.0), as_softmax, atol=1e-6)
    assert float(dist.kd_loss(z, z, 1, 2.0)) == pytest.approx(0.0, abs=1e-7)
    assert float(dist.kd_loss(z, -z, 1, 2.0)) > 0.1
    two = torch.tensor([[0.3, -1.0], [2.0, 1.0]])
    assert float(dist.kd_loss(two, two, 2, 1.0)) == pytest.approx(0.0, abs=1e-7)


def test_tiny_teacher_distils_into_a_one_layer_student_that_keeps_its_decisions(student, trained_runs):
    out, report = student
    run, backbone, _ = trained_runs["prompt"]
    assert report["student"]["layers"] == 1 and report["teacher"]["layers"] == 2
    assert report["student"]["parameters"] < report["teacher"]["parameters"]
    agreement = report["agreement"]
    assert set(agreement["thresholds"]) == {"tau", "tau*"}  # tau* read from the teacher's metrics.json
    assert agreement["texts"] == report["texts"]["held_out"] >= 100
    for name in ("tau", "tau*"):
        assert agreement["flip_rate"][name] <= 0.05, agreement
    # The teacher decides both ways on these texts: agreement is not trivial.
    assert 0.2 < agreement["teacher_positive_rate"]["tau"] < 0.8
    assert report["best_val_mean_abs_dp"] < report["history"][0]["val_mean_abs_dp"], report["history"]
    assert json.loads((out / "distill.json").read_text())["agreement"] == agreement
    # What `export` reads: the student's checkpoint and backbone folder (teacher's tokenizer, student's config).
    assert (out / "backbone" / "vocab.txt").read_bytes() == (backbone / "vocab.txt").read_bytes()
    assert json.loads((out / "backbone" / "config.json").read_text())["num_hidden_layers"] == 1


def test_student_initialised_from_the_teacher(trained_runs):
    from secbert_edge.modeling import load_reference_model

    run, backbone, _ = trained_runs["prompt"]
    teacher, _ = load_reference_model(run / "best_model.pth", backbone)
    s = dist.init_student(teacher, 1)
    assert torch.equal(s.bert.encoder.layer[0].output.dense.weight, teacher.bert.encoder.layer[1].output.dense.weight)
    assert torch.equal(s.bert.embeddings.word_embeddings.weight, teacher.bert.embeddings.word_embeddings.weight)
    assert torch.equal(s.classifier[2].weight, teacher.classifier[2].weight)
    narrow = dist.init_student(teacher, 1, hidden=16)
    assert narrow.config.hidden_size == 16 and narrow.config.hidden_size % narrow.config.num_attention_heads == 0


def test_distillation_is_deterministic_for_a_seed_and_narrow_students_train(trained_runs, tmp_path):
    run, backbone, _ = trained_runs["prompt"]
    texts = dist.read_texts(_texts(tmp_path, n=120))
    config = dist.DistillConfig(
        layers=1, hidden=16, max_steps=6, batch_size=16, lr=1e-3, max_length=64, attention_weight=0.0, eval_every=3
    )
    a = dist.distill(run / "best_model.pth", backbone, texts, tmp_path / "a", config)
    b = dist.distill(run / "best_model.pth", backbone, texts, tmp_path / "b", config)
    assert a["losses"]["hidden_weight"] == 1.0 and a["student"]["hidden"] == 16
    sa, sb = torch.load(tmp_path / "a" / "best_model.pth"), torch.load(tmp_path / "b" / "best_model.pth")
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a["agreement"] == b["agreement"]
    with pytest.raises(ValueError, match="attention loss needs the teacher's 2 heads"):
        dist.distill(
            run / "best_model.pth",
            backbone,
            texts,
            tmp_path / "c",
            dist.DistillConfig(layers=1, hidden=8, attention_weight=1.0, max_steps=1),
        )
    with pytest.raises(ValueError, match="exceeds the teacher's 2 layers"):
        dist.distill(run / "best_model.pth", backbone, texts, tmp_path / "c", dist.DistillConfig(layers=3))


def test_objective_selection_keeps_the_step_with_the_lowest_validation_objective(trained_runs, tmp_path):
    """selection="objective": the kept step is the one whose KD + weighted labelled loss on the validation rows is
    lowest (a tenth of the labelled rows are kept for it); "agreement" keeps the one closest to the teacher."""
    run, backbone, _ = trained_runs["prompt"]
    texts = dist.read_texts(_texts(tmp_path, n=160))
    labelled = synthetic.generate_prompts(200, seed=5)
    base = dist.DistillConfig(
        layers=1, max_steps=8, batch_size=16, lr=1e-3, max_length=64, eval_every=2, labelled_weight=4.0
    )
    reports = {}
    for selection in ("agreement", "objective"):
        config = dataclasses.replace(base, selection=selection)
        reports[selection] = dist.distill(
            run / "best_model.pth", backbone, texts, tmp_path / selection, config, labelled=labelled
        )
    obj = reports["objective"]
    assert obj["selection"] == "objective" and obj["labelled"]["validation_examples"] == 20
    assert obj["labelled"]["train_examples"] == 130  # 200 less a quarter for the report and a tenth for selection
    values = {h["step"]: h["val_objective"] for h in obj["history"]}
    assert len(values) == 5 and obj["best_step"] == min(values, key=values.get)
    assert obj["best_val_objective"] == values[obj["best_step"]]
    agree = reports["agreement"]
    assert "val_objective" not in agree["history"][0] and agree["labelled"]["validation_examples"] == 0
    dps = {h["step"]: h["val_mean_abs_dp"] for h in agree["history"]}
    assert agree["best_step"] == min(dps, key=dps.get) and agree["best_val_mean_abs_dp"] == dps[agree["best_step"]]
    with pytest.raises(ValueError, match="selection"):
        dataclasses.replace(base, selection="latest")


def test_labelled_bucketing_draws_the_labelled_batches_by_length(trained_runs, tmp_path, monkeypatch):
    """labelled_bucketing: the labelled rows' batches come from the length-sorted draw (padded to similar lengths,
    not to the longest row of a random batch); off, from the shuffled one, as earlier builds drew them."""
    run, backbone, _ = trained_runs["prompt"]
    texts = dist.read_texts(_texts(tmp_path, n=120))
    labelled = synthetic.generate_prompts(120, seed=5)
    drawn: list[int] = []
    real = dist.bucketed_batches

    def recording(encoded, labels, batch_size, rng):
        drawn.append(len(encoded))
        yield from real(encoded, labels, batch_size, rng)

    monkeypatch.setattr(dist, "bucketed_batches", recording)
    base = dist.DistillConfig(layers=1, max_steps=3, batch_size=16, lr=1e-3, max_length=64, eval_every=3)
    for on in (False, True):
        drawn.clear()
        config = dataclasses.replace(base, labelled_bucketing=on)
        report = dist.distill(run / "best_model.pth", backbone, texts, tmp_path / str(on), config, labelled=labelled)
        assert drawn == ([report["labelled"]["train_examples"]] if on else [])  # KD batches: length_bucketing off


def test_teacher_scores_are_cached_and_reused_only_for_the_same_inputs(trained_runs, tmp_path, monkeypatch):
    """A second run on the same teacher and texts reads the teacher's logits from the cache and trains the same
    student; other texts, another batch size or cache=False score again."""
    monkeypatch.setenv("SECBERT_EDGE_CACHE", str(tmp_path / "cache"))
    run, backbone, _ = trained_runs["prompt"]
    texts = dist.read_texts(_texts(tmp_path, n=120))
    config = dist.DistillConfig(layers=1, max_steps=4, batch_size=16, lr=1e-3, max_length=64, eval_every=2)

    def distil(name, cfg=config, these=texts, **kw):
        lines = []
        dist.distill(run / "best_model.pth", backbone, these, tmp_path / name, cfg, log=lines.append, **kw)
        return [m for m in lines if "teacher" in m]

    assert distil("a") == ["scoring the texts with the teacher"]
    assert len(list((tmp_path / "cache" / "teacher-logits").glob("*.pt"))) == 1
    again = distil("b")
    assert len(again) == 1 and again[0].startswith("teacher scores from the cache")
    sa, sb = torch.load(tmp_path / "a" / "best_model.pth"), torch.load(tmp_path / "b" / "best_model.pth")
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert distil("c", these=texts[:-1]) == ["scoring the texts with the teacher"]
    assert distil("d", cfg=dataclasses.replace(config, batch_size=8)) == ["scoring the texts with the teacher"]
    assert distil("e", cache=False) == ["scoring the texts with the teacher"]
    for entry in (tmp_path / "cache" / "teacher-logits").glob("*.pt"):
        entry.write_bytes(b"damaged")
    assert distil("f") == ["scoring the texts with the teacher"]  # a damaged entry is scored again
    assert distil("g")[0].startswith("teacher scores from the cache")


def test_read_texts_formats_blanks_and_duplicates(tmp_path):
    (tmp_path / "a.txt").write_text("um\n\n  \ndois três\num\n", encoding="utf-8")
    assert [e.text for e in dist.read_texts(tmp_path / "a.txt")] == ["um", "dois três"]
    (tmp_path / "b.jsonl").write_text('{"t": "x"}\nnot json\n{"t": ""}\n{"t": "y"}\n', encoding="utf-8")
    assert [e.text for e in dist.read_texts(tmp_path / "b.jsonl", "t")] == ["x", "y"]
    (tmp_path / "c.csv").write_text("prompt,response\np1,r1\np2,r2\n", encoding="utf-8")
    pairs = dist.read_texts(tmp_path / "c.csv", "response", "prompt")
    assert [(e.prompt, e.text) for e in pairs] == [("p1", "r1"), ("p2", "r2")]
    with pytest.raises(InputError, match="no 'text' column for the text"):
        dist.read_texts(tmp_path / "c.csv")
    (tmp_path / "d.txt").write_text("\n \n", encoding="utf-8")
    with pytest.raises(InputError, match="holds no records"):
        dist.read_texts(tmp_path / "d.txt")
    (tmp_path / "e.jsonl").write_text('{"t": ""}\n{"t": "  "}\n', encoding="utf-8")
    with pytest.raises(InputError, match="no non-empty texts"):
        dist.read_texts(tmp_path / "e.jsonl", "t")


def test_verify_teacher_gate_passes_a_good_student_and_fails_a_damaged_one(student, trained_runs, tmp_path):
    out, report = student
    run, backbone, splits = trained_runs["prompt"]
    teacher_ckpt = run / "best_model.pth"
    tau_star = report["agreement"]["thresholds"]["tau*"]
    data = write_jsonl(tmp_path / "test.jsonl", splits.test)
    good = tmp_path / "good"
    export_package(out / "best_model.pth", out / "backbone", good, ks_threshold=tau_star)
    with pytest.raises(PackageError, match="--teacher"):
        verify(good, teacher_ckpt, backbone, data, use_cache=False)
    default = verify(good, teacher_ckpt, backbone, data, reference="teacher", use_cache=False, update_manifest=False)
    assert default.variants["fp32"].tolerance == Tolerance(None, 1.0, 0.01)
    # The default gate fails this 1-layer student: on 90 texts it is resolvably MORE accurate than its teacher (here
    # +3.3 pp, bootstrap interval [+1.1, +6.7], beyond 1 pp; the gate holds drift both ways). It is held here at 5%
    # flips / 5 pp, which the student meets and the damaged student below does not.
    loose = {"fp32": Tolerance(None, 5.0, 0.05)}
    passed = verify(
        good,
        teacher_ckpt,
        backbone,
        data,
        reference="teacher",
        tolerances=loose,
        use_cache=False,
        update_manifest=False,
    )
    assert passed.passed, passed.variants["fp32"].failures

    # Damage: squash the student's last Linear towards a positive bias, so it flags most benign texts.
    state = torch.load(out / "best_model.pth")
    state["classifier.2.weight"] = state["classifier.2.weight"] * 0.1
    state["classifier.2.bias"] = state["classifier.2.bias"] + 2.0
    torch.save(state, tmp_path / "damaged.pth")
    bad = tmp_path / "bad"
    export_package(tmp_path / "damaged.pth", out / "backbone", bad, ks_threshold=tau_star)
    runner = CliRunner()
    args = [
        "verify",
        "--model",
        str(bad),
        "--teacher",
        "--checkpoint",
        str(teacher_ckpt),
        "--backbone",
        str(backbone),
        "--data",
        str(data),
        "--no-cache",
        "--no-update-manifest",
        "--json",
        "--max-flips",
        "fp32=0.05",
        "--max-drift",
        "fp32=5",
    ]
    result = runner.invoke(main, args)
    assert result.exit_code == Status.GATE, result.output
    failed = json.loads(result.stdout)
    assert not failed["passed"] and any("flip rate" in f for f in failed["variants"]["fp32"]["failures"])
    ok = runner.invoke(main, args[:2] + [str(good)] + args[3:])
    assert ok.exit_code == 0, ok.output


def test_cli_distill_writes_what_export_reads(trained_runs, tmp_path):
    run, backbone, _ = trained_runs["prompt"]
    texts = _texts(tmp_path, n=100)
    out = tmp_path / "s"
    args = [
        "distill",
        "--checkpoint",
        str(run / "best_model.pth"),
        "--backbone",
        str(backbone),
        "--data",
        str(texts),
        "--layers",
        "1",
        "--max-steps",
        "4",
        "--batch-size",
        "16",
        "--max-length",
        "64",
        "--out",
        str(out),
    ]
    runner = CliRunner()
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "held-out agreement" in result.output and "next: secbert-edge export" in result.output
    assert {p.name for p in out.iterdir()} == {"best_model.pth", "backbone", "distill.json"}
    again = runner.invoke(main, args)
    assert again.exit_code == 2 and "--force" in again.output
    few = tmp_path / "few.txt"
    few.write_text("a\nb\n", encoding="utf-8")
    short = runner.invoke(main, args[:6] + [str(few)] + args[7:-1] + [str(tmp_path / "t")])
    assert short.exit_code == 2 and "needs at least 20" in short.output
    report = json.loads((out / "distill.json").read_text(encoding="utf-8"))
    assert report["config"]["length_bucketing"] is False and report["config"]["labelled_bucketing"] is False
    bucketed = runner.invoke(
        main, args[:-1] + [str(tmp_path / "b"), "--length-bucketing", "--labelled-bucketing"]
    )  # the recipe's bucketing settings reach the config from the command line
    assert bucketed.exit_code == 0, bucketed.output
    config = json.loads((tmp_path / "b" / "distill.json").read_text(encoding="utf-8"))["config"]
    assert config["length_bucketing"] is True and config["labelled_bucketing"] is True


def test_average_students_is_the_mean_of_their_weights_and_reports_its_own_agreement(trained_runs, tmp_path):
    """average_students: two students of one teacher on the same texts (different recipes) -> the element-wise mean
    of their weights, scored against the teacher on the held-out slice none of them trained on; students of another
    shape, split or text set are refused, each with what differs."""
    run, backbone, _ = trained_runs["prompt"]
    texts = dist.read_texts(_texts(tmp_path, n=120))
    labelled = synthetic.generate_prompts(80, seed=5)
    base = dist.DistillConfig(layers=1, max_steps=4, batch_size=16, lr=1e-3, max_length=64, eval_every=2)
    folders = []
    for name, config in (("a", base), ("b", dataclasses.replace(base, max_steps=6, lr=3e-3))):
        dist.distill(run / "best_model.pth", backbone, texts, tmp_path / name, config, labelled=labelled)
        folders.append(tmp_path / name)
    out = tmp_path / "avg"
    report = dist.average_students(folders, out, run / "best_model.pth", backbone, texts, labelled=labelled)
    a, b, avg = (torch.load(f / "best_model.pth") for f in (*folders, out))
    assert not all(torch.equal(a[k], b[k]) for k in a)  # two different students
    for k in a:
        if a[k].is_floating_point():
            assert torch.allclose(avg[k], (a[k] + b[k]) / 2, atol=1e-6), k
    held = report["texts"]["held_out"]
    assert report["agreement"]["texts"] == held == len(dist.split_texts(texts, base)[0])
    assert [p["steps"] for p in report["average"]] == [4, 6] and report["steps"] == 10
    assert report["labelled"]["test_examples"] == 20 and "student" in report["labelled"]
    assert json.loads((out / "distill.json").read_text())["agreement"] == report["agreement"]
    # what export reads: the average packages and scores like any student
    pkg = export_package(out / "best_model.pth", out / "backbone", tmp_path / "pkg", max_length=64)
    assert pkg.source["layers"] == 1
    with pytest.raises(ValueError, match="at least two students"):
        dist.average_students(folders[:1], tmp_path / "x", run / "best_model.pth", backbone, texts)
    with pytest.raises(ValueError, match=f"{len(texts)} texts, not these {len(texts) - 1}"):
        dist.average_students(folders, tmp_path / "x", run / "best_model.pth", backbone, texts[:-1])
    dist.distill(run / "best_model.pth", backbone, texts, tmp_path / "c", dataclasses.replace(base, seed=7))
    with pytest.raises(ValueError, match="seed 7 differs"):
        dist.average_students([*folders, tmp_path / "c"], tmp_path / "x", run / "best_model.pth", backbone, texts)
    with pytest.raises(CheckpointError, match="not a distilled student"):
        dist.average_students([folders[0], tmp_path], tmp_path / "x", run / "best_model.pth", backbone, texts)

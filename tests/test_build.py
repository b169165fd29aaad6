"""The defaults' build recipe (models/secbert_defaults/build.py): one spec type for either default, checked as a
combination; the threshold policy and its cross-check read from a held-out table. No training here (CI never
retrains the defaults)."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from secbert_defaults import build, mixture
from secbert_edge.errors import ConfigError, InputError
from secbert_edge.manifest import Task
from secbert_edge.recipe import DistillConfig

TABLE = {
    "all held-out": {
        "threshold_at_recall80": 0.42,
        "threshold_at_recall85": 0.2,
        "fpr_at_recall80": 0.06,
        "recall_at_r4_80": 0.83,
        "fpr_at_r4_80": 0.05,
    },
    "r4: all": {
        "threshold_at_recall80": 0.37,
        "threshold_at_recall85": 0.1,
        "fpr_at_recall80": 0.09,
        "recall_at_r1_80": 0.78,
        "fpr_at_r1_80": 0.08,
    },
}


def test_the_guard_and_the_judge_are_one_spec_type():
    assert build.GUARD.task is Task.PROMPT and build.GUARD.mix in mixture.GUARD_MIXES
    assert build.JUDGE.task is Task.RESPONSE and build.JUDGE.mix in mixture.JUDGE_MIXES
    assert build.GUARD.student is not None and build.GUARD.student.max_length == build.GUARD.max_length
    assert set(build.DEFAULTS) == {build.GUARD.name, build.JUDGE.name} and build.PENDING <= set(build.DEFAULTS)
    assert build.GUARD.name not in build.PENDING
    assert build.GUARD.to_dict()["teacher"]["pooling"] == "mean"


def test_a_spec_is_checked_as_a_combination():
    with pytest.raises(ConfigError, match="unknown mixture"):
        dataclasses.replace(build.GUARD, mix="jg")  # a judge mixture for a prompt guard
    with pytest.raises(ConfigError, match="task"):
        dataclasses.replace(build.GUARD, task=Task.RESPONSE, mix=mixture.JUDGE_DEFAULT)  # the teacher says prompt
    with pytest.raises(ConfigError, match="max_length"):
        dataclasses.replace(build.GUARD, student=DistillConfig(layers=2, max_length=128))
    with pytest.raises(ConfigError, match="student_windows"):  # windows are labelled rows: nothing would read them
        dataclasses.replace(build.GUARD, student_windows=10, distill_labelled=False)


def test_threshold_policy_takes_the_highest_threshold_that_reaches_the_recall_on_every_set():
    assert build.choose_threshold(build.ThresholdPolicy(recall=0.8, sets=("r1", "r4")), TABLE) == 0.37
    assert build.choose_threshold(build.ThresholdPolicy(recall=0.85, sets=("r1",)), TABLE) == 0.2
    assert build.choose_threshold(build.ThresholdPolicy(fixed=0.5), {}) == 0.5
    with pytest.raises(InputError, match="no 80% operating point"):
        build.choose_threshold(build.ThresholdPolicy(), {"all held-out": {}})
    with pytest.raises(ConfigError, match="recall"):
        build.choose_threshold(build.ThresholdPolicy(recall=0.9), TABLE)
    assert "80% of the r1 and r4" in build.ThresholdPolicy().describe()


def test_the_recorded_threshold_never_rises_above_the_chosen_one(tiny_package, tmp_path):
    """Rounding 0.42366 up to 0.4237 would miss the attack scored 0.42366 that the threshold was chosen at."""
    package = tmp_path / "pkg"
    shutil.copytree(tiny_package, package)
    for tau, stored in ((0.42366, 0.4236), (0.42364, 0.4236), (0.5, 0.5), (0.29, 0.29), (0.99999, 0.9999)):
        assert build.set_default_threshold(package, tau).thresholds["default"] == stored
        assert stored <= tau + 1e-12


def test_threshold_policy_by_accuracy_reads_the_judge_result():
    policy = build.ThresholdPolicy(metric="accuracy", sets=("r1", "r4"))
    result = {"best_accuracy": {"r1": {"threshold": 0.7}, "r1+r4": {"threshold": 0.62}}}
    assert build.choose_threshold(policy, result) == 0.62
    assert build.choose_threshold(build.ThresholdPolicy(metric="accuracy", sets=("r1",)), result) == 0.7
    with pytest.raises(InputError, match="r1\\+r4"):
        build.choose_threshold(policy, {"best_accuracy": {"r1": {"threshold": 0.7}}})
    with pytest.raises(ConfigError, match="recall .* or accuracy"):
        build.ThresholdPolicy(metric="f1")
    assert "best accuracy on the r1 and r4 held-out pairs" in policy.describe()


def test_cross_check_reads_each_set_at_the_other_sets_threshold():
    cross = build.cross_check(TABLE)
    assert cross["pick on r1"] == {"threshold": 0.42, "r1 benign FPR": 0.06, "r4 recall": 0.78, "r4 benign FPR": 0.08}
    assert cross["pick on r4"]["r1 recall"] == 0.83 and cross["pick on r4"]["threshold"] == 0.37
    assert build.cross_check({"all held-out": {}}) == {}


def test_the_student_stage_passes_the_training_rows_as_labels_only_when_the_spec_says_so(tmp_path, monkeypatch):
    """distill_labelled: the training rows go to distill's labelled loss and their digest joins the stage key (a
    spec without it keeps the key earlier builds wrote); an unchanged stage is reused, not retrained."""
    from secbert_edge import distill as distill_module
    from secbert_edge.data import Example

    one = dataclasses.replace(build.GUARD, average=())  # one student, not the shipped average
    calls = []

    def fake_distill(teacher, backbone, texts, out, config, *, labelled=None, progress=None, log=None):
        calls.append(labelled)
        out.mkdir(parents=True, exist_ok=True)
        (out / "best_model.pth").write_bytes(b"student")
        (out / distill_module.DISTILL_REPORT).write_text("{}", encoding="utf-8")
        return {}

    monkeypatch.setattr(distill_module, "distill", fake_distill)
    monkeypatch.setattr(build, "transfer_texts", lambda spec, data, log: [Example(f"t{i}", 0) for i in range(5)])
    teacher = tmp_path / "teacher"
    teacher.mkdir()
    (teacher / "best_model.pth").write_bytes(b"teacher")
    rows = [Example("ataque", 1), Example("oi", 0)]
    data = build.Data(rows, [], [], {})
    keys = {}
    for labelled in (False, True):
        spec = dataclasses.replace(one, name=f"s{labelled}", distill_labelled=labelled, student_windows=0)
        out = build.distill_student(spec, data, teacher, tmp_path, log=lambda m: None)
        keys[labelled] = (out / "distill.json").read_text(encoding="utf-8")
        build.distill_student(spec, data, teacher, tmp_path, log=lambda m: None)  # up to date: not called again
    assert calls == [None, rows]
    assert keys[False] != keys[True]
    texts = build.transfer_texts(one, data, None)
    later = ("selection", "labelled_bucketing")
    before_selection = {k: v for k, v in dataclasses.asdict(one.student).items() if k not in later}
    earlier = build._digest(  # the key before distill_labelled (and DistillConfig.selection) existed
        "student",
        before_selection,
        one.threads,
        build._examples_digest(texts),
        build._file_digest(teacher / "best_model.pth"),
    )
    assert json.loads(keys[False])["key"] == earlier
    objective = dataclasses.replace(  # selecting on the objective is another student: another key
        one, name="s-objective", student=dataclasses.replace(one.student, selection="objective")
    )
    out = build.distill_student(objective, data, teacher, tmp_path, log=lambda m: None)
    assert json.loads((out / "distill.json").read_text(encoding="utf-8"))["key"] not in (earlier, keys[True])
    bucketed = dataclasses.replace(  # labelled batches drawn by length: another student, another key
        one, name="s-bucketed", student=dataclasses.replace(one.student, labelled_bucketing=True)
    )
    out = build.distill_student(bucketed, data, teacher, tmp_path, log=lambda m: None)
    assert json.loads((out / "distill.json").read_text(encoding="utf-8"))["key"] not in (earlier, keys[True])
    # chat windows join the labelled rows (and so the key), built from the training rows' attacks
    monkeypatch.setattr(
        mixture.corpora, "benign_train_texts", lambda: {"chat": [f"linha {i} da conversa" for i in range(30)]}
    )
    windowed = dataclasses.replace(one, name="s-windows", distill_labelled=True, student_windows=3)
    out = build.distill_student(windowed, data, teacher, tmp_path, log=lambda m: None)
    assert calls[-1][:2] == rows and len(calls[-1]) == 2 + 6
    assert [e.label for e in calls[-1][2:]] == [0, 1] * 3 and all("ataque" in e.text for e in calls[-1][3::2])
    assert json.loads((out / "distill.json").read_text(encoding="utf-8"))["key"] != keys[True]


def test_an_averaged_student_builds_each_ingredient_then_their_average(tmp_path, monkeypatch):
    """spec.average: every ingredient is its own student stage (models/build/<name>/student-<tag>, keyed like a plain
    student of that recipe, so an ingredient equal to the plain student keeps its key), then their weight average in
    .../student, keyed on the ingredients' keys; a rerun reuses all of it."""
    from secbert_edge import distill as distill_module
    from secbert_edge.data import Example

    trained, averaged = [], []

    def fake_distill(teacher, backbone, texts, out, config, *, labelled=None, progress=None, log=None):
        trained.append((out.name, config.epochs, len(labelled or [])))
        out.mkdir(parents=True, exist_ok=True)
        (out / "best_model.pth").write_bytes(b"student")
        (out / distill_module.DISTILL_REPORT).write_text("{}", encoding="utf-8")
        return {}

    def fake_average(students, out, teacher, backbone, texts, *, labelled=None, log=None):
        averaged.append(([s.name for s in students], len(labelled or [])))
        out.mkdir(parents=True, exist_ok=True)
        (out / "best_model.pth").write_bytes(b"average")
        return {"agreement": {}}

    monkeypatch.setattr(distill_module, "distill", fake_distill)
    monkeypatch.setattr(distill_module, "average_students", fake_average)
    monkeypatch.setattr(build, "transfer_texts", lambda spec, data, log: [Example(f"t{i}", 0) for i in range(5)])
    monkeypatch.setattr(
        mixture.corpora, "benign_train_texts", lambda: {"chat": [f"linha {i} da conversa" for i in range(30)]}
    )
    teacher = tmp_path / "teacher"
    teacher.mkdir()
    (teacher / "best_model.pth").write_bytes(b"teacher")
    rows = [Example("ataque", 1), Example("oi", 0)]
    data = build.Data(rows, [], [], {})
    spec = dataclasses.replace(
        build.GUARD,
        average=(
            build.Ingredient("rows", build.GUARD.student),
            build.Ingredient("win", build.GUARD.student, windows=2),
            build.Ingredient("long", dataclasses.replace(build.GUARD.student, epochs=2)),
        ),
    )
    out = build.distill_student(spec, data, teacher, tmp_path, log=lambda m: None)
    assert trained == [("student-rows", 1, 2), ("student-win", 1, 2 + 4), ("student-long", 2, 2)]
    assert averaged == [(["student-rows", "student-win", "student-long"], 2)]
    assert out == tmp_path / build.BUILD / spec.name / "student"
    keys = [
        json.loads((out.parent / f"student-{tag}" / "distill.json").read_text(encoding="utf-8"))["key"]
        for tag in ("rows", "win", "long")
    ]
    assert json.loads((out / "distill.json").read_text(encoding="utf-8"))["key"] == build._digest("average", keys)
    alone = dataclasses.replace(spec, name="p", average=())  # the plain student of the first ingredient's recipe
    plain = build.distill_student(alone, data, teacher, tmp_path, lambda m: None)
    assert json.loads((plain / "distill.json").read_text(encoding="utf-8"))["key"] == keys[0]
    trained.clear()
    build.distill_student(spec, data, teacher, tmp_path, log=lambda m: None)  # all up to date
    assert trained == [] and len(averaged) == 1
    with pytest.raises(ConfigError, match="at least two ingredients with distinct tags"):
        dataclasses.replace(spec, average=spec.average[:1])
    with pytest.raises(ConfigError, match="chat windows need distill_labelled"):
        dataclasses.replace(spec, distill_labelled=False, student_windows=0)


def test_build_demo_help_teaches_and_unknown_names_are_refused():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(build.__file__).resolve().parents[1] / "build_demo.py"
    shown = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and "--eval-only" in shown.stdout and "`build` extra" in shown.stdout
    unknown = subprocess.run([sys.executable, str(script), "nope"], capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 1 and "choose from" in unknown.stderr and "secbert-pt-demo" in unknown.stderr


def test_smoothquant_calibration_draws_training_texts_of_both_labels():
    from secbert_edge.data import Example

    train = [Example(f"ataque {i}", 1) for i in range(300)] + [Example(f"pergunta {i}", 0) for i in range(40)]
    data = build.Data(train, [], [], {})
    texts = build.calibration_texts(data, n=100)
    assert texts == build.calibration_texts(data, n=100)  # seeded
    assert sum(t.startswith("ataque") for t in texts) == 50 and sum(t.startswith("pergunta") for t in texts) == 40
    assert len(set(texts)) == len(texts)
    # a judge's rows are drawn as the (prompt, response) pairs it reads
    judged = build.Data([Example(f"resposta {i}", i % 2, f"pergunta {i}") for i in range(20)], [], [], {})
    pairs = build.calibration_texts(judged, n=8)
    assert len(pairs) == 8 and all(p == (f"pergunta {p[1].split()[1]}", p[1]) for p in pairs)
    assert build.GUARD.int8_smooth is not None and not build.GUARD.int8_keep_fp32
    assert build.JUDGE.int8_smooth is not None and not build.JUDGE.int8_keep_fp32

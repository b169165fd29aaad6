"""Distil a fine-tuned BertMLPClassifier (the teacher) into a smaller student that makes the same decisions.

The student is initialised from the teacher: its embeddings, an evenly spaced subset of its encoder layers
(``layer_map``), its pooler and its MLP head, so it starts close to the teacher's function. With ``hidden`` (a
narrower student) nothing fits: the student starts from random weights (seeded) and a learned projection
student-hidden -> teacher-hidden carries the hidden-state loss.

Training needs only unlabelled texts. Each text is scored by the teacher; the student minimises the KL
divergence between the teacher's and its own class distribution at a temperature T (a sigmoid head is the
2-class distribution [1 - p, p]), optionally plus the hidden-state MSE (and attention-map MSE) of TinyBERT-style
students at mapped layers, plus the labelled loss when labelled data is given. The best student on a validation
slice of the texts (lowest mean |dP| against the teacher) is kept.

Outputs, in the layout ``export`` reads: ``DIR/best_model.pth`` (a state_dict like SecBERT-PT's),
``DIR/backbone`` (the student's config.json + the teacher's tokenizer files) and ``DIR/distill.json``: decision
agreement with the teacher on a held-out slice of the texts (never trained or selected on): flips at the
teacher's tau and tau*, mean and max |dP|, and, with labelled data, the labelled metrics of both models.
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

from . import metrics
from .data import Columns, Example, load_examples, stratified_split
from .errors import CheckpointError, ConfigError, InputError
from .manifest import read_json, sha256_file
from .modeling import BertMLPClassifier, load_reference_model, torch, transformers
from .paths import cache_root, replace_atomically
from .recipe import DistillConfig, Selection
from .textio import SURROGATE, Fields, read_records
from .training import (
    WEIGHT_FILES,
    bucketed_batches,
    classification_loss,
    encode_examples,
    evaluate,
    labelled_batches,
    optimizer_step,
)

nn = torch.nn
F = torch.nn.functional

DISTILL_REPORT = "distill.json"


# ---------------------------------------------------------------------------------------------- texts


def read_texts(path: str | Path, text_column: str = "text", prompt_column: str | None = None) -> list[Example]:
    """Unlabelled texts from .txt (one per line) / .jsonl / .csv / .tsv / .parquet, as Examples with label 0.

    Unreadable rows and blank texts are dropped (the count is not an error: unlabelled corpora are messy);
    duplicates are kept once, in first-seen order, so the held-out slice never repeats a training text.
    """
    path = Path(path)
    fields = Fields(prompt=prompt_column, response=text_column) if prompt_column else Fields(text=text_column)
    records, _ = read_records(path, fields)
    items: list[tuple[object, object]] = [(r.prompt, r.text) for r in records]
    seen: set[tuple[str | None, str]] = set()
    out = []
    for prompt, text in items:
        if not isinstance(text, str) or not text.strip() or SURROGATE.search(text):
            continue  # an unreadable row, a blank text or invalid UTF-8 bytes (kept as surrogates by the reader)
        key = (None if prompt is None else str(prompt), text)
        if key not in seen:
            seen.add(key)
            out.append(Example(text, 0, key[0]))
    if not out:
        raise InputError(f"{path}: no non-empty texts found (column {text_column!r})")
    return out


# ---------------------------------------------------------------------------------------------- student


def layer_map(teacher_layers: int, student_layers: int) -> list[int]:
    """Which teacher layer (0-based) initialises / supervises each student layer: evenly spaced, ending at the last.

    12 -> 6: [1, 3, 5, 7, 9, 11]; 12 -> 4: [2, 5, 8, 11]; 2 -> 1: [1].
    """
    if not 1 <= student_layers <= teacher_layers:
        raise ConfigError(f"student layers must be in 1..{teacher_layers} (the teacher's), got {student_layers}")
    return [round((i + 1) * teacher_layers / student_layers) - 1 for i in range(student_layers)]


def student_config(teacher_config, layers: int, hidden: int | None = None):
    """The student's BertConfig: the teacher's with fewer layers, and narrower when ``hidden`` is given."""
    data = teacher_config.to_dict()
    data["num_hidden_layers"] = layers
    if hidden is not None and hidden != teacher_config.hidden_size:
        head_dim = teacher_config.hidden_size // teacher_config.num_attention_heads
        heads = max(1, hidden // head_dim)
        while hidden % heads:
            heads -= 1
        data["hidden_size"] = hidden
        data["num_attention_heads"] = heads
        data["intermediate_size"] = max(hidden, teacher_config.intermediate_size * hidden // teacher_config.hidden_size)
    return transformers.BertConfig.from_dict(data)


def init_student(
    teacher: BertMLPClassifier, layers: int, hidden: int | None = None, seed: int = 42
) -> BertMLPClassifier:
    """A student initialised from the teacher (embeddings, mapped layers, pooler, head) when the width fits; it pools
    as the teacher does (cls or mean)."""
    config = student_config(teacher.config, layers, hidden)
    torch.manual_seed(seed)
    head_hidden = teacher.classifier[0].out_features
    student = BertMLPClassifier(config, head_hidden=head_hidden, num_labels=teacher.num_labels, pooling=teacher.pooling)
    if config.hidden_size == teacher.config.hidden_size:
        student.bert.embeddings.load_state_dict(teacher.bert.embeddings.state_dict())
        for s, t in enumerate(layer_map(teacher.config.num_hidden_layers, layers)):
            student.bert.encoder.layer[s].load_state_dict(teacher.bert.encoder.layer[t].state_dict())
        if teacher.bert.pooler is not None:  # cls pooling; a mean-pooled teacher has none
            student.bert.pooler.load_state_dict(teacher.bert.pooler.state_dict())
        student.classifier.load_state_dict(teacher.classifier.state_dict())
    return student


# ---------------------------------------------------------------------------------------------- losses


def class_log_probs(logits, num_labels: int, temperature: float = 1.0):
    """log [P(class 0), P(class 1)] at a temperature; a sigmoid head's one logit z is the distribution [1-p, p]."""
    if num_labels == 1:
        z = logits[:, 0] / temperature
        return torch.stack([F.logsigmoid(-z), F.logsigmoid(z)], dim=-1)
    return F.log_softmax(logits / temperature, dim=-1)


def kd_loss(student_logits, teacher_logits, num_labels: int, temperature: float):
    """KL(teacher || student) at temperature T, scaled by T^2 (Hinton et al.), mean over the batch."""
    log_s = class_log_probs(student_logits, num_labels, temperature)
    log_t = class_log_probs(teacher_logits, num_labels, temperature)
    return (log_t.exp() * (log_t - log_s)).sum(-1).mean() * temperature**2


def _masked_mse(a, b, mask):
    weights = mask.unsqueeze(-1).to(a.dtype)
    return ((a - b) ** 2 * weights).sum() / (weights.sum() * a.shape[-1]).clamp_min(1.0)


# ---------------------------------------------------------------------------------------------- training


def _forward(model: BertMLPClassifier, ids, mask, types, *, states: bool, attentions: bool):
    out = model.bert(
        input_ids=ids,
        attention_mask=mask,
        token_type_ids=types,
        output_hidden_states=states,
        output_attentions=attentions,
    )
    return model.classifier(model.pool(out, mask)), out


def _agreement(teacher_p: Sequence[float], student_p: Sequence[float], thresholds: dict[str, float]) -> dict:
    import numpy as np

    t, s = np.asarray(teacher_p, dtype=np.float64), np.asarray(student_p, dtype=np.float64)
    diff = np.abs(t - s)
    flips = {name: int(((t >= tau) != (s >= tau)).sum()) for name, tau in thresholds.items()}
    return {
        "texts": int(t.size),
        "thresholds": thresholds,
        "flips": flips,
        "flip_rate": {name: n / t.size for name, n in flips.items()},
        "mean_abs_dp": float(diff.mean()),
        "max_abs_dp": float(diff.max()),
        "teacher_positive_rate": {name: float((t >= tau).mean()) for name, tau in thresholds.items()},
    }


def teacher_thresholds(checkpoint: str | Path, tau: float = 0.5, tau_star: float | None = None) -> dict[str, float]:
    """tau and tau* of the teacher: tau* given, else ``ks_threshold`` from metrics.json beside the checkpoint."""
    found = {"tau": float(tau)}
    if tau_star is None:
        side = Path(checkpoint).with_name("metrics.json")
        if side.is_file():
            value = read_json(side, CheckpointError).get("ks_threshold")
            tau_star = float(value) if isinstance(value, (int, float)) else None
    if tau_star is not None:
        found["tau*"] = float(tau_star)
    return found


def write_student_backbone(teacher_backbone: str | Path, folder: str | Path, config) -> Path:
    """The student's backbone folder: its config.json + every tokenizer file of the teacher's (no weights)."""
    src, folder = Path(teacher_backbone), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for item in src.iterdir():
        if (
            item.is_file()
            and item.name not in (*WEIGHT_FILES, "config.json")
            and not item.name.endswith((".safetensors", ".bin", ".pth", ".pt", ".h5", ".msgpack", ".ckpt"))
        ):
            shutil.copy2(item, folder / item.name)
    config.to_json_file(str(folder / "config.json"))
    return folder


def split_texts(texts: Sequence[Example], config: DistillConfig) -> tuple[list[Example], list[Example], list[Example]]:
    """(held out, validation, train): seeded by ``config.seed``, independent of the text order on disk."""
    order = list(range(len(texts)))
    random.Random(config.seed).shuffle(order)
    n_hold = max(1, round(len(texts) * config.holdout_fraction))
    n_val = max(1, round(len(texts) * config.validation_fraction))
    held = [texts[i] for i in order[:n_hold]]
    val = [texts[i] for i in order[n_hold : n_hold + n_val]]
    return held, val, [texts[i] for i in order[n_hold + n_val :]]


def distill(
    teacher_checkpoint: str | Path,
    teacher_backbone: str | Path,
    texts: Sequence[Example],
    out: str | Path,
    config: DistillConfig,
    *,
    labelled: Sequence[Example] | None = None,
    tau: float = 0.5,
    tau_star: float | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    log: Callable[[str], None] = lambda _: None,
    cache: bool = True,
) -> dict:
    """Distil; write OUT/best_model.pth, OUT/backbone and OUT/distill.json; return the report. ``cache``: keep the
    teacher's logits on the training and validation texts under the cache folder and reuse them when a later run
    has the same teacher, texts, split and scoring settings (scoring them is a third of a run on a CPU)."""
    started = time.perf_counter()
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    out = Path(out)
    teacher, ckpt = load_reference_model(teacher_checkpoint, teacher_backbone)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    t_layers = teacher.config.num_hidden_layers
    if config.layers > t_layers:
        raise ConfigError(f"--layers {config.layers} exceeds the teacher's {t_layers} layers; a student needs fewer")
    narrower = config.hidden is not None and config.hidden != teacher.config.hidden_size
    if config.hidden is not None and config.hidden > teacher.config.hidden_size:
        raise ConfigError(f"--hidden {config.hidden} exceeds the teacher's hidden size {teacher.config.hidden_size}")
    min_texts = 20
    if len(texts) < min_texts:
        raise InputError(
            f"{len(texts)} unlabelled texts; distillation needs at least {min_texts} (thousands are better)"
        )
    student = init_student(teacher, config.layers, config.hidden, seed=config.seed)
    mapping = layer_map(t_layers, config.layers)
    hidden_weight = config.effective_hidden_weight(narrower)
    attention_weight = config.attention_weight
    if attention_weight and student.config.num_attention_heads != teacher.config.num_attention_heads:
        raise ConfigError(
            f"the attention loss needs the teacher's {teacher.config.num_attention_heads} heads; the student has "
            f"{student.config.num_attention_heads} (--hidden {config.hidden}); set the attention weight to 0"
        )
    projection = (
        nn.Linear(student.config.hidden_size, teacher.config.hidden_size) if narrower and hidden_weight else None
    )
    thresholds = teacher_thresholds(teacher_checkpoint, tau, tau_star)

    # Split: held-out (report), validation (selection), train.
    held, val, train_texts = split_texts(texts, config)
    max_length = min(config.max_length, teacher.config.max_position_embeddings)
    log(f"encoding {len(texts)} texts ({len(train_texts)} train / {len(val)} validation / {len(held)} held out)")
    train_enc = encode_examples(train_texts, teacher_backbone, max_length)
    val_enc = encode_examples(val, teacher_backbone, max_length)
    held_enc = encode_examples(held, teacher_backbone, max_length)

    need_states = bool(hidden_weight or attention_weight)
    teacher_logits, val_teacher = _teacher_logits(
        teacher, ckpt.sha256, teacher_backbone, (train_enc, val_enc), config, use_cache=cache, log=log
    )

    by_objective = config.selection == Selection.OBJECTIVE.value
    lab_train, lab_val, lab_test, lab_enc, lab_val_enc = [], [], [], [], []
    if labelled:
        # "objective" selection keeps a tenth of the labelled rows to read the labelled loss on; "agreement" trains on
        # them (the split earlier builds used)
        parts = stratified_split(labelled, test=0.25, validation=0.1 if by_objective else 0.0, seed=config.seed)
        lab_train, lab_val, lab_test = parts.train, parts.validation, parts.test
        lab_enc = encode_examples(lab_train, teacher_backbone, max_length)
        if lab_val:
            lab_val_enc = encode_examples(lab_val, teacher_backbone, max_length)
            lab_val_y = torch.tensor([float(e.label) for e in lab_val])

    steps_per_epoch = math.ceil(len(train_enc) / config.batch_size)
    total_steps = config.max_steps or steps_per_epoch * config.epochs
    params = list(student.parameters()) + (list(projection.parameters()) if projection is not None else [])
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = transformers.get_linear_schedule_with_warmup(
        optimizer, int(total_steps * config.warmup_fraction), total_steps
    )
    rng = random.Random(config.seed)
    lab_rng = random.Random(config.seed + 1)

    def lab_batches():
        draw = bucketed_batches if config.labelled_bucketing else labelled_batches
        while True:
            yield from draw(lab_enc, [e.label for e in lab_train], config.batch_size, lab_rng)

    lab_iter = lab_batches() if lab_enc else None

    def validate() -> dict[str, float]:
        """Mean |dP| and KL at T=1 on the validation slice, and with "objective" selection the training objective
        there (KD at T, plus the weighted labelled loss on the labelled validation rows). "agreement" selects on
        |dP|: decisions live in probability space, while KL is dominated by saturated texts whose decision never
        moves."""
        student.eval()
        with torch.no_grad():
            logits = _logits(student, val_enc, config.batch_size * 2, config.length_bucketing)
            dp = (student.probability(logits) - teacher.probability(val_teacher)).abs().mean()
            row = {"val_mean_abs_dp": float(dp), "val_kl": float(kd_loss(logits, val_teacher, student.num_labels, 1.0))}
            if by_objective:
                objective = kd_loss(logits, val_teacher, student.num_labels, config.temperature)
                if lab_val_enc:
                    l_logits = _logits(student, lab_val_enc, config.batch_size * 2, config.length_bucketing)
                    objective = objective + config.labelled_weight * classification_loss(student, l_logits, lab_val_y)
                row["val_objective"] = float(objective)
        return row

    criterion = "val_objective" if by_objective else "val_mean_abs_dp"
    first = validate()
    best = first[criterion]
    history = [{"step": 0, "loss": None, **first}]
    best_state, best_step, step = _clone(student), 0, 0
    while step < total_steps:
        draw = bucketed_batches if config.length_bucketing else labelled_batches
        for ids, mask, types, idx in draw(train_enc, list(range(len(train_enc))), config.batch_size, rng):
            student.train()
            s_logits, s_out = _forward(student, ids, mask, types, states=need_states, attentions=bool(attention_weight))
            loss = kd_loss(s_logits, teacher_logits[idx.long()], student.num_labels, config.temperature)
            if need_states:
                with torch.no_grad():
                    _, t_out = _forward(teacher, ids, mask, types, states=True, attentions=bool(attention_weight))
                if hidden_weight:
                    pairs = [(0, 0)] + [(s + 1, t + 1) for s, t in enumerate(mapping)]
                    h_loss = sum(
                        _masked_mse(
                            projection(s_out.hidden_states[s]) if projection is not None else s_out.hidden_states[s],
                            t_out.hidden_states[t],
                            mask,
                        )
                        for s, t in pairs
                    ) / len(pairs)
                    loss = loss + hidden_weight * h_loss
                if attention_weight:
                    a_loss = sum(
                        F.mse_loss(s_out.attentions[s], t_out.attentions[t]) for s, t in enumerate(mapping)
                    ) / len(mapping)
                    loss = loss + attention_weight * a_loss
            if lab_iter is not None:
                l_ids, l_mask, l_types, l_y = next(lab_iter)
                loss = loss + config.labelled_weight * classification_loss(
                    student, student(l_ids, l_mask, l_types), l_y
                )
            value = optimizer_step(loss, params, optimizer, scheduler)
            step += 1
            if progress:
                progress(step, total_steps, value)
            epoch_end = step % steps_per_epoch == 0
            if step % config.eval_every == 0 or epoch_end or step == total_steps:
                row = validate()
                history.append({"step": step, "loss": value, **row})
                if row[criterion] < best:
                    best, best_step, best_state = row[criterion], step, _clone(student)
            if step >= total_steps:
                break
    seconds = time.perf_counter() - started
    student.load_state_dict(best_state)
    student.eval()

    out.mkdir(parents=True, exist_ok=True)
    torch.save(student.state_dict(), out / "best_model.pth")
    backbone_dir = write_student_backbone(teacher_backbone, out / "backbone", student.config)

    dummy = [0] * len(held)
    _, t_held = evaluate(teacher, held_enc, dummy)
    _, s_held = evaluate(student, held_enc, dummy)
    report: dict = {
        "teacher": {
            "checkpoint": str(teacher_checkpoint),
            "sha256": ckpt.sha256,
            "backbone": str(teacher_backbone),
            "layers": t_layers,
            "hidden": teacher.config.hidden_size,
            "parameters": sum(p.numel() for p in teacher.parameters()),
        },
        "student": {
            "checkpoint": str(out / "best_model.pth"),
            "backbone": str(backbone_dir),
            "layers": config.layers,
            "hidden": student.config.hidden_size,
            "heads": student.config.num_attention_heads,
            "parameters": sum(p.numel() for p in student.parameters()),
            "layer_map": mapping if not narrower else None,
            "init": "teacher (embeddings, mapped layers, pooler, head)" if not narrower else "random (seeded)",
            "pooling": student.pooling.value,
        },
        "config": dataclasses.asdict(config),
        "losses": {
            "kd_temperature": config.temperature,
            "hidden_weight": hidden_weight,
            "attention_weight": attention_weight,
            "labelled_weight": config.labelled_weight if labelled else 0.0,
        },
        "texts": {"total": len(texts), "train": len(train_texts), "validation": len(val), "held_out": len(held)},
        "steps": step,
        "best_step": best_step,
        "selection": config.selection,
        "best_val_mean_abs_dp": next(h["val_mean_abs_dp"] for h in history if h["step"] == best_step),
        **({"best_val_objective": best} if by_objective else {}),
        "seconds": round(seconds, 1),
        "history": history,
        "agreement": _agreement(t_held, s_held, thresholds),
    }
    if labelled:
        report["labelled"] = _labelled_report(teacher, student, lab_test, teacher_backbone, max_length, thresholds)
        report["labelled"]["train_examples"] = len(lab_train)
        report["labelled"]["validation_examples"] = len(lab_val)
    (out / DISTILL_REPORT).write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return report


def _teacher_logits(
    teacher: BertMLPClassifier,
    teacher_sha: str,
    teacher_backbone: str | Path,
    parts: tuple[list, ...],
    config: DistillConfig,
    *,
    use_cache: bool,
    log: Callable[[str], None],
) -> tuple:
    """The teacher's logits on each encoded part, from the cache when this teacher (checkpoint and backbone config)
    scored these exact token sequences with the same batching, thread count and torch version (float sums depend
    on all three, and a student trained on them should not)."""
    batch, by_length = config.batch_size * 2, config.length_bucketing
    digest = hashlib.sha256(
        json.dumps(
            {
                "teacher": teacher_sha,
                "backbone_config": sha256_file(Path(teacher_backbone) / "config.json"),
                "batch": batch,
                "by_length": by_length,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
            }
        ).encode()
    )
    for part in parts:
        digest.update(json.dumps([list(map(list, row)) for row in part]).encode())
    path = cache_root() / "teacher-logits" / f"{digest.hexdigest()[:32]}.pt"
    if use_cache and path.is_file():
        try:
            cached = torch.load(path)
            if isinstance(cached, list) and [len(c) for c in cached] == [len(p) for p in parts]:
                log(f"teacher scores from the cache ({path})")
                return tuple(cached)
        except Exception:  # a damaged entry is scored again and replaced
            pass
    log("scoring the texts with the teacher")
    with torch.no_grad():
        out = [_logits(teacher, part, batch, by_length) for part in parts]
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(path, lambda f: torch.save(out, f))
    return tuple(out)


def _clone(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _logits(model: BertMLPClassifier, encoded, batch_size: int, by_length: bool = False):
    """The model's logits for every encoded text, in order; ``by_length`` batches texts of similar length together
    (far less padding on texts of mixed lengths) and puts the rows back in order."""
    model.eval()
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0])) if by_length else list(range(len(encoded)))
    parts = []
    batches_in_order = labelled_batches([encoded[i] for i in order], order, batch_size, None)
    for ids, mask, types, _ in batches_in_order:
        parts.append(model(ids, mask, types))
    logits = torch.cat(parts).detach()
    if not by_length:
        return logits
    out = torch.empty_like(logits)
    out[torch.tensor(order)] = logits
    return out


def _labelled_report(
    teacher, student, examples: Sequence[Example], backbone, max_length: int, thresholds: dict[str, float]
) -> dict:
    labels = [e.label for e in examples]
    encoded = encode_examples(examples, backbone, max_length)
    _, t_scores = evaluate(teacher, encoded, labels)
    _, s_scores = evaluate(student, encoded, labels)
    result = {"test_examples": len(examples), "agreement": _agreement(t_scores, s_scores, thresholds)}
    if len(set(labels)) == 2:
        result["teacher"] = metrics.summary(labels, t_scores, thresholds).to_dict()
        result["student"] = metrics.summary(labels, s_scores, thresholds).to_dict()
    return result


def load_labelled(path: str | Path, columns: Columns | str = "text") -> list[Example]:
    """Labelled examples for the optional labelled loss (same readers and presets as train/verify)."""
    return load_examples(path, columns)


def describe(report: dict) -> str:
    """A few lines for the terminal."""
    a = report["agreement"]
    s, t = report["student"], report["teacher"]
    flips = ", ".join(
        f"{a['flips'][n]}/{a['texts']} ({100 * a['flip_rate'][n]:.2f}%) at {n}={a['thresholds'][n]:.4f}"
        for n in a["thresholds"]
    )
    lines = [
        f"student {s['layers']} layers x {s['hidden']} ({s['parameters']:,} parameters) from teacher "
        f"{t['layers']} x {t['hidden']} ({t['parameters']:,}); {report['steps']} steps in {report['seconds']} s, "
        f"best validation mean |dP| {report['best_val_mean_abs_dp']:.5f} at step {report['best_step']}",
        f"held-out agreement: flips {flips}; mean |dP| {a['mean_abs_dp']:.4f}, max |dP| {a['max_abs_dp']:.4f}",
    ]
    if "labelled" in report and "teacher" in report["labelled"]:
        lab = report["labelled"]
        lines.append(
            f"labelled test ({lab['test_examples']}): AUC teacher {lab['teacher']['auc']:.4f} / student "
            f"{lab['student']['auc']:.4f}; F1@tau teacher {lab['teacher']['at']['tau']['f1']:.4f} / student "
            f"{lab['student']['at']['tau']['f1']:.4f}"
        )
    return "\n".join(lines)


# Settings that decide which texts a student is scored on: students averaged together must share them.
_SPLIT_SETTINGS = ("seed", "holdout_fraction", "validation_fraction", "max_length")


def average_students(
    students: Sequence[str | Path],
    out: str | Path,
    teacher_checkpoint: str | Path,
    teacher_backbone: str | Path,
    texts: Sequence[Example],
    *,
    labelled: Sequence[Example] | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> dict:
    """The uniform average of several students' weights ("model soup", Wortsman et al. 2022) -> OUT/best_model.pth,
    OUT/backbone and OUT/distill.json with the average's own agreement with the teacher on the held-out texts.

    Averaging works for students that start from the same weights (here: the teacher's mapped layers) and differ in
    recipe (data, epochs, losses); each student folder is what :func:`distill` wrote, all from one teacher on the same
    ``texts`` with the same split settings, so the held-out slice the average is reported on is one none of them
    trained or selected on. On the embedded guard, three such students averaged scored the hand-written set's FPR at
    80% recall 8.5% against 11.5-12.3% for each alone (models/secbert_defaults/build.py). ``labelled``: the rows the
    students' labelled loss drew on (the ``labelled`` report uses the same seeded test quarter as :func:`distill`)."""
    folders = [Path(s) for s in students]
    if len(folders) < 2:
        raise ConfigError(f"averaging needs at least two students; got {len(folders)}")
    reports = []
    for folder in folders:
        path = folder / DISTILL_REPORT
        if not (folder / "best_model.pth").is_file() or not path.is_file():
            raise CheckpointError(f"{folder} is not a distilled student (no best_model.pth and {DISTILL_REPORT})")
        reports.append(read_json(path, CheckpointError))
    teacher, ckpt = load_reference_model(teacher_checkpoint, teacher_backbone)
    first = reports[0]
    for folder, each in zip(folders, reports, strict=True):
        if each["teacher"]["sha256"] != ckpt.sha256:
            raise ConfigError(f"{folder} was distilled from another teacher ({each['teacher']['sha256'][:12]}...)")
        for key in ("layers", "hidden", "layer_map", "init"):
            if each["student"].get(key) != first["student"].get(key):
                raise ConfigError(
                    f"{folder}: student {key} {each['student'].get(key)!r} differs from {folders[0]}'s "
                    f"{first['student'].get(key)!r}; only students of one shape and one initialisation average"
                )
        for key in _SPLIT_SETTINGS:
            if each["config"][key] != first["config"][key]:
                raise ConfigError(
                    f"{folder}: {key} {each['config'][key]!r} differs from {folders[0]}'s {first['config'][key]!r}: "
                    "the students' held-out texts would differ"
                )
        if each["texts"]["total"] != len(texts):
            raise ConfigError(f"{folder} was distilled on {each['texts']['total']} texts, not these {len(texts)}")
    states = [torch.load(folder / "best_model.pth", map_location="cpu", weights_only=True) for folder in folders]
    for folder, state in zip(folders[1:], states[1:], strict=True):
        if state.keys() != states[0].keys() or any(state[k].shape != states[0][k].shape for k in state):
            raise ConfigError(f"{folder}'s weights do not have {folders[0]}'s tensors and shapes")
    average = {
        k: sum(s[k].double() for s in states).div(len(states)).to(v.dtype) if v.is_floating_point() else v
        for k, v in states[0].items()
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(average, out / "best_model.pth")
    backbone_dir = out / "backbone"
    if backbone_dir.exists():
        shutil.rmtree(backbone_dir)
    shutil.copytree(folders[0] / "backbone", backbone_dir)
    student, _ = load_reference_model(out / "best_model.pth", backbone_dir)
    student.eval()
    split = DistillConfig(**{k: first["config"][k] for k in ("layers", *_SPLIT_SETTINGS)})
    held, _, _ = split_texts(texts, split)
    max_length = min(split.max_length, teacher.config.max_position_embeddings)
    log(f"scoring the average of {len(folders)} students and the teacher on {len(held)} held-out texts")
    held_enc = encode_examples(held, teacher_backbone, max_length)
    _, t_held = evaluate(teacher, held_enc, [0] * len(held))
    _, s_held = evaluate(student, held_enc, [0] * len(held))
    thresholds = teacher_thresholds(teacher_checkpoint)
    report: dict = {
        "teacher": first["teacher"],
        "student": {**first["student"], "checkpoint": str(out / "best_model.pth"), "backbone": str(backbone_dir)},
        "average": [
            {
                "folder": str(folder),
                "sha256": sha256_file(folder / "best_model.pth"),
                "config": each["config"],
                "steps": each["steps"],
                "best_step": each["best_step"],
                "agreement": {k: each["agreement"][k] for k in ("flips", "mean_abs_dp", "max_abs_dp")},
            }
            for folder, each in zip(folders, reports, strict=True)
        ],
        "config": first["config"],
        "losses": first["losses"],
        "texts": first["texts"],
        "steps": sum(r["steps"] for r in reports),
        "seconds": round(sum(r["seconds"] for r in reports), 1),
        "agreement": _agreement(t_held, s_held, thresholds),
    }
    if labelled:
        by_objective = first["config"].get("selection") == Selection.OBJECTIVE.value
        parts = stratified_split(labelled, test=0.25, validation=0.1 if by_objective else 0.0, seed=split.seed)
        report["labelled"] = _labelled_report(teacher, student, parts.test, teacher_backbone, max_length, thresholds)
    (out / DISTILL_REPORT).write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return report

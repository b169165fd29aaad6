"""The training and distillation recipes' settings: TrainConfig (SecBERT-PT's recipe) and DistillConfig.

Torch-free on purpose (stdlib only), so the command line builds `train`'s and `distill`'s options from these fields
(see :mod:`secbert_edge.settings`) without importing torch; :mod:`.training` and :mod:`.distill` run them.
"""

from __future__ import annotations

import dataclasses
import enum

from .errors import ConfigError
from .manifest import Pooling, Task
from .settings import setting


def _check(what: str, config: object, checks: dict[str, bool]) -> None:
    bad = [name for name, ok in checks.items() if not ok]
    if bad:
        raise ConfigError(f"invalid {what} settings: {', '.join(f'{n}={getattr(config, n)!r}' for n in bad)}")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    lr: float = setting(
        2e-5, "Peak AdamW learning rate (2e-5 fine-tunes; from scratch needs ~5e-4).", min=0, min_open=True
    )
    batch_size: int = setting(20, "Examples per step.", min=1)
    max_length: int = setting(512, "Max tokens per example.", min=8)
    warmup_fraction: float = 0.1
    epochs: int = setting(3, "Passes over the training split.", min=1)
    max_steps: int | None = setting(None, "Stop after this many steps (overrides --epochs).", min=1)
    eval_every: int = setting(50, "Steps between validation evaluations.", min=1)
    patience: int = setting(20, "Early stopping: evaluations without a better validation loss.", min=1)
    weight_decay: float = 0.01
    freeze_backbone: bool = setting(False, "Train the MLP head only.")
    num_labels: int = setting(1, "1 logit + sigmoid (the paper's maths), or 2 logits + softmax.", min=1, max=2)
    head_hidden: int = 128
    pooling: Pooling | None = setting(
        None,
        "cls (BERT's pooler, SecBERT-PT) or mean (over the attention mask, e5) [default: mean for a backbone whose "
        "weights hold no pooler, else cls].",
    )
    seed: int = setting(42, "Seeds the split, the initialisation and the batch order.")
    task: Task = Task.PROMPT
    # Draw batches from length-sorted windows of 50 batches (shuffled), so a batch is padded to texts of similar
    # length: several-fold fewer tokens per epoch on real text of mixed lengths (the embedded defaults' recipe).
    length_bucketing: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "task", Task(self.task))
        if self.pooling is not None:
            object.__setattr__(self, "pooling", Pooling(self.pooling))
        checks = {
            "lr": self.lr > 0,
            "batch_size": self.batch_size >= 1,
            "max_length": self.max_length >= 8,
            "warmup_fraction": 0 <= self.warmup_fraction < 1,
            "epochs": self.epochs >= 1,
            "eval_every": self.eval_every >= 1,
            "patience": self.patience >= 1,
            "num_labels": self.num_labels in (1, 2),
        }
        _check("training", self, checks)


class Selection(str, enum.Enum):
    """How distillation picks the step it keeps (DistillConfig.selection)."""

    AGREEMENT = "agreement"  # closest to the teacher: mean |dP| on the validation texts
    OBJECTIVE = "objective"  # lowest training objective on the validation texts (and labelled rows)


SELECTIONS = tuple(s.value for s in Selection)


@dataclasses.dataclass(frozen=True)
class DistillConfig:
    layers: int = setting(dataclasses.MISSING, "The student's encoder layers (fewer than the teacher's).", min=1)
    hidden: int | None = setting(
        None, "A narrower student (random init + projected hidden-state loss) [default: the teacher's].", min=8
    )
    epochs: int = setting(3, "Passes over the texts.", min=1)
    max_steps: int | None = setting(None, "Stop after this many steps (overrides --epochs).", min=1)
    batch_size: int = setting(32, "Texts per step.", min=1)
    lr: float = setting(1e-4, "Peak AdamW learning rate.", min=0, min_open=True)
    temperature: float = setting(2.0, "KD temperature T.", min=0, min_open=True)
    hidden_weight: float | None = setting(
        None, "Hidden-state MSE weight [default: 1 with --hidden, else 0].", flag="--hidden-loss", min=0
    )
    attention_weight: float = setting(
        0.0, "Attention-map MSE weight (needs the teacher's number of heads).", flag="--attention-loss", min=0
    )
    labelled_weight: float = setting(0.5, "Weight of the labelled loss (with --labelled).", min=0)
    selection: str = setting(
        Selection.AGREEMENT.value,
        "How the kept checkpoint is picked on the validation slice: agreement = closest to the teacher (mean |dP|); "
        "objective = lowest training objective (the KD loss at --temperature plus, with --labelled, the weighted "
        "labelled loss on a tenth of the labelled rows kept for it). With a large --labelled-weight the student "
        "leaves the teacher on purpose, and agreement keeps an early step.",
        choices=SELECTIONS,
    )
    max_length: int = setting(512, "Max tokens per text.", min=8)
    holdout_fraction: float = setting(
        0.1,
        "Share of the texts held out for the agreement report (never trained or selected on).",
        flag="--holdout",
        min=0,
        min_open=True,
    )
    length_bucketing: bool = setting(
        False,
        "Draw batches from length-sorted windows of 50 batches (shuffled) and score texts with the teacher sorted by "
        "length: several-fold fewer padded tokens on texts of mixed lengths (the embedded defaults' recipe).",
    )
    labelled_bucketing: bool = setting(
        False,
        "Draw the --labelled rows' batches the same way (a random batch pads to its longest row: on the embedded "
        "guard's rows, up to 256 tokens, 100 steps took 11-12 min with random labelled batches, ~4.8 with these).",
    )
    validation_fraction: float = 0.1  # texts for picking the best student
    eval_every: int = 100  # steps between validation evaluations (also at the end of each epoch)
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    seed: int = setting(42, "Seeds the split, the initialisation and the batch order.")

    def __post_init__(self) -> None:
        checks = {
            "layers": self.layers >= 1,
            "hidden": self.hidden is None or self.hidden >= 8,
            "epochs": self.epochs >= 1,
            "max_steps": self.max_steps is None or self.max_steps >= 1,
            "batch_size": self.batch_size >= 1,
            "lr": self.lr > 0,
            "temperature": self.temperature > 0,
            "hidden_weight": self.hidden_weight is None or self.hidden_weight >= 0,
            "attention_weight": self.attention_weight >= 0,
            "labelled_weight": self.labelled_weight >= 0,
            "selection": self.selection in SELECTIONS,
            "max_length": self.max_length >= 8,
            "holdout_fraction": 0 < self.holdout_fraction < 0.5,
            "validation_fraction": 0 < self.validation_fraction < 0.5,
            "eval_every": self.eval_every >= 1,
            "warmup_fraction": 0 <= self.warmup_fraction < 1,
        }
        _check("distillation", self, checks)

    def effective_hidden_weight(self, narrower: bool) -> float:
        if self.hidden_weight is not None:
            return self.hidden_weight
        return 1.0 if narrower else 0.0

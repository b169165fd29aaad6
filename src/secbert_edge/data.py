"""Labelled datasets: CSV / TSV / JSONL / Parquet with column mapping, presets for the real layouts, labels,
and the stratified splits of the paper (75/25 train/test, plus a validation split for early stopping).

Light on purpose (no pandas, no numpy): ``verify`` and ``train`` both read data through here. Cells are read
as strings, so an empty TSV cell is "" — never NaN.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import random
from collections.abc import Sequence
from pathlib import Path

from .errors import ConfigError, InputError
from .textio import SURROGATE, BadItem, iter_rows

DATA_FORMATS = (".csv", ".tsv", ".jsonl", ".parquet")

# Label spellings accepted everywhere (train, verify); 1 = harmful / unsafe.
LABELS = {
    "1": 1,
    "0": 0,
    "1.0": 1,
    "0.0": 0,
    "true": 1,
    "false": 0,
    "harmful": 1,
    "benign": 0,
    "unsafe": 1,
    "safe": 0,
    "jailbreak": 1,
    "unharmful": 0,
    "vanilla_harmful": 1,
    "adversarial_harmful": 1,
    "vanilla_benign": 0,
    "adversarial_benign": 0,
}


@dataclasses.dataclass(frozen=True)
class Example:
    text: str  # the prompt (task prompt) or the response (task response)
    label: int
    prompt: str | None = None  # task response: the prompt the response answers, encoded as sentence A


@dataclasses.dataclass(frozen=True)
class Columns:
    """Which columns hold the text, the label and (for responses) the prompt."""

    text: str = "text"
    label: str = "label"
    prompt: str | None = None
    fallback_text: str | None = None  # used when ``text`` is empty (WildJailbreak: adversarial -> vanilla)


class Preset(str, enum.Enum):
    """Column layouts of the datasets this project reads."""

    TEXT = "text"
    WILDJAILBREAK = "wildjailbreak"
    RESPONSE = "response"


PRESETS = {
    # Generic: one text column and one label column.
    "text": Columns(),
    # WildJailbreak / harmful-prompts-pt: the adversarial prompt when present, else the vanilla one;
    # data_type in vanilla_harmful / adversarial_harmful / vanilla_benign / adversarial_benign -> 1/1/0/0.
    "wildjailbreak": Columns(text="adversarial", label="data_type", fallback_text="vanilla"),
    # Response judges (SecureBreak-like): the response is scored, its prompt is sentence A.
    "response": Columns(text="response", label="label", prompt="prompt"),
}


def columns_for(
    preset: str | Preset, *, text: str | None = None, label: str | None = None, prompt: str | None = None
) -> Columns:
    """A preset's columns with any of them overridden (``None`` keeps the preset's)."""
    overrides = {k: v for k, v in (("text", text), ("label", label), ("prompt", prompt)) if v}
    return dataclasses.replace(PRESETS[Preset(preset).value], **overrides)


def parse_label(value: object) -> int:
    key = str(value).strip().lower()
    if key not in LABELS:
        raise KeyError(key)
    return LABELS[key]


def read_rows(path: str | Path) -> list[dict]:
    """Every row of a CSV/TSV/JSONL/Parquet file as a dict of column -> value (strings for CSV/TSV), in order.

    Rows are split exactly as :mod:`secbert_edge.textio` splits them (on ``\\n`` only); labelled data must be clean,
    so a row that cannot be read (invalid JSON, wrong field count, bytes that are not UTF-8) raises, naming it.
    """
    path = Path(path)
    if path.suffix.lower() not in DATA_FORMATS:
        if not path.is_file():
            raise InputError(f"data file {path} does not exist")
        raise InputError(
            f"{path}: unsupported data format {path.suffix.lower()!r}; use one of {', '.join(DATA_FORMATS)}"
        )
    rows = []
    for number, row in iter_rows(path):
        if isinstance(row, BadItem):
            raise InputError(f"{path}: {row.reason}; fix the row (labelled data must be clean)")
        bad = next((k for k, v in row.items() if isinstance(v, str) and SURROGATE.search(v)), None)
        if bad is not None:
            raise InputError(
                f"{path}: row {number}, column {bad!r} holds bytes that are not valid UTF-8; re-encode "
                "the file as UTF-8"
            )
        rows.append(row)
    return rows


def load_examples(path: str | Path, columns: Columns | str = "text") -> list[Example]:
    """Read a labelled file into Examples; missing columns or unknown labels raise listing what was found."""
    cols = PRESETS[columns] if isinstance(columns, str) else columns
    rows = read_rows(path)
    if not rows:
        raise InputError(f"{path} holds no rows")
    found = list(rows[0].keys())
    needed = [c for c in (cols.text, cols.label, cols.prompt) if c]
    missing = [c for c in needed if c not in found and not (c == cols.text and cols.fallback_text in found)]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {missing}; columns found: {found}. Map them with the column options."
        )
    examples: list[Example] = []
    unknown: dict[str, int] = {}
    for n, row in enumerate(rows):
        text = row.get(cols.text)
        if (text is None or str(text).strip() == "") and cols.fallback_text:
            text = row.get(cols.fallback_text)
        try:
            label = parse_label(row.get(cols.label))
        except KeyError as err:
            unknown.setdefault(err.args[0], n)
            continue
        prompt = row.get(cols.prompt) if cols.prompt else None
        examples.append(Example("" if text is None else str(text), label, None if prompt is None else str(prompt)))
    if unknown:
        listing = ", ".join(f"{value!r} (first at row {row})" for value, row in list(unknown.items())[:10])
        raise InputError(
            f"{path}: unknown label value(s) in column {cols.label!r}: {listing}. Accepted: 0/1, true/false, "
            "harmful/benign, unsafe/safe, and WildJailbreak's data_type values."
        )
    return examples


@dataclasses.dataclass(frozen=True)
class Splits:
    train: list[Example]
    validation: list[Example]
    test: list[Example]


def stratified_split(
    examples: Sequence[Example], *, test: float = 0.25, validation: float = 0.1, seed: int = 42
) -> Splits:
    """Per-class shuffled split: ``test`` of each class to test, ``validation`` of each class to validation."""
    if not 0 < test < 1 or not 0 <= validation < 1 or test + validation >= 1:
        raise ConfigError(f"test ({test}) and validation ({validation}) fractions must be in (0,1) and sum below 1")
    rng = random.Random(seed)
    parts: dict[str, list[Example]] = {"train": [], "validation": [], "test": []}
    for label in sorted({e.label for e in examples}):
        group = [e for e in examples if e.label == label]
        rng.shuffle(group)
        n_test, n_val = round(len(group) * test), round(len(group) * validation)
        parts["test"] += group[:n_test]
        parts["validation"] += group[n_test : n_test + n_val]
        parts["train"] += group[n_test + n_val :]
    for part in parts.values():
        rng.shuffle(part)
    return Splits(**parts)


def write_jsonl(path: str | Path, examples: Sequence[Example]) -> Path:
    path = Path(path)
    with open(path, "w", encoding="utf-8") as fh:
        for e in examples:
            row = (
                {"text": e.text, "label": e.label}
                if e.prompt is None
                else {"prompt": e.prompt, "response": e.text, "label": e.label}
            )
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path

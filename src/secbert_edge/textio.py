"""Reading texts to classify from files: .txt (one per line), .jsonl, .csv, .tsv.

Files are decoded as UTF-8 with ``surrogateescape``, so one line of invalid bytes does not stop the file:
that item carries the bad bytes and the runtime reports it on its own, while every other item is scored.
Whole-file problems (missing file, unknown column) raise an InputError that lists what was found.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .errors import InputError

TEXT_FORMATS = (".txt", ".jsonl", ".csv", ".tsv")


class BadItem:
    """A placeholder for an item that could not be read; the runtime reports ``reason`` for it."""

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self) -> str:
        return f"BadItem({self.reason!r})"


def read_text_file(path: str | Path, text_column: str = "text") -> list[object]:
    """The items of a file in order: str, or BadItem for a row that cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist")
    suffix = path.suffix.lower()
    if suffix not in TEXT_FORMATS:
        raise InputError(f"{path}: unsupported file type {suffix!r}; use one of {', '.join(TEXT_FORMATS)}")
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # UTF-8 byte-order mark
    text = raw.decode("utf-8", errors="surrogateescape")
    if suffix == ".txt":
        return text.splitlines()
    if suffix == ".jsonl":
        return _read_jsonl(text, text_column, path)
    return _read_delimited(text, "\t" if suffix == ".tsv" else ",", text_column, path)


def _read_jsonl(text: str, column: str, path: Path) -> list[object]:
    items: list[object] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            items.append(BadItem(f"line {n} is not valid JSON ({err.msg})"))
            continue
        if isinstance(obj, dict):
            if column not in obj:
                items.append(BadItem(f"line {n} has no {column!r} field (fields: {sorted(obj)}); use --text-column"))
            else:
                items.append(obj[column])
        else:
            items.append(obj)  # a bare JSON string per line; non-strings are reported by the runtime
    return items


def _read_delimited(text: str, delimiter: str, column: str, path: Path) -> list[object]:
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    fields = reader.fieldnames or []
    if column not in fields:
        raise InputError(f"{path} has no column {column!r} (columns: {fields}); pass --text-column NAME")
    return [row[column] if row[column] is not None else BadItem("row has too few fields") for row in reader]


def read_pair_file(path: str | Path, prompt_column: str = "prompt", response_column: str = "response") -> list[tuple]:
    """(prompt, response) per row of a .jsonl/.csv/.tsv file; unreadable cells come back as BadItem."""
    path = Path(path)
    if path.suffix.lower() == ".txt":
        raise InputError(f"{path}: pairs need named columns; use .jsonl, .csv or .tsv with --prompt-column/--response-column")
    return list(zip(read_text_file(path, prompt_column), read_text_file(path, response_column)))

"""Reading records to score from files and streams: .txt (one text per line), .jsonl, .csv, .tsv, .parquet.

Every row in is a row out. Three rules hold in every reader of the package (this module and ``data.py``):

- **Records split on ``\\n`` only** (a ``\\r`` before it is dropped). ``str.splitlines()`` also splits on U+2028,
  U+2029, U+0085, \\x0b, \\x0c, \\x1c-\\x1e, which JSON strings may hold raw and scraped text often does; splitting
  there would cut rows in two and shift every later result onto the wrong text.
- **Each record carries its row's id**: the value of an id column when one is named, else the row's number in the
  file (1-based: the line for .txt/.jsonl, the data row for .csv/.tsv/.parquet, the header not counted), so results
  can be joined back without trusting positions.
- **A bad row costs only itself**: invalid UTF-8 bytes are kept (``surrogateescape``) and reported by the runtime for
  that row; a line that is not JSON, or lacks the text field, becomes a :class:`BadItem` with the reason. Blank lines
  of .txt/.jsonl are skipped and counted, not errors. Whole-file problems (missing file, unknown column, no records at
  all) raise an :class:`InputError` naming what was found.

Readers stream: :func:`iter_records` holds one row (Parquet: one record batch) at a time.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from .errors import InputError, require

TEXT_FORMATS = (".txt", ".jsonl", ".csv", ".tsv", ".parquet")
SURROGATE = re.compile("[\udc80-\udcff]")  # what surrogateescape leaves for bytes that are not UTF-8
_BOM = b"\xef\xbb\xbf"
csv.field_size_limit(2**31 - 1)  # the default (131,072 characters) would fail a long text mid-file


class BadItem:
    """A placeholder for a row that could not be read; the runtime reports ``reason`` for it."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self) -> str:
        return f"BadItem({self.reason!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BadItem) and other.reason == self.reason

    def __hash__(self) -> int:
        return hash(self.reason)


@dataclasses.dataclass(frozen=True)
class Record:
    """One input row: its id, the text to score (str, or a BadItem / non-text the runtime reports) and, for a
    response judge, the prompt it answers (None for a single text)."""

    id: Any
    text: object
    prompt: object = None


@dataclasses.dataclass(frozen=True)
class Fields:
    """Which field of a row holds what. ``response`` set means pairs (``prompt`` + ``response``), else ``text``.
    ``id`` None means the row number."""

    text: str = "text"
    id: str | None = None
    prompt: str | None = None
    response: str | None = None

    @property
    def pairs(self) -> bool:
        return self.response is not None

    def wanted(self) -> dict[str, str]:
        """role -> column name, for the columns a row must have."""
        roles = {"prompt": self.prompt, "response": self.response} if self.pairs else {"text": self.text}
        if self.id is not None:
            roles["id"] = self.id
        return {role: name for role, name in roles.items() if name is not None}


OPTION_OF = {"text": "--text-column", "prompt": "--prompt-column", "response": "--response-column", "id": "--id-column"}


@dataclasses.dataclass
class ReadStats:
    """What a reader saw besides the records it yielded (filled in as it streams)."""

    records: int = 0
    blank_lines: int = 0  # .txt/.jsonl lines that were empty or whitespace only: skipped
    bad_rows: int = 0  # rows yielded as BadItem
    duplicate_ids: int = 0  # ids seen before (the row is still scored)


def split_records(stream: IO[bytes]) -> Iterator[tuple[int, str]]:
    """(line number, line) for each ``\\n``-terminated line of a binary stream; ``\\r\\n`` ends a line too, a UTF-8
    byte-order mark at the start is dropped, and bytes that are not UTF-8 are kept as surrogates."""
    for number, raw in enumerate(stream, start=1):  # binary iteration splits on b"\n" and nothing else
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        if raw.endswith(b"\n"):
            raw = raw[:-1]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        yield number, raw.decode("utf-8", errors="surrogateescape")


def parquet_files(path: Path) -> list[Path]:
    """The .parquet files of a dataset folder (as Spark, Ray or pyarrow write them), in name order; [] when none."""
    return sorted(p for p in path.rglob("*.parquet") if p.is_file() and not p.name.startswith((".", "_")))


def _check_path(path: Path) -> str:
    if path.is_dir():  # a Parquet dataset folder (issue 14): its files are read in name order, rows numbered on
        if not parquet_files(path):
            raise InputError(f"{path} is a folder with no .parquet files; pass a file or a Parquet dataset folder")
        return ".parquet"
    if not path.is_file():
        raise InputError(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    suffix = path.suffix.lower()
    if suffix not in TEXT_FORMATS:
        raise InputError(f"{path}: unsupported file type {suffix or '(none)'!r}; use one of {', '.join(TEXT_FORMATS)}")
    return suffix


def _missing_columns(path: Path, found: Iterable[str], fields: Fields) -> None:
    found = list(found)
    missing = [(role, name) for role, name in fields.wanted().items() if name not in found]
    if missing:
        what = "; ".join(
            f"no {name!r} column for the {role} (choose it with {OPTION_OF[role]})" for role, name in missing
        )
        raise InputError(f"{path}: {what}. Columns found: {', '.join(map(repr, found)) or 'none'}")


def _from_row(row: dict, fields: Fields, where: str) -> tuple[Any, object, object]:
    """(id or None, text, prompt) from a row that is a dict of columns; absent fields become BadItems."""
    ident = row.get(fields.id) if fields.id is not None else None

    def field(role: str, name: str) -> object:
        if name not in row:
            return BadItem(
                f"{where} has no {name!r} field for the {role} (fields: {sorted(map(str, row))}); "
                f"choose it with {OPTION_OF[role]}"
            )
        return row[name]

    if fields.pairs:
        return ident, field("response", fields.response), field("prompt", fields.prompt)  # type: ignore[arg-type]
    return ident, field("text", fields.text), None


def _rows_txt(stream: IO[bytes], stats: ReadStats, fields: Fields) -> Iterator[tuple[int, dict | BadItem]]:
    for number, line in split_records(stream):
        if not line.strip():
            stats.blank_lines += 1
            continue
        yield number, {fields.text: line}


def _rows_jsonl(stream: IO[bytes], stats: ReadStats, fields: Fields | None) -> Iterator[tuple[int, dict | BadItem]]:
    for number, line in split_records(stream):
        if not line.strip():
            stats.blank_lines += 1
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            yield number, BadItem(f"line {number} is not valid JSON ({err.msg} at column {err.colno})")
            continue
        if isinstance(obj, dict):
            yield number, obj
        elif fields is None or fields.pairs:
            yield number, BadItem(f"line {number} is a JSON {type(obj).__name__}, not an object of named fields")
        else:
            yield number, {fields.text: obj}  # a bare JSON value per line is the text; non-strings are reported later


def _rows_delimited(
    stream: IO[bytes], delimiter: str, path: Path, fields: Fields | None, stats: ReadStats
) -> Iterator[tuple[int, dict | BadItem]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    if fields is not None:
        _missing_columns(path, header, fields)
    number = 0
    for cells in reader:
        if not cells:  # csv gives [] for an empty line: not a data row
            stats.blank_lines += 1
            continue
        number += 1
        if len(cells) != len(header):
            yield (
                number,
                BadItem(
                    f"row {number} (line {reader.line_num}) has {len(cells)} fields, the header has "
                    f"{len(header)}; quote fields that hold the delimiter"
                ),
            )
            continue
        yield number, dict(zip(header, cells))


def _rows_parquet(path: Path, fields: Fields | None, batch_rows: int) -> Iterator[tuple[int, dict | BadItem]]:
    pq = require("pyarrow.parquet", "data", "Reading Parquet files")
    files = parquet_files(path) if path.is_dir() else [path]
    number = 0
    for file in files:  # a dataset folder: one file after another, row numbers running on across files
        parquet = pq.ParquetFile(file)
        columns = None
        if fields is not None:
            _missing_columns(file, parquet.schema_arrow.names, fields)
            columns = list(dict.fromkeys(fields.wanted().values()))
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
            for row in batch.to_pylist():
                number += 1
                yield number, row


def iter_rows(
    source: str | Path | IO[bytes],
    fields: Fields | None = None,
    *,
    stats: ReadStats | None = None,
    batch_rows: int = 1024,
    suffix: str | None = None,
) -> Iterator[tuple[int, dict | BadItem]]:
    """(row number, row as a dict of columns, or a BadItem) for each row of a file (by its extension), of a Parquet
    dataset folder, or of a binary stream (``suffix``, '.txt' by default). With ``fields``, a file whose header lacks a
    needed column raises InputError before the first row; a .txt line is ``{"text": line}``."""
    stats = stats if stats is not None else ReadStats()
    if isinstance(source, (str, Path)):
        path = Path(source)
        suffix = _check_path(path)
    else:
        path, suffix = Path("<stdin>"), (suffix or ".txt")
    if suffix == ".txt" and fields is not None and (fields.pairs or fields.id is not None):
        raise InputError(
            f"{path}: a .txt file has one text per line and no columns; use .jsonl, .csv or .tsv for "
            f"{'--prompt-column/--response-column' if fields.pairs else '--id-column'}"
        )
    if suffix == ".parquet":
        yield from _rows_parquet(path, fields, batch_rows)
        return
    with open(path, "rb") if isinstance(source, (str, Path)) else contextlib.nullcontext(source) as stream:
        if suffix == ".txt":
            yield from _rows_txt(stream, stats, fields or Fields())
        elif suffix == ".jsonl":
            yield from _rows_jsonl(stream, stats, fields)
        else:
            yield from _rows_delimited(stream, "\t" if suffix == ".tsv" else ",", path, fields, stats)


def iter_records(
    source: str | Path | IO[bytes],
    fields: Fields = Fields(),
    *,
    stats: ReadStats | None = None,
    batch_rows: int = 1024,
    suffix: str | None = None,
) -> Iterator[Record]:
    """Stream the records of a file or stream (see :func:`iter_rows`), one per row, in order.

    Whole-file problems raise InputError before the first record; a bad row is yielded as a Record whose text is a
    BadItem. ``stats`` (optional) is filled in while streaming: blank lines skipped, bad rows, duplicate ids.
    """
    stats = stats if stats is not None else ReadStats()
    rows = iter_rows(source, fields, stats=stats, batch_rows=batch_rows, suffix=suffix)
    yield from _records(rows, fields, stats)


def _records(rows: Iterator[tuple[int, dict | BadItem]], fields: Fields, stats: ReadStats) -> Iterator[Record]:
    seen: set = set()
    for number, row in rows:
        stats.records += 1
        if isinstance(row, BadItem):
            stats.bad_rows += 1
            yield Record(number, row, row if fields.pairs else None)
            continue
        ident, text, prompt = _from_row(row, fields, f"row {number}")
        if fields.id is not None:
            if ident is None or (isinstance(ident, str) and not ident.strip()):
                reason = BadItem(f"row {number} has no {fields.id!r} id; every row needs one when --id-column is set")
                stats.bad_rows += 1
                yield Record(number, reason, reason if fields.pairs else None)
                continue
            try:
                if ident in seen:
                    stats.duplicate_ids += 1
                seen.add(ident)
            except TypeError:  # an unhashable id (a JSON list/object): still passed through, not de-duplicated
                pass
        else:
            ident = number
        if isinstance(text, BadItem) or isinstance(prompt, BadItem):
            stats.bad_rows += 1
        yield Record(ident, text, prompt)


def read_records(
    source: str | Path | IO[bytes], fields: Fields = Fields(), *, suffix: str | None = None
) -> tuple[list[Record], ReadStats]:
    """Every record of a file or stream, in order, with what the reader saw. An input with no records at all (empty,
    or only blank lines, or only a header) raises InputError saying so."""
    stats = ReadStats()
    records = list(iter_records(source, fields, stats=stats, suffix=suffix))
    if not records:
        name = source if isinstance(source, (str, Path)) else "standard input"
        blank = f" (only {stats.blank_lines} blank line{'s' * (stats.blank_lines != 1)})" if stats.blank_lines else ""
        raise InputError(f"{name} holds no records to score{blank}")
    return records, stats


def records_from_texts(texts: Sequence[str], pairs: bool = False) -> list[Record]:
    """Records from a list of texts (ids 1..n), or, with ``pairs``, from alternating prompt, response texts."""
    if not pairs:
        return [Record(n, t) for n, t in enumerate(texts, start=1)]
    if len(texts) % 2:
        raise InputError(f"pairs take prompt, response, prompt, response ...; got {len(texts)} texts")
    return [Record(n, r, p) for n, (p, r) in enumerate(zip(texts[0::2], texts[1::2]), start=1)]


def read_stdin(fields: Fields = Fields()) -> tuple[list[Record], ReadStats]:
    """Lines of standard input (one text per line, split on \\n only), as .txt."""
    return read_records(sys.stdin.buffer, fields, suffix=".txt")


def read_texts(path: str | Path, text_column: str = "text") -> list[str]:
    """The readable texts of a file, in order (for calibration and workloads, where a bad row is simply left out)."""
    records, _ = read_records(path, Fields(text=text_column))
    return [r.text for r in records if isinstance(r.text, str) and r.text.strip()]

"""Score a corpus on one box, streaming: read -> score in chunks -> write Parquet or JSONL (``secbert-edge score``).

Memory is bounded by ``batch_rows``, not by the file: the reader (:func:`secbert_edge.textio.iter_records`) holds one
chunk of rows, the runtime scores it, and the chunk is written as one part file before the next is read.

Each chunk ``k`` (input records ``k*batch_rows`` to ``(k+1)*batch_rows - 1``) is written to
``<output>.parts/part-<k>.<ext>`` through a temporary name and an atomic rename, so a part on disk is always
complete. When every chunk is written, the parts are streamed into ``output`` (Parquet: one row group per part;
JSONL: lines) and the parts folder is removed. After an interruption (kill, power cut, Ctrl-C) ``resume=True`` keeps
the parts already written, skips their records without scoring them, and scores the rest: a killed job loses nothing
and scores nothing twice. The parts folder holds ``state.json`` (input, fields, model, variant, threshold, chunk size);
a resume with other settings is refused rather than mixing two runs in one output.

Output rows: one per input record, in input order, with the id column (``fields.id``, else ``id`` = the 1-based row
number) and ``score``, ``label``, ``n_tokens``, ``truncated``, ``error`` (set, and the others null, for a row that
could not be scored).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from .errors import ConfigError, InputError, require
from .textio import Fields, ReadStats, Record, iter_records, parquet_files

OUTPUT_FORMATS = (".parquet", ".jsonl")
RESULT_COLUMNS = ("score", "label", "n_tokens", "truncated", "error")
STATE_FILE = "state.json"


@dataclasses.dataclass(frozen=True)
class ScoreSummary:
    """What a scoring job did. ``resumed_rows`` were already written by an earlier, interrupted run (not re-scored)."""

    output: str
    rows: int
    scored_now: int
    resumed_rows: int
    errors: int
    blank_lines: int
    duplicate_ids: int
    seconds: float

    @property
    def rows_per_s(self) -> float:
        return self.scored_now / self.seconds if self.seconds > 0 else 0.0


def open_classifier(model_dir: str | Path, config: Any = None, **overrides: Any) -> Any:
    """The one place scoring (local engine, Ray actors, Ray Serve replicas) opens a model package: ``config`` a
    RuntimeConfig, ``overrides`` its fields or its session's, flat (what ``runtime.load`` takes)."""
    from .runtime import load

    return load(model_dir, config, **overrides)


def output_format(output: Path) -> str:
    suffix = output.suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise ConfigError(f"--output {output}: unsupported extension {suffix or '(none)'!r}; use .parquet or .jsonl")
    return suffix


def id_column(fields: Fields) -> str:
    """The output's id column: the input's id column, else ``id`` (the row number)."""
    return fields.id if fields.id is not None else "id"


def result_rows(records: Sequence[Record], predictions: Sequence[Any]) -> dict[str, list]:
    """Columns for a chunk: the id passed through plus the result columns (None where a field does not apply)."""
    cols: dict[str, list] = {"id": [r.id for r in records], **{c: [] for c in RESULT_COLUMNS}}
    for p in predictions:
        cols["score"].append(p.score)
        cols["label"].append(p.label)
        cols["n_tokens"].append(p.n_tokens)
        cols["truncated"].append(p.truncated)
        cols["error"].append(p.error)
    return cols


def predict_chunk(clf: Any, records: Sequence[Record], pairs: bool, threshold: float | str | None) -> list[Any]:
    texts = [r.text for r in records]
    if pairs:
        return clf.predict_pairs([r.prompt for r in records], texts, threshold=threshold)
    return clf.predict(texts, threshold=threshold)


def arrow_table(cols: dict[str, list], id_name: str, id_type: Any = None) -> Any:
    """A pyarrow Table of a chunk's columns with a fixed schema (the id's type decided by the first chunk)."""
    pa = require("pyarrow", "data", "Writing Parquet output")
    ids = cols["id"]
    if id_type is None:
        id_type = pa.int64() if all(isinstance(i, int) and not isinstance(i, bool) for i in ids) else pa.string()
    if pa.types.is_string(id_type):
        ids = [i if isinstance(i, str) else json.dumps(i, ensure_ascii=False, default=str) for i in ids]
    try:
        id_array = pa.array(ids, type=id_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as err:
        raise InputError(
            f"the id column {id_name!r} mixes types (the first chunk had {id_type} ids, this one has "
            f"{sorted({type(i).__name__ for i in ids})}); give every row an id of one type (quote "
            "numeric ids as strings)"
        ) from err
    schema = pa.schema(
        [
            (id_name, id_type),
            ("score", pa.float64()),
            ("label", pa.string()),
            ("n_tokens", pa.int64()),
            ("truncated", pa.bool_()),
            ("error", pa.string()),
        ]
    )
    arrays = [id_array] + [pa.array(cols[c], type=schema.field(c).type) for c in RESULT_COLUMNS]
    return pa.Table.from_arrays(arrays, schema=schema)


class Progress:
    """A one-line progress report on stderr: rows done (of the total, when known), rows/s, ETA."""

    def __init__(self, total: int | None, *, stream: IO[str] | None = None, every_s: float = 0.5, enabled: bool = True):
        self.total, self.stream, self.every_s, self.enabled = total, stream or sys.stderr, every_s, enabled
        self.started = time.perf_counter()
        self.last = 0.0
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, done: int, scored: int, *, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not final and now - self.last < (self.every_s if self.tty else 10.0):
            return
        self.last = now
        rate = scored / (now - self.started) if now > self.started else 0.0
        of = f" / {self.total:,}" if self.total else ""
        eta = f"  ETA {max(0, self.total - done) / rate:,.0f} s" if self.total and rate > 0 and not final else ""
        line = f"scoring: {done:,}{of} rows  {rate:,.0f} rows/s{eta}"
        self.stream.write(("\r" + line.ljust(60)) if self.tty else line + "\n")
        if final and self.tty:
            self.stream.write("\n")
        self.stream.flush()


def count_rows(path: Path) -> int | None:
    """Rows of a Parquet file or folder from its metadata (free); None for text formats (would need a full read)."""
    if path.is_dir() or path.suffix.lower() == ".parquet":
        pq = require("pyarrow.parquet", "data", "Reading Parquet files")
        files = parquet_files(path) if path.is_dir() else [path]
        return sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    return None


def _fingerprint(path: Path) -> list[list[Any]]:
    files = parquet_files(path) if path.is_dir() else [path]
    return [[str(f.resolve()), f.stat().st_size, int(f.stat().st_mtime)] for f in files]


def parts_dir(output: Path) -> Path:
    return output.with_name(output.name + ".parts")


def _part_name(index: int, ext: str) -> str:
    return f"part-{index:08d}{ext}"


def _done_parts(parts: Path, ext: str) -> int:
    """How many parts, from part 0 on without a gap, are complete on disk (tmp files of a killed write removed)."""
    for tmp in parts.glob("*.tmp"):
        tmp.unlink()
    n = 0
    while (parts / _part_name(n, ext)).is_file():
        n += 1
    return n


def _write_part(parts: Path, index: int, ext: str, cols: dict[str, list], id_name: str, id_type: Any) -> Any:
    """Write one chunk as a complete part file (tmp + fsync + rename); returns the id type used (Parquet)."""
    final = parts / _part_name(index, ext)
    tmp = final.with_name(final.name + ".tmp")
    if ext == ".parquet":
        pq = require("pyarrow.parquet", "data", "Writing Parquet output")
        table = arrow_table(cols, id_name, id_type)
        pq.write_table(table, tmp)
        id_type = table.schema.field(id_name).type
    else:
        names = [id_name, *RESULT_COLUMNS]
        with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as out:
            for values in zip(cols["id"], *(cols[c] for c in RESULT_COLUMNS)):
                out.write(json.dumps(dict(zip(names, values)), ensure_ascii=False, default=str) + "\n")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)
    return id_type


def _merge(parts: Path, n_parts: int, ext: str, output: Path) -> int:
    """Stream the parts into ``output`` (through a temporary name); returns the rows written and counts errors."""
    tmp = output.with_name(output.name + ".tmp")
    rows = 0
    if ext == ".parquet":
        pq = require("pyarrow.parquet", "data", "Writing Parquet output")
        writer = None
        try:
            for i in range(n_parts):
                table = pq.read_table(parts / _part_name(i, ext))
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
                rows += table.num_rows
        finally:
            if writer is not None:
                writer.close()
    else:
        with open(tmp, "wb") as out:
            for i in range(n_parts):
                with open(parts / _part_name(i, ext), "rb") as part:
                    for line in part:
                        out.write(line)
                        rows += 1
    if n_parts == 0:  # no records at all is refused earlier; keep the contract of an existing output anyway
        tmp.touch()
    os.replace(tmp, output)
    return rows


def _count_errors(parts: Path, n_parts: int, ext: str) -> int:
    errors = 0
    for i in range(n_parts):
        path = parts / _part_name(i, ext)
        if ext == ".parquet":
            pq = require("pyarrow.parquet", "data", "Reading Parquet output")
            column = pq.read_table(path, columns=["error"]).column("error")
            errors += len(column) - column.null_count
        else:
            with open(path, "rb") as f:
                errors += sum(1 for line in f if json.loads(line).get("error") is not None)
    return errors


def score_file(
    input_path: str | Path,
    output: str | Path,
    load_classifier: Callable[[], Any],
    *,
    fields: Fields = Fields(),
    batch_rows: int = 4096,
    resume: bool = False,
    threshold: float | str | None = None,
    settings: dict[str, Any] | None = None,
    progress: bool = True,
    on_chunk: Callable[[int, int], None] | None = None,
) -> ScoreSummary:
    """Score every record of ``input_path`` into ``output`` (.parquet or .jsonl), ``batch_rows`` records at a time.

    ``load_classifier`` opens the model (called once, after the input and output are checked). ``settings`` (model,
    variant, ...) are recorded in the parts folder so a resume with different ones is refused. ``on_chunk(index,
    rows_done)`` is called after each chunk is safely on disk. Raises InputError/ConfigError for whole-job problems.
    """
    input_path, output = Path(input_path), Path(output)
    ext = output_format(output)
    if batch_rows < 1:
        raise ConfigError(f"batch_rows must be >= 1, got {batch_rows}")
    if input_path.resolve() == output.resolve():
        raise ConfigError(f"--output {output} is the input file; write the scores to another path")
    id_name = id_column(fields)
    parts = parts_dir(output)
    state = {
        "input": _fingerprint(input_path) if input_path.exists() else str(input_path),
        "fields": dataclasses.asdict(fields),
        "batch_rows": batch_rows,
        "threshold": threshold,
        "format": ext,
        "settings": settings or {},
    }
    done_parts = 0
    if parts.exists():
        if not resume:
            raise ConfigError(
                f"{parts} holds the parts of an interrupted run; pass --resume to finish it, or delete "
                "that folder to start over"
            )
        try:
            old = json.loads((parts / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ConfigError(f"{parts / STATE_FILE} is missing or unreadable; delete {parts} to start over") from err
        if old != json.loads(json.dumps(state, default=str)):
            changed = sorted(k for k in state if old.get(k) != json.loads(json.dumps(state[k], default=str)))
            raise ConfigError(
                f"--resume: {', '.join(changed)} differ from the interrupted run in {parts}; rerun with "
                f"the same input and options, or delete {parts} to start over"
            )
        done_parts = _done_parts(parts, ext)
    elif resume and output.exists():
        rows = count_rows(output) if ext == ".parquet" else sum(1 for _ in open(output, "rb"))
        return ScoreSummary(str(output), rows or 0, 0, rows or 0, 0, 0, 0, 0.0)  # already complete

    stats = ReadStats()
    records = iter_records(input_path, fields, stats=stats, batch_rows=min(batch_rows, 65536))
    first = next(records, None)  # whole-file problems (missing file/column) raise here, before any model is loaded
    if first is None:
        blank = f" (only {stats.blank_lines} blank lines)" if stats.blank_lines else ""
        raise InputError(f"{input_path} holds no records to score{blank}")
    clf = load_classifier()
    parts.mkdir(parents=True, exist_ok=True)
    (parts / STATE_FILE).write_text(json.dumps(state, default=str, indent=1), encoding="utf-8")
    tau = clf.threshold(threshold) if hasattr(clf, "threshold") else threshold

    stream: Iterator[Record] = itertools.chain([first], records)
    skipped = sum(1 for _ in itertools.islice(stream, done_parts * batch_rows))  # read, not scored
    bar = Progress(count_rows(input_path), enabled=progress)
    started = time.perf_counter()
    index, scored, id_type = done_parts, 0, None
    if done_parts:
        pq = require("pyarrow.parquet", "data", "Reading Parquet output") if ext == ".parquet" else None
        if pq is not None:
            id_type = pq.read_schema(parts / _part_name(0, ext)).field(id_name).type
    while True:
        chunk = list(itertools.islice(stream, batch_rows))
        if not chunk:
            break
        cols = result_rows(chunk, predict_chunk(clf, chunk, fields.pairs, tau))
        id_type = _write_part(parts, index, ext, cols, id_name, id_type)
        index += 1
        scored += len(chunk)
        bar.update(skipped + scored, scored)
        if on_chunk is not None:
            on_chunk(index - 1, skipped + scored)
    seconds = time.perf_counter() - started
    bar.update(skipped + scored, scored, final=True)
    errors = _count_errors(parts, index, ext)
    rows = _merge(parts, index, ext, output)
    shutil.rmtree(parts)
    return ScoreSummary(str(output), rows, scored, skipped, errors, stats.blank_lines, stats.duplicate_ids, seconds)


__all__ = [
    "OUTPUT_FORMATS",
    "Progress",
    "ScoreSummary",
    "arrow_table",
    "count_rows",
    "id_column",
    "open_classifier",
    "output_format",
    "parts_dir",
    "predict_chunk",
    "result_rows",
    "score_file",
]

"""Facts read straight from an ONNX file, without the ``onnx`` package: the embedding tables' row counts.

The runtime checks a package's manifest against its graph on load (``max_length`` <= the position table's rows, the
tokenizer's vocabulary = the word table's rows), and an edge box installs neither ``onnx`` nor ``protobuf``. So this
walks the protobuf wire format itself, descending only into ModelProto.graph -> its nodes and initializers and
skipping every tensor's bytes by length (the file is memory-mapped: weight pages are never read).

Written by hand because onnxruntime exposes no initializer shapes and ``onnx`` is not a runtime dependency.
"""

from __future__ import annotations

import dataclasses
import mmap
from collections.abc import Iterator
from pathlib import Path

# Field numbers of onnx.proto3 (stable since ONNX 1.0).
_MODEL_GRAPH = 7
_GRAPH_NODE, _GRAPH_INITIALIZER = 1, 5
_NODE_INPUT, _NODE_OP_TYPE = 1, 4
_TENSOR_DIMS, _TENSOR_NAME = 1, 8


class GraphFormatError(ValueError):
    """The file is not an ONNX model this reader understands."""


def _varint(buf: mmap.mmap | bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise GraphFormatError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise GraphFormatError("varint too long")


def _fields(buf: mmap.mmap | bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, value or payload start, payload end) for each field of a message in [start, end)."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield field, wire, value, pos
        elif wire == 1:
            yield field, wire, pos, pos + 8
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > end:
                raise GraphFormatError("field runs past its message")
            yield field, wire, pos, pos + length
            pos += length
        elif wire == 5:
            yield field, wire, pos, pos + 4
            pos += 4
        else:
            raise GraphFormatError(f"unsupported wire type {wire}")


def _text(buf: mmap.mmap | bytes, start: int, end: int) -> str:
    return bytes(buf[start:end]).decode("utf-8", errors="replace")


@dataclasses.dataclass(frozen=True)
class EmbeddingRows:
    """Rows of the word and position embedding tables (None where the graph does not show one)."""

    vocab: int | None
    positions: int | None


def _scan(buf: mmap.mmap | bytes) -> tuple[dict[str, tuple[int, ...]], list[tuple[str, list[str]]]]:
    graph = next(((s, e) for f, w, s, e in _fields(buf, 0, len(buf)) if f == _MODEL_GRAPH and w == 2), None)
    if graph is None:
        raise GraphFormatError("no graph in the file")
    shapes: dict[str, tuple[int, ...]] = {}
    nodes: list[tuple[str, list[str]]] = []
    for field, wire, start, end in _fields(buf, *graph):
        if wire != 2:
            continue
        if field == _GRAPH_INITIALIZER:
            name, dims = "", []
            for f, w, s, e in _fields(buf, start, end):
                if f == _TENSOR_NAME and w == 2:
                    name = _text(buf, s, e)
                elif f == _TENSOR_DIMS and w == 0:
                    dims.append(s)
                elif f == _TENSOR_DIMS and w == 2:  # packed
                    pos = s
                    while pos < e:
                        value, pos = _varint(buf, pos)
                        dims.append(value)
            shapes[name] = tuple(dims)
        elif field == _GRAPH_NODE:
            op, inputs = "", []
            for f, w, s, e in _fields(buf, start, end):
                if f == _NODE_OP_TYPE and w == 2:
                    op = _text(buf, s, e)
                elif f == _NODE_INPUT and w == 2:
                    inputs.append(_text(buf, s, e))
            nodes.append((op, inputs))
    return shapes, nodes


def embedding_rows(path: str | Path) -> EmbeddingRows:
    """The word and position embedding rows of a BERT graph exported by secbert-edge (fused or not).

    Fused graphs: (Q)EmbedLayerNormalization's inputs 2 and 3. Unfused graphs: the Gather reading ``input_ids``, and
    the 2-D initializer named like ``*position_embeddings*``.
    """
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        shapes, nodes = _scan(buf)

    def rows(name: str) -> int | None:
        dims = shapes.get(name)
        return dims[0] if dims and len(dims) == 2 else None

    for op, inputs in nodes:
        if op.endswith("EmbedLayerNormalization") and len(inputs) > 3:  # also QEmbedLayerNormalization (int8)
            return EmbeddingRows(rows(inputs[2]), rows(inputs[3]))
    vocab = next(
        (rows(inputs[0]) for op, inputs in nodes if op == "Gather" and len(inputs) == 2 and inputs[1] == "input_ids"),
        None,
    )
    positions = next(
        (dims[0] for name, dims in shapes.items() if "position_embeddings" in name and len(dims) == 2), None
    )
    return EmbeddingRows(vocab, positions)

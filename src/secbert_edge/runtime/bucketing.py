"""Padding-aware batching as small pure functions: edges, assignment, token-budget batches, padding.

Texts are sorted by length, grouped into buckets whose edges grow geometrically up to the max length, and
cut into batches whose *padded* cost (rows x padded length) stays within a token budget. Each batch is
padded on the right only to its longest member, which never exceeds its bucket's edge. Results are put
back in input order by the caller, using the indices each batch carries.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class Batch:
    indices: tuple[int, ...]  # positions in the caller's list of sequences
    pad_to: int  # padded length of every row
    bucket: int  # the bucket edge this batch belongs to

    @property
    def padded_tokens(self) -> int:
        return len(self.indices) * self.pad_to


def bucket_edges(max_length: int, smallest: int = 16, factor: float = 2.0) -> tuple[int, ...]:
    """Geometric edges ``smallest, smallest*factor, ...`` ending exactly at ``max_length``."""
    if max_length < 1 or smallest < 1 or factor <= 1:
        raise ValueError(f"need max_length >= 1, smallest >= 1, factor > 1 (got {max_length}, {smallest}, {factor})")
    edges: list[int] = []
    edge = float(min(smallest, max_length))
    while int(edge) < max_length:
        if not edges or int(edge) > edges[-1]:
            edges.append(int(edge))
        edge *= factor
    edges.append(max_length)
    return tuple(edges)


def assign_bucket(length: int, edges: Sequence[int]) -> int:
    """The smallest edge that holds ``length`` tokens."""
    if length > edges[-1]:
        raise ValueError(f"sequence of {length} tokens exceeds the largest bucket {edges[-1]}")
    return edges[bisect.bisect_left(edges, length)]


def plan_batches(
    lengths: Sequence[int],
    edges: Sequence[int],
    *,
    max_batch_size: int = 32,
    token_budget: int = 16384,
    pad_to_edge: bool = False,
) -> list[Batch]:
    """Sort by length, bucket, and cut each bucket so rows x padded length <= token_budget.

    ``pad_to_edge`` pads every batch to its bucket's edge rather than its longest member (GPU providers: a
    fixed set of shapes, so TensorRT never meets an unseen shape and the CUDA arena reuses its blocks).
    """
    if max_batch_size < 1 or token_budget < 1:
        raise ValueError(f"max_batch_size and token_budget must be >= 1 (got {max_batch_size}, {token_budget})")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[Batch] = []
    current: list[int] = []
    current_bucket = None

    def flush():
        if current:
            pad_to = current_bucket if pad_to_edge else max(lengths[i] for i in current)
            batches.append(Batch(tuple(current), pad_to, current_bucket))

    for i in order:
        bucket = assign_bucket(lengths[i], edges)
        # Sorted ascending, so lengths[i] is the longest in the batch if it joins: charge it for every row.
        cost = bucket if pad_to_edge else lengths[i]
        fits = len(current) < max_batch_size and (len(current) + 1) * cost <= token_budget
        if bucket != current_bucket or not fits:
            flush()
            current, current_bucket = [], bucket
        current.append(i)
    flush()
    return batches


def pad_batch(sequences: Sequence[Sequence[int]], pad_to: int, pad_id: int, type_ids=None):
    """Right-pad to ``pad_to``: (input_ids, attention_mask, token_type_ids) as int64 arrays."""
    rows = len(sequences)
    ids = np.full((rows, pad_to), pad_id, dtype=np.int64)
    mask = np.zeros((rows, pad_to), dtype=np.int64)
    types = np.zeros((rows, pad_to), dtype=np.int64)
    for r, seq in enumerate(sequences):
        n = len(seq)
        ids[r, :n] = seq
        mask[r, :n] = 1
        if type_ids is not None:
            types[r, :n] = type_ids[r]
    return ids, mask, types


def padding_efficiency(batches: Sequence[Batch], lengths: Sequence[int]) -> float:
    """Real tokens / padded tokens over a plan (1.0 = no padding)."""
    padded = sum(b.padded_tokens for b in batches)
    return sum(lengths) / padded if padded else 1.0


def pad_rows(n: int, batch_sizes: Sequence[int]) -> int:
    """The smallest allowed row count that holds ``n`` rows."""
    for size in sorted(batch_sizes):
        if size >= n:
            return size
    raise ValueError(f"{n} rows exceed the largest batch size {max(batch_sizes)}")

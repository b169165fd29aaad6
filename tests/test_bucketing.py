"""Bucketing as pure functions: edges, assignment, token-budget batching, right padding."""

from __future__ import annotations

import numpy as np
import pytest

from secbert_edge.runtime.bucketing import assign_bucket, bucket_edges, pad_batch, padding_efficiency, plan_batches


def test_edges_are_geometric_and_end_at_max_length():
    assert bucket_edges(512) == (16, 32, 64, 128, 256, 512)
    assert bucket_edges(384) == (16, 32, 64, 128, 256, 384)
    assert bucket_edges(8) == (8,)
    assert bucket_edges(100, smallest=10, factor=3) == (10, 30, 90, 100)
    with pytest.raises(ValueError):
        bucket_edges(512, factor=1)


def test_assign_bucket():
    edges = bucket_edges(512)
    assert [assign_bucket(n, edges) for n in (1, 16, 17, 64, 65, 512)] == [16, 16, 32, 64, 128, 512]
    with pytest.raises(ValueError, match="exceeds the largest bucket"):
        assign_bucket(513, edges)


def test_plan_covers_every_index_once_and_respects_limits():
    rng = np.random.default_rng(0)
    lengths = [int(x) for x in rng.integers(3, 513, size=500)]
    edges = bucket_edges(512)
    plan = plan_batches(lengths, edges, max_batch_size=8, token_budget=2048)
    seen = sorted(i for b in plan for i in b.indices)
    assert seen == list(range(500))
    for batch in plan:
        assert len(batch.indices) <= 8
        assert batch.pad_to == max(lengths[i] for i in batch.indices) <= batch.bucket
        assert all(assign_bucket(lengths[i], edges) == batch.bucket for i in batch.indices)
        assert batch.padded_tokens <= 2048 or len(batch.indices) == 1
    assert padding_efficiency(plan, lengths) > 0.95  # sorted buckets: little padding


def test_budget_charges_padded_cost():
    plan = plan_batches([10, 10, 10, 100], (16, 128), max_batch_size=32, token_budget=25)
    assert [b.indices for b in plan] == [(0, 1), (2,), (3,)]  # 3 x 10 = 30 > 25; 100 alone even over budget


def test_pad_batch_pads_right():
    ids, mask, types = pad_batch([[1, 5, 2], [1, 2]], 4, pad_id=0, type_ids=[[0, 0, 1], [0, 0]])
    assert ids.tolist() == [[1, 5, 2, 0], [1, 2, 0, 0]]
    assert mask.tolist() == [[1, 1, 1, 0], [1, 1, 0, 0]]
    assert types.tolist() == [[0, 0, 1, 0], [0, 0, 0, 0]]
    assert ids.dtype == np.int64 and mask.dtype == np.int64

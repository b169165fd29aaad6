"""Benchmark workloads: a seeded pt-BR prompt-length mix, or the user's own texts.

The default mix follows what a prompt guard sees: 55% short (8-64 tokens), 30% medium (64-256), 15% long
(256-700, so some exceed 512 and exercise the long-input policy). Texts are built from the project's own
pt-BR generator, concatenated until each reaches its drawn token length under the package's tokenizer.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence

from .. import synthetic

DEFAULT_MIX = ((0.55, 8, 64), (0.30, 64, 256), (0.15, 256, 700))


@dataclasses.dataclass(frozen=True)
class Workload:
    name: str
    texts: tuple[str, ...]
    token_lengths: tuple[int, ...]  # tokens without [CLS]/[SEP], before any cut

    @property
    def description(self) -> str:
        lengths = sorted(self.token_lengths)
        n = len(lengths)
        return (
            f"{self.name}: {n} texts, tokens median {lengths[n // 2]}, p95 {lengths[int(0.95 * (n - 1))]}, "
            f"max {lengths[-1]}, {sum(t > 510 for t in lengths)} over 510"
        )


def _allocate(n: int, mix) -> list[int]:
    """Texts per bin: ``n`` split by the shares exactly (largest remainder), not by chance draws."""
    total = sum(share for share, _, _ in mix)
    raw = [n * share / total for share, _, _ in mix]
    counts = [int(x) for x in raw]
    for i in sorted(range(len(mix)), key=lambda i: raw[i] - counts[i], reverse=True)[: n - sum(counts)]:
        counts[i] += 1
    return counts


def mixed_workload(
    n: int, count_tokens: Callable[[Sequence[str]], list[int]], *, seed: int = 0, mix=DEFAULT_MIX
) -> Workload:
    """``n`` texts whose token lengths follow ``mix`` ((share, low, high), ...) under ``count_tokens``.

    Each bin gets exactly its share of the texts (a 32-text workload is 18 short, 9 medium, 5 long for the
    default mix), each text's length is drawn uniformly within its bin and the text is cut to land in it, and
    the order is shuffled (seeded) so arrival order mixes lengths.
    """
    if n < 1:
        raise ValueError(f"workload size must be >= 1, got {n}")
    rng = random.Random(seed)
    pool = [e.text for e in synthetic.generate_prompts(400, seed=seed)]
    pool += [e.text for e in synthetic.generate_responses(200, seed=seed + 1)]
    pool_lengths = dict(zip(pool, count_tokens(pool)))
    texts = []
    for count, (_, low, high) in zip(_allocate(n, mix), mix):
        for _ in range(count):
            target = rng.randint(low, high)
            parts, tokens = [], 0
            while tokens < target:
                piece = rng.choice(pool)
                parts.append(piece)
                tokens += pool_lengths[piece]
            words = " ".join(parts).split()
            # Longest word prefix whose token count is still <= target (binary search on the word count).
            lo, hi = 1, len(words)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if count_tokens([" ".join(words[:mid])])[0] <= target:
                    lo = mid
                else:
                    hi = mid - 1
            texts.append(" ".join(words[:lo]))
    rng.shuffle(texts)
    return Workload("mix", tuple(texts), tuple(count_tokens(texts)))


def file_workload(texts: Sequence[str], count_tokens: Callable[[Sequence[str]], list[int]], name: str) -> Workload:
    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    if not texts:
        raise ValueError(f"workload {name!r} holds no usable texts")
    return Workload(name, tuple(texts), tuple(count_tokens(texts)))

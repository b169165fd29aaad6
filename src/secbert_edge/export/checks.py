"""Comparing ONNX variants without torch: random token batches of the validation shapes, the parity texts as
unpadded feeds, P(positive) through ONNX Runtime, and the |dP| / label-flip check every quantized variant passes
against fp32 before it is written. ``onnx_export`` validates against PyTorch on the same shapes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import require
from ..manifest import Manifest
from ..variants import FP32Check

# (batch, sequence) shapes every graph is checked on, deliberately unlike the export dummy (2, 16).
VALIDATION_SHAPES = ((1, 8), (3, 33), (5, 96), (3, 154), (1, 512))


def validation_batch(
    batch: int, seq: int, vocab_size: int, rng: np.random.Generator, pair: bool = True
) -> dict[str, np.ndarray]:
    """Random ids with right padding of varied lengths (one row full length) and, if ``pair``, type-1 tails."""
    ids = rng.integers(5, vocab_size, size=(batch, seq), dtype=np.int64)
    lengths = rng.integers(max(1, seq // 4), seq + 1, size=batch)
    lengths[0] = seq
    mask = (np.arange(seq)[None, :] < lengths[:, None]).astype(np.int64)
    ids = np.where(mask == 1, ids, 0)
    types = np.zeros_like(ids)
    if pair:
        split = (lengths // 2)[:, None]
        types = ((np.arange(seq)[None, :] >= split) & (mask == 1)).astype(np.int64)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def probabilities(path: str | Path, feeds: Sequence[dict[str, np.ndarray]]) -> np.ndarray:
    """P(positive) of ONNX model ``path`` (CPU provider) for every row of every feed, concatenated. The session turns
    off what the runtime's CPU sessions turn off (``runtime.providers.CPU_DISABLED_OPTIMIZERS``), so the graph
    compared is the graph the runtime runs."""
    ort = require("onnxruntime", "runtime", "Comparing variants")
    from ..runtime.providers import disabled_optimizers

    options = ort.SessionOptions()
    options.log_severity_level = 3
    cpu = ["CPUExecutionProvider"]
    session = ort.InferenceSession(str(path), options, providers=cpu, disabled_optimizers=disabled_optimizers(cpu))
    wanted = {i.name for i in session.get_inputs()}
    outs = [session.run(["probability"], {k: v for k, v in feed.items() if k in wanted})[0] for feed in feeds]
    return np.concatenate([np.asarray(o, dtype=np.float64).reshape(-1) for o in outs]) if outs else np.zeros(0)


def compare_variants(reference: str | Path, candidate: str | Path, feeds: Sequence[dict[str, np.ndarray]]) -> dict:
    """max / mean |dP| of ``candidate`` against ``reference`` (both ONNX, CPU provider) over ``feeds``."""
    d = np.abs(probabilities(reference, feeds) - probabilities(candidate, feeds))
    return {"max_abs_diff": float(d.max()), "mean_abs_diff": float(d.mean()), "inputs": int(d.size)}


def parity_check(
    reference: np.ndarray, candidate: np.ndarray, thresholds: dict[str, float], tolerance: FP32Check
) -> dict:
    """Compare candidate with reference probabilities: max / mean |dP| and label flips at each threshold.

    Flips are judged by verify's rule (the one-sided exact binomial test of "the flip rate is at most
    ``tolerance.flip_rate``" at verify's default alpha), not by the raw share: on the ~40-60 inputs quantize checks
    by default, one text that sits at a threshold is 2-3% of them, which a 1% share refused although those inputs
    cannot tell a 1% flip rate from 3%. Returns the numbers plus ``passed`` and ``failures`` (one sentence per
    tolerance missed)."""
    from ..verify import GateRule, flip_check  # the gate's rule (scipy: the export extra)

    d = np.abs(reference - candidate)
    n = int(d.size)
    flips = {name: int(np.sum((reference >= tau) != (candidate >= tau))) for name, tau in thresholds.items()}
    worst = max(flips.values(), default=0)
    alpha = GateRule().alpha
    check = flip_check(worst, n, tolerance.flip_rate, alpha)
    failures = []
    if d.max() > tolerance.max_abs_diff:
        failures.append(f"max |dP| {d.max():.3g} > {tolerance.max_abs_diff:g}")
    if not check.passed:
        at = ", ".join(f"{k} {thresholds[k]:g}: {v}" for k, v in flips.items())
        failures.append(
            f"{worst} of {n} labels flip (more than the {check.bound} that {n} inputs allow at a tolerated "
            f"{tolerance.flip_rate:.1%}: exact binomial p = {check.p_value:.2g} <= {alpha:g}; at {at})"
        )
    return {
        "max_abs_diff": float(d.max()),
        "mean_abs_diff": float(d.mean()),
        "inputs": n,
        "flips": flips,
        "flip_bound": check.bound,
        "thresholds": dict(thresholds),
        "tolerance": dataclasses.asdict(tolerance),
        "passed": not failures,
        "failures": failures,
    }


def random_feeds(
    vocab_size: int, max_length: int, *, per_row: bool = False, seed: int = 0
) -> list[dict[str, np.ndarray]]:
    """Random token batches of VALIDATION_SHAPES (the export check's inputs). ``per_row``: one unpadded feed per row
    instead (how the runtime runs dynamic int8)."""
    rng = np.random.default_rng(seed)
    feeds = [validation_batch(b, min(s, max_length), vocab_size, rng) for b, s in VALIDATION_SHAPES]
    if per_row:
        feeds = [one_row(f, r) for f in feeds for r in range(f["input_ids"].shape[0])]
    return feeds


def graph_opset(path: str | Path) -> int:
    onnx = require("onnx", "quantize", "Reading an ONNX graph")
    model = onnx.load(str(path), load_external_data=False)
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def _package_encoder(package_dir: str | Path, max_length: int | None):
    """The package's manifest, its tokenizer as the runtime loads it, and the length limit to frame to."""
    from ..runtime.tokenization import TextEncoder

    manifest = Manifest.read(package_dir)
    encoder = TextEncoder(Path(package_dir) / manifest.tokenizer["file"], manifest.tokenizer_vocab_size)
    return manifest, encoder, max_length or manifest.max_length


def _unpadded(seq: Sequence[int], types: Sequence[int]) -> dict[str, np.ndarray]:
    arr = np.array([seq], dtype=np.int64)
    return {"input_ids": arr, "attention_mask": np.ones_like(arr), "token_type_ids": np.array([types], np.int64)}


def text_feeds(
    package_dir: str | Path, texts: Sequence[str], max_length: int | None = None
) -> list[dict[str, np.ndarray]]:
    """One unpadded batch per text, tokenized exactly as the runtime does (truncate policy)."""
    from ..runtime.tokenization import LongInputPolicy, fit_sequence

    manifest, encoder, limit = _package_encoder(package_dir, max_length)
    feeds = []
    for ids in encoder.encode([t for t in texts if isinstance(t, str) and t.strip()]):
        if not ids:
            continue
        ((seq, types),), _ = fit_sequence(ids, limit, LongInputPolicy.TRUNCATE, manifest.template)
        feeds.append(_unpadded(seq, types))
    return feeds


def pair_feeds(
    package_dir: str | Path, pairs: Sequence[tuple[str, str]], max_length: int | None = None
) -> list[dict[str, np.ndarray]]:
    """One unpadded batch per (prompt, response) pair, framed by the package's pair template as the runtime does
    (truncate policy; the response keeps the room)."""
    from ..runtime.tokenization import LongInputPolicy, fit_pair

    manifest, encoder, limit = _package_encoder(package_dir, max_length)
    kept = [(p, r) for p, r in pairs if isinstance(p, str) and isinstance(r, str) and r.strip()]
    ids = encoder.encode([t for pair in kept for t in pair])
    feeds = []
    for prompt_ids, response_ids in zip(ids[0::2], ids[1::2]):
        ((seq, types),), _ = fit_pair(prompt_ids, response_ids, limit, LongInputPolicy.TRUNCATE, manifest.template)
        feeds.append(_unpadded(seq, types))
    return feeds


def item_feeds(package_dir: str | Path, items: Sequence[str | tuple[str, str]]) -> list[dict[str, np.ndarray]]:
    """Feeds (calibration or check) from texts, and from (prompt, response) pairs framed as a judge reads them."""
    texts = [t for t in items if isinstance(t, str)]
    pairs = [t for t in items if isinstance(t, tuple)]
    return text_feeds(package_dir, texts) + pair_feeds(package_dir, pairs)


def one_row(feed: dict[str, np.ndarray], r: int) -> dict[str, np.ndarray]:
    n = int(feed["attention_mask"][r].sum())
    return {k: v[r : r + 1, :n] for k, v in feed.items()}

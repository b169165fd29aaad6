"""fp32 vs int8 of the default guard with the runtime: one text per call, and one list of ~1,900 texts.

    python models/bench_default.py [--package models/secbert-pt-demo] [--repeats 5] [--out FILE]

Both variants are measured in ONE run, interleaved (fp32, int8, fp32, ...), so the ratio is meaningful on a noisy
shared box; the result goes to benchmarks/results/default-variant.json. Also reports the label agreement of the two
variants on the same texts at the default threshold. Texts: held-out real messages and attacks (models/eval).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from secbert_defaults import heldout

HERE = Path(__file__).resolve().parent


def texts_for_bench(n: int = 1900) -> list[str]:
    attacks = [r["text"] for r in heldout.read_jsonl(HERE / "eval" / heldout.EVAL_FILES["attacks"])]
    hard = [r["text"] for r in heldout.read_jsonl(HERE / "eval" / heldout.EVAL_FILES["benign_hard"])]
    benign = [t for texts in heldout.benign_sources(seed=1, per_source=1000).values() for t in texts]
    return (attacks + hard + benign)[:n]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", type=Path, default=HERE / "secbert-pt-demo")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--singles", type=int, default=200, help="texts scored one per call, per repeat")
    ap.add_argument("--out", type=Path, default=HERE.parent / "benchmarks" / "results" / "default-variant.json")
    args = ap.parse_args(argv)
    texts = texts_for_bench()
    variants = {v: heldout.open_package(args.package, v) for v in ("fp32", "int8")}
    for clf in variants.values():
        clf.predict(texts[:64])  # warm-up
    single: dict[str, list[float]] = {v: [] for v in variants}
    batch: dict[str, list[float]] = {v: [] for v in variants}
    for _ in range(args.repeats):
        for name, clf in variants.items():
            t = time.perf_counter()
            for text in texts[: args.singles]:
                clf.predict([text])
            single[name].append((time.perf_counter() - t) / args.singles * 1000)
            t = time.perf_counter()
            clf.predict(texts)
            batch[name].append(time.perf_counter() - t)
    scores = {v: np.asarray([p.score for p in clf.predict(texts)]) for v, clf in variants.items()}
    tau = variants["fp32"].threshold("default")
    result = {
        "package": args.package.name,
        "texts": len(texts),
        "repeats": args.repeats,
        "singles": args.singles,
        "machine": platform.processor() or platform.machine(),
        "single_ms_median": {v: statistics.median(x) for v, x in single.items()},
        "list_seconds_median": {v: statistics.median(x) for v, x in batch.items()},
        "list_texts_per_second": {v: len(texts) / statistics.median(x) for v, x in batch.items()},
        "int8_speedup_single": statistics.median(single["fp32"]) / statistics.median(single["int8"]),
        "int8_speedup_list": statistics.median(batch["fp32"]) / statistics.median(batch["int8"]),
        "max_abs_score_diff": float(np.max(np.abs(scores["fp32"] - scores["int8"]))),
        "label_agreement_at_default": float(np.mean((scores["fp32"] >= tau) == (scores["int8"] >= tau))),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

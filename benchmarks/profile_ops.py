"""Where the time goes: ONNX Runtime's profiler, per-op-type share of batch-1 latency for each variant.

    python benchmarks/profile_ops.py [--length 128] [--runs 10]

Uses the BERTimbau-base package benchmarks/run.py built (benchmarks/.cache). Writes
benchmarks/results/<date>-<machine>-profile-L<length>.md.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def profile(model: Path, feeds: dict, runs: int, threads: int) -> dict[str, float]:
    import onnxruntime as ort

    from secbert_edge.runtime.providers import session_options

    with tempfile.TemporaryDirectory() as tmp:
        options = session_options(threads)  # the runtime's own settings, plus the profiler
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(tmp) / "prof")
        session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        for _ in range(2 + runs):
            session.run(["probability"], feeds)
        events = json.loads(Path(session.end_profiling()).read_text())
    per_op: dict[str, float] = collections.defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            per_op[e["args"]["op_name"]] += e["dur"] / 1000 / (runs + 2)
    return dict(sorted(per_op.items(), key=lambda kv: -kv[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    from secbert_edge.manifest import Manifest
    from secbert_edge.runtime.providers import physical_cores

    package = HERE / ".cache" / "bertimbau-base" / "package"
    if not (package / "manifest.json").is_file():
        sys.exit(f"{package} not built yet: run python benchmarks/run.py first")
    manifest = Manifest.read(package)
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 29000, (1, args.length)).astype(np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    threads = physical_cores()
    lines = [
        f"# Per-op time, batch 1, {args.length} tokens, BERTimbau-base architecture ({dt.date.today()})",
        "",
        f"ONNX Runtime profiler, {threads} threads, mean ms per run over {args.runs} runs (kernel time only).",
        "",
    ]
    for name, variant in manifest.variants.items():
        per_op = profile(package / variant.file, feeds, args.runs, threads)
        total = sum(per_op.values())
        lines += [f"## {name}: {total:.1f} ms in kernels", "", "| op | ms | share |", "|---|---|---|"]
        lines += [f"| {op} | {ms:.1f} | {100 * ms / total:.1f}% |" for op, ms in list(per_op.items())[:10]]
        lines.append("")
        print(
            f"{name}: {total:.1f} ms; top: " + ", ".join(f"{k} {v:.1f}" for k, v in list(per_op.items())[:4]),
            file=sys.stderr,
        )
    out = HERE / "results" / f"{dt.date.today()}-{platform.machine()}-{threads}c-profile-L{args.length}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

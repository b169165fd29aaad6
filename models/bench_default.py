"""The default guard against its budgets (issue 21), with the runtime as a user gets it (default variant, default
threads):

    python models/bench_default.py [--package models/secbert-pt-demo] [--also DIR ...] [--rounds 5]

- one prompt of <= 64 tokens, one call each: p50 / p95 over every held-out r4 prompt of 8-64 tokens, ``--rounds``
  passes (budget: p50 <= 10 ms);
- a list: the 800 held-out r4 prompts (320 attacks, 480 benign; 8-330 tokens) in one ``predict`` call, texts/s,
  median of ``--rounds`` (budget: >= 200 texts/s);
- cold start: a fresh interpreter, import + ``load`` + the first ``predict``, median of 5 (budget: <= 1 s), with the
  verified-digest cache warm (every start after the first) and cold (a first start: the ONNX file is hashed);
- the package's size on disk (budget: <= 50 MB), and all of models/ as git tracks it (budget: <= 120 MB).

``--also`` measures more packages in the same run (e.g. the 12-layer teacher the build leaves in
models/build/secbert-pt-demo/teacher/package), interleaved round by round so their ratios hold on a noisy box.
Writes benchmarks/results/<date>-<machine>-2c-default-budgets[-TAG].{json,md} with the load average (``uptime``) at the
start and end: on this shared box, say when a number was taken under load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from secbert_defaults import heldout

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "benchmarks" / "results"
BUDGETS = {"single_p50_ms": 10.0, "list_texts_per_s": 200.0, "cold_start_s": 1.0, "package_mb": 50.0, "models_mb": 120}
COLD = (
    "import time, sys\n"
    "t0 = time.perf_counter()\n"
    "from secbert_edge.runtime import load\n"
    "clf = load(sys.argv[1])\n"
    "clf.predict(['Qual é a melhor receita de pão de queijo mineiro?'])\n"
    "print(time.perf_counter() - t0)\n"
)


def r4_prompts() -> list[str]:
    rows = heldout.read_jsonl(HERE / "eval" / heldout.R4_FILES["attacks"])
    rows += heldout.read_jsonl(HERE / "eval" / heldout.R4_FILES["benign"])
    return [r["text"] for r in rows]


def cold_start(package: Path, runs: int = 5) -> dict[str, float]:
    """Median seconds of a fresh interpreter's import + load + first predict: digest cache warm and cold."""
    out: dict[str, list[float]] = {"cached": [], "uncached": []}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "SECBERT_EDGE_CACHE": cache}
            for key in ("uncached", "cached"):  # the first start hashes the ONNX file, the second reuses the digest
                run = subprocess.run(
                    [sys.executable, "-c", COLD, str(package)], env=env, capture_output=True, text=True, check=True
                )
                out[key].append(float(run.stdout.strip().split("\n")[-1]))
    return {k: statistics.median(v) for k, v in out.items()}


def tracked_models_mb() -> float:
    files = subprocess.run(
        ["git", "ls-files", "-z", "models"], cwd=HERE.parent, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    return sum((HERE.parent / f).stat().st_size for f in files if f and (HERE.parent / f).is_file()) / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", type=Path, default=HERE / "secbert-pt-demo")
    ap.add_argument("--also", type=Path, nargs="*", default=[], help="more packages measured in the same run")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--tag", default="", help="suffix of the result files (several runs a day: -b, -c, ...)")
    args = ap.parse_args(argv)
    load_start = os.getloadavg()
    started = dt.datetime.now()
    packages = [args.package, *args.also]
    clfs = {p: heldout.open_package(p, None) for p in packages}
    texts = r4_prompts()
    single: dict[Path, list[float]] = {p: [] for p in packages}
    lists: dict[Path, list[float]] = {p: [] for p in packages}
    short = {}
    for p, clf in clfs.items():
        n_tokens = [r.n_tokens for r in clf.predict(texts)]  # also the warm-up
        short[p] = [t for t, n in zip(texts, n_tokens) if 8 <= n <= 64]
    for _ in range(args.rounds):
        for p, clf in clfs.items():
            for text in short[p]:
                t = time.perf_counter()
                clf.predict([text])
                single[p].append(1000 * (time.perf_counter() - t))
            t = time.perf_counter()
            clf.predict(texts)
            lists[p].append(len(texts) / (time.perf_counter() - t))
    colds = {p: cold_start(p) for p in packages}
    models_mb = tracked_models_mb()
    rows = []
    for p, clf in clfs.items():
        lat = sorted(single[p])
        p50, p95 = statistics.median(lat), lat[int(0.95 * (len(lat) - 1))]
        tput = statistics.median(lists[p])
        size = sum(f.stat().st_size for f in p.iterdir() if f.is_file()) / 1e6
        checks = [
            (
                "one prompt of <= 64 tokens, p50",
                f"<= {BUDGETS['single_p50_ms']:g} ms",
                p50,
                p50 <= BUDGETS["single_p50_ms"],
                f"{p50:.2f} ms (p95 {p95:.2f} ms; {len(short[p])} prompts x {args.rounds})",
            ),
            (
                "list of the 800 r4 prompts, one predict call",
                f">= {BUDGETS['list_texts_per_s']:g} texts/s",
                tput,
                tput >= BUDGETS["list_texts_per_s"],
                f"{tput:.0f} texts/s",
            ),
            (
                "cold start: fresh process, import + load + first predict",
                f"<= {BUDGETS['cold_start_s']:g} s",
                colds[p]["cached"],
                colds[p]["cached"] <= BUDGETS["cold_start_s"],
                f"{colds[p]['cached']:.2f} s (first start ever, ONNX hashed: {colds[p]['uncached']:.2f} s)",
            ),
            (
                "package size on disk",
                f"<= {BUDGETS['package_mb']:g} MB",
                size,
                size <= BUDGETS["package_mb"],
                f"{size:.1f} MB",
            ),
        ]
        rows.append(
            {
                "name": p.name if p.parent == HERE else str(p.relative_to(HERE) if p.is_relative_to(HERE) else p),
                "path": str(p),
                "variant": clf.variant_name,
                "single_ms": {"p50": p50, "p95": p95, "n": len(lat)},
                "list_texts_per_s": {"median": tput, "rounds": lists[p], "texts": len(texts)},
                "cold_start_s": colds[p],
                "package_mb": size,
                "checks": [
                    {"what": w, "target": t, "value": v, "met": bool(m), "measured": s} for w, t, v, m, s in checks
                ],
            }
        )
    result = {
        "date": started.isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.processor() or ''}".strip(", "),
        "command": "python models/bench_default.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "load_start": [round(x, 2) for x in load_start],
        "load_end": [round(x, 2) for x in os.getloadavg()],
        "models_mb": {"value": models_mb, "target": BUDGETS["models_mb"], "met": models_mb <= BUDGETS["models_mb"]},
        "packages": rows,
    }
    stamp = f"{started.date().isoformat()}-{platform.machine()}-{os.cpu_count()}c-default-budgets"
    stamp += f"-{args.tag}" if args.tag else ""
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stamp}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    lines = [
        f"# Default guard budgets — {result['date']}",
        "",
        f"`{result['command']}`; {result['machine']}; "
        f"load average (1/5/15 min) at the start {result['load_start']}, at the end {result['load_end']}.",
        "",
    ]
    for row in rows:
        lines += [
            f"## {row['name']} ({row['variant']})",
            "",
            "| budget | target | measured | met |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {c['what']} | {c['target']} | {c['measured']} | {'yes' if c['met'] else '**no**'} |"
            for c in row["checks"]
        ]
        lines.append("")
    lines.append(f"All of models/ as git tracks it: {models_mb:.1f} MB (target <= {BUDGETS['models_mb']} MB).")
    (args.out / f"{stamp}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

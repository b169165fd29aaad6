"""Batch-1 latency per variant on the BERTimbau-base architecture (exact config, random weights: speed does
not depend on weight values), with PyTorch eager fp32 in the same run as the baseline.

    python benchmarks/bertimbau_latency.py [--lengths 16 64 128 256 512] [--repeats 20]

Writes benchmarks/results/<date>-<machine>-latency.{json,md}. Needs the export extra. The package it builds
lives in benchmarks/.cache (git-ignored) and is reused by later runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED_VOCAB = HERE.parent.parent / "shared" / "data" / "bertimbau-base-portuguese-cased-vocab.txt"
BERTIMBAU_BASE = dict(vocab_size=29794, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                      intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2)


def build_package(cache: Path) -> tuple[Path, Path, Path, str]:
    import torch
    from transformers import BertConfig

    from secbert_edge.export import export_package
    from secbert_edge.export.quantize import add_variant
    from secbert_edge.manifest import Manifest
    from secbert_edge.modeling import BertMLPClassifier

    backbone, checkpoint, package = cache / "backbone", cache / "best_model.pth", cache / "package"
    if SHARED_VOCAB.is_file():
        vocab, vocab_source = SHARED_VOCAB.read_text(encoding="utf-8").splitlines(), f"real BERTimbau vocab ({SHARED_VOCAB.name})"
    else:
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        vocab = specials + [f"w{i}" for i in range(BERTIMBAU_BASE["vocab_size"] - len(specials))]
        vocab_source = "generated vocabulary of the same size (real BERTimbau vocab not found)"
    if (package / "manifest.json").is_file() and set(Manifest.read(package).variants) >= {"int8", "fp16", "int8-static"}:
        return package, checkpoint, backbone, vocab_source
    backbone.mkdir(parents=True, exist_ok=True)
    (backbone / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    (backbone / "tokenizer_config.json").write_text('{"do_lower_case": false}', encoding="utf-8")
    config = BertConfig(**BERTIMBAU_BASE)
    config.to_json_file(str(backbone / "config.json"))
    torch.manual_seed(0)
    torch.save(BertMLPClassifier(config).state_dict(), checkpoint)
    print("exporting BERTimbau-base architecture (fp32, fused)...", file=sys.stderr)
    export_package(checkpoint, backbone, package, force=True, progress=lambda s: print(f"  {s}", file=sys.stderr))
    from secbert_edge import synthetic

    calibration = [e.text for e in synthetic.generate_prompts(200, seed=3)]
    for precision, static in (("int8", False), ("fp16", False), ("int8", True)):
        print(f"adding {precision}{' static' if static else ''}...", file=sys.stderr)
        add_variant(package, precision, static=static, calibration_texts=calibration)
    return package, checkpoint, backbone, vocab_source


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", type=int, nargs="+", default=[16, 64, 128, 256, 512])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per (variant, length) at most")
    args = parser.parse_args()

    import onnxruntime as ort
    import torch

    from secbert_edge.benchmarks.timing import time_call
    from secbert_edge.export.quantize import detect_target
    from secbert_edge.modeling import load_reference_model
    from secbert_edge.runtime import load
    from secbert_edge.runtime.providers import physical_cores

    package, checkpoint, backbone, vocab_source = build_package(HERE / ".cache" / "bertimbau-base")
    threads = physical_cores()
    torch.set_num_threads(threads)
    model, _ = load_reference_model(checkpoint, backbone)
    rng = np.random.default_rng(0)
    records = []
    variants = ["fp32", "int8", "int8-static", "fp16"]
    sessions = {v: load(package, precision=v, providers=("cpu",), threads=threads).session for v in variants}
    for length in args.lengths:
        ids = rng.integers(1000, 29000, (1, length)).astype(np.int64)
        ids[0, 0], ids[0, -1] = 2, 3
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        row = {"length": length}
        t = [torch.from_numpy(feeds[k]) for k in ("input_ids", "attention_mask", "token_type_ids")]
        with torch.no_grad():
            row["pytorch-fp32"] = time_call(lambda: model(*t), repeats=args.repeats, budget_s=args.budget)
        for v, session in sessions.items():
            row[v] = time_call(lambda: session.run(["probability"], feeds), repeats=args.repeats, budget_s=args.budget)
        records.append(row)
        print(f"L={length}: " + ", ".join(f"{k} {r.p50_ms:.1f} ms" for k, r in row.items() if k != "length"),
              file=sys.stderr)

    stamp = dt.date.today().isoformat()
    machine = f"{platform.machine()}-{threads}c"
    out = HERE / "results" / f"{stamp}-{machine}-latency"
    out.parent.mkdir(exist_ok=True)
    from secbert_edge.manifest import Manifest

    manifest = Manifest.read(package)
    meta = {
        "what": "batch-1 latency, BERTimbau-base architecture (random weights), unpadded inputs",
        "vocab": vocab_source, "cpu": cpu_model(), "threads": threads, "int8_target": detect_target().value,
        "onnxruntime": ort.__version__, "torch": torch.__version__, "date": stamp,
        "variant_parity_vs_fp32": {k: v.parity.get("max_abs_diff") for k, v in manifest.variants.items()},
    }
    cols = ["pytorch-fp32"] + variants
    data = {"meta": meta, "results": [{"length": r["length"], **{k: dataclasses.asdict(r[k]) for k in cols}} for r in records]}
    out.with_suffix(".json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    lines = [f"# Batch-1 latency, BERTimbau-base architecture ({stamp})", "",
             f"{meta['cpu']}, {threads} threads, onnxruntime {meta['onnxruntime']}, torch {meta['torch']}; "
             f"int8 target {meta['int8_target']}; {vocab_source}. p50 ms (p95), and speed-up over ORT fp32.", "",
             "| tokens | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for r in records:
        base = r["fp32"].p50_ms
        cells = [f"{r[k].p50_ms:.1f} ({r[k].p95_ms:.1f}) x{base / r[k].p50_ms:.2f}" for k in cols]
        lines.append(f"| {r['length']} | " + " | ".join(cells) + " |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"wrote {out}.json and .md", file=sys.stderr)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()

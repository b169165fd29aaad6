"""Our int8 variant against the int8 model a user gets from optimum's AVX2 recipe, in one run.

    python benchmarks/optimum_recipe.py [--length 128] [--rounds 8]

optimum itself is not installed (its ONNX package pinned transformers<5 when checked), so its recipe is
reproduced with the very ONNX Runtime call it makes: ``ORTQuantizer`` with ``AutoQuantizationConfig.avx2(
is_static=False)`` is ``quantize_dynamic`` on the *unfused* exported graph with QOperator/IntegerOps, u8
activations, u8 symmetric per-channel weights, no reduce_range, and every op type in ORT's IntegerOps registry.
Both models come from the same checkpoint (benchmarks/run.py's BERTimbau-base package). Timings are batch 1 at
one token length, in interleaved rounds (A, B, A, B, ...) so machine noise hits both alike; the ratio is
reported per round and as the median. Writes benchmarks/results/<date>-<machine>-optimum-recipe.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def optimum_avx2_recipe(checkpoint: Path, backbone: Path, out_dir: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.registry import IntegerOpsRegistry

    from secbert_edge.export.onnx_export import export_onnx
    from secbert_edge.modeling import load_reference_model

    model, _ = load_reference_model(checkpoint, backbone)
    raw = export_onnx(model, out_dir / "model.raw.onnx")
    dst = out_dir / "model.optimum-avx2.onnx"
    quantize_dynamic(
        str(raw),
        str(dst),
        per_channel=True,
        reduce_range=False,
        weight_type=QuantType.QUInt8,
        op_types_to_quantize=list(IntegerOpsRegistry.keys()),
        extra_options={"WeightSymmetric": True, "ActivationSymmetric": False},
    )
    return dst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=8, help="timed runs per model per round")
    args = parser.parse_args()

    import onnxruntime as ort

    from secbert_edge.benchmarks.timing import time_call
    from secbert_edge.manifest import Manifest
    from secbert_edge.runtime.providers import physical_cores, session_options

    cache = HERE / ".cache" / "bertimbau-base"
    package = cache / "package"
    if not (package / "manifest.json").is_file():
        sys.exit(f"{package} not built yet: run python benchmarks/run.py first")
    ours = package / Manifest.read(package).variants["int8"].file
    threads = physical_cores()
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 29000, (1, args.length)).astype(np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}

    def session(path: Path):  # the runtime's own session settings, for both models
        return ort.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])

    with tempfile.TemporaryDirectory() as tmp:
        print("exporting the unfused graph and applying optimum's avx2 recipe...", file=sys.stderr)
        recipe = optimum_avx2_recipe(cache / "best_model.pth", cache / "backbone", Path(tmp))
        sessions = {"secbert-edge int8": session(ours), "optimum avx2 recipe": session(recipe)}
        p_ours = sessions["secbert-edge int8"].run(["probability"], feeds)[0]
        p_recipe = sessions["optimum avx2 recipe"].run(["probability"], feeds)[0]
        rounds: list[dict[str, float]] = []
        for r in range(args.rounds):
            row = {
                name: time_call(lambda s=s: s.run(["probability"], feeds), warmup=2, repeats=args.repeats).p50_ms
                for name, s in sessions.items()
            }
            rounds.append(row)
            print(
                f"round {r + 1}/{args.rounds}: " + ", ".join(f"{k} {v:.1f} ms" for k, v in row.items()), file=sys.stderr
            )
    ratios = [row["optimum avx2 recipe"] / row["secbert-edge int8"] for row in rounds]
    lines = [
        f"# secbert-edge int8 vs optimum's AVX2 int8 recipe ({dt.date.today()})",
        "",
        f"BERTimbau-base architecture (benchmarks/run.py's checkpoint), batch 1, {args.length} tokens, "
        f"{threads} threads, CPU provider, onnxruntime {ort.__version__}. {args.rounds} interleaved rounds, "
        f"p50 of {args.repeats} runs each.",
        "",
        "- secbert-edge int8: fused graph (Attention, SkipLayerNormalization, BiasGelu, EmbedLayerNormalization), "
        "last layer for [CLS] only, "
        "s8 per-channel weights, reduce_range on AVX2.",
        "- optimum avx2 recipe: unfused graph, u8 symmetric per-channel weights, no reduce_range, all "
        "IntegerOps op types (reproduced with ORT's quantize_dynamic; optimum not installed).",
        "",
        "| round | secbert-edge int8 ms | optimum recipe ms | speed-up |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {i + 1} | {row['secbert-edge int8']:.1f} | {row['optimum avx2 recipe']:.1f} | {ratio:.2f}x |"
        for i, (row, ratio) in enumerate(zip(rounds, ratios))
    ]
    lines += [
        "",
        f"Median speed-up: **{statistics.median(ratios):.2f}x** (goal >= 1.3x). "
        f"|P(ours) - P(recipe)| on the timed input: {abs(float(p_ours[0]) - float(p_recipe[0])):.2e}.",
        "",
    ]
    out = HERE / "results" / f"{dt.date.today()}-{platform.machine()}-{threads}c-optimum-recipe.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""The project's benchmark suite, one command:

    python benchmarks/run.py [--workload-size 32] [--repeats 15] [--budget 12]

Builds the BERTimbau-base architecture (exact config, random weights: speed does not depend on weight values)
with the real BERTimbau vocabulary from ../shared/data when present (else a generated vocabulary of the same
size, stated in the report), exports it (fused fp32) and adds int8 dynamic, int8 static (QDQ) and fp16 variants,
then runs `secbert-edge bench` on it with the PyTorch eager model of the same checkpoint in the same run.
Writes benchmarks/results/<date>-<machine>.{json,md} and the plots beside them. Needs the export and bench
extras. The built package lives in benchmarks/.cache (git-ignored) and is reused by later runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED_VOCAB = HERE.parent.parent / "shared" / "data" / "bertimbau-base-portuguese-cased-vocab.txt"
BERTIMBAU_BASE = dict(
    vocab_size=29794,
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    max_position_embeddings=512,
    type_vocab_size=2,
)


def build_package(
    cache: Path, variants: tuple[str, ...] = ("int8", "fp16", "int8-static")
) -> tuple[Path, Path, Path, str]:
    """The BERTimbau-base architecture package (random weights) with ``variants`` besides fp32, built once in
    ``cache`` and reused; a later call that asks for more variants adds them. The variants are written with
    ``force``: a random-weight model's probabilities sit near 0.5, so quantize's decision check against fp32 (which
    refused int8-static on 2 of 31 flips here) says nothing about a package that exists to be timed."""
    import torch
    from transformers import BertConfig

    from secbert_edge.export import export_package
    from secbert_edge.export.quantize import add_variant
    from secbert_edge.manifest import Manifest
    from secbert_edge.modeling import BertMLPClassifier

    backbone, checkpoint, package = cache / "backbone", cache / "best_model.pth", cache / "package"
    if SHARED_VOCAB.is_file():
        vocab = SHARED_VOCAB.read_text(encoding="utf-8").removesuffix("\n").split("\n")
        vocab_source = f"real BERTimbau vocab ({SHARED_VOCAB.name})"
    else:
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        vocab = specials + [f"w{i}" for i in range(BERTIMBAU_BASE["vocab_size"] - len(specials))]
        vocab_source = "generated vocabulary of the same size (real BERTimbau vocab not found)"
    if (package / "manifest.json").is_file():
        missing = [v for v in variants if v not in Manifest.read(package).variants]
        if missing:
            from secbert_edge import synthetic

            calibration = [e.text for e in synthetic.generate_prompts(200, seed=3)]
            for variant in missing:
                print(f"adding {variant}...", file=sys.stderr)
                add_variant(package, variant, calibration_texts=calibration, force=True)  # speed only, see below
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
    for variant in variants:
        print(f"adding {variant}...", file=sys.stderr)
        add_variant(package, variant, calibration_texts=calibration, force=True)  # speed only, see below
    return package, checkpoint, backbone, vocab_source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", type=int, nargs="+", default=[16, 64, 128, 256, 512])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "int8", "int8-static", "fp16"])
    parser.add_argument("--throughput-precisions", nargs="+", default=["fp32", "int8"])
    parser.add_argument("--workload-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--budget", type=float, default=12.0, help="seconds per latency cell, at most")
    args = parser.parse_args()

    from secbert_edge.benchmarks.runner import BenchConfig, plot, run_bench, to_json, to_markdown

    package, checkpoint, backbone, vocab_source = build_package(HERE / ".cache" / "bertimbau-base")
    config = BenchConfig(
        precisions=tuple(args.precisions),
        throughput_precisions=tuple(args.throughput_precisions),
        lengths=tuple(args.lengths),
        batch_sizes=(args.batch_size,),
        workload_size=args.workload_size,
        repeats=args.repeats,
        budget_s=args.budget,
    )
    result = run_bench(
        package,
        config,
        reference=(checkpoint, backbone),
        progress=lambda step: print(f"[bench] {step}", file=sys.stderr, flush=True),
    )
    result.meta["model_note"] = f"BERTimbau-base architecture, random weights; {vocab_source}"
    stamp = dt.date.today().isoformat()
    out = HERE / "results" / f"{stamp}-{platform.machine()}-{result.meta['threads']}c"
    out.parent.mkdir(exist_ok=True)
    out.with_suffix(".json").write_text(to_json(result), encoding="utf-8")
    text = to_markdown(result).replace(f"Package `{package}`", f"Model: {result.meta['model_note']}")
    out.with_suffix(".md").write_text(text, encoding="utf-8")
    for path in plot(result, out.parent / "plots"):
        path.rename(path.with_name(f"{out.name}-{path.name}"))
    print(text)
    print(f"wrote {out}.json, .md and plots", file=sys.stderr)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()

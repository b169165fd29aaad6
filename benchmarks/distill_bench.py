"""What distilled students buy (latency) and cost (decision flips), recorded under benchmarks/results/:

    python benchmarks/distill_bench.py flips     # trained teacher -> 1-layer student, flips on real pt-BR text
    python benchmarks/distill_bench.py latency   # BERTimbau-base 12-layer teacher vs 6/4-layer students, int8
    python benchmarks/distill_bench.py report    # merge both into benchmarks/results/<date>-distill.md

latency: the BERTimbau-base architecture (exact config, random weights: speed does not depend on weight values;
the real BERTimbau vocabulary from ../shared/data, as benchmarks/run.py builds it), students made by
`secbert_edge.distill.init_student` (6 and 4 of the 12 layers), each exported (fused fp32) with an int8 dynamic
variant. Batch-1 latency at 16/128/512 tokens, all models IN THE SAME RUN with interleaved rounds (each round times
every model at every length), because the box is shared and noisy; the speed-up is the median of the per-round
ratios teacher/student.

flips: the default guard's source (models/src/secbert-pt-demo: best_model.pth + backbone, 2 layers x 128) is the
teacher, distilled to a 1-layer student on UNLABELLED real pt-BR text (ToLD-BR, TuPy, CoSiBot, FakeWhatsApp.Br)
plus the teacher's own training prompts. Decision flips are measured on other real pt-BR texts kept out of the
distillation texts (PIRA questions, chatterbot-corpus-pt, DANTEStocks) and on the teacher's labelled test split,
through the exported packages (fp32 vs fp32 and int8 vs int8), at the teacher's tau and tau*. The same pair is also
timed (int8, interleaved) since that is the speed-up that comes with those flips.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT.parent / "shared" / "data"
SHARED_VOCAB = DATA / "bertimbau-base-portuguese-cased-vocab.txt"
CACHE = HERE / ".cache" / "distill"
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
from run import BERTIMBAU_BASE  # noqa: E402  (the suite's one copy of the exact config)

TEACHER = ROOT / "models" / "src" / "secbert-pt-demo"
TEACHER_PACKAGE = ROOT / "models" / "secbert-pt-demo"
DISTILL_SOURCES = {  # (file, text column, how many rows at most)
    "told-br": ("told-br/ToLD-BR.csv", "text", 6000),
    "tupy": ("tupy/tupy_binary_vote.csv", "text", 3000),
    "cosibot-br": ("cosibot-br/cosibot_br_nlu.jsonl", "text", 3000),
    "fakewhatsapp-br": ("fakewhatsapp-br/fakewhatsapp_br_2018_test.jsonl", "text", 1600),
}
FLIP_SOURCES = ("pira", "chatterbot-corpus-pt", "dantestocks")


def log(message: str) -> None:
    print(f"[distill-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stamp() -> str:
    return dt.date.today().isoformat()


def load_classifier(package: Path, variant: str):
    """The ONE place this script loads a package (the runtime's variant option is being renamed)."""
    from secbert_edge.runtime import load

    return load(package, variant=variant)


# ------------------------------------------------------------------------------------------- latency


def build_latency_packages() -> dict[str, Path]:
    import torch
    from transformers import BertConfig

    from secbert_edge.distill import init_student, write_student_backbone
    from secbert_edge.export import export_package
    from secbert_edge.export.quantize import add_variant
    from secbert_edge.manifest import Manifest
    from secbert_edge.modeling import BertMLPClassifier

    if not SHARED_VOCAB.is_file():
        sys.exit(f"{SHARED_VOCAB} not found: the latency benchmark uses the real BERTimbau vocabulary")
    packages = {}
    teacher_dir = CACHE / "bertimbau-l12"
    config = BertConfig(**BERTIMBAU_BASE)
    torch.manual_seed(0)
    teacher = BertMLPClassifier(config).eval()
    for layers in (12, 6, 4):
        work = CACHE / f"bertimbau-l{layers}"
        package = work / "package"
        packages[f"L{layers}"] = package
        if (package / "manifest.json").is_file() and "int8" in Manifest.read(package).variants:
            continue
        work.mkdir(parents=True, exist_ok=True)
        if layers == 12:
            backbone = work / "backbone"
            backbone.mkdir(exist_ok=True)
            (backbone / "vocab.txt").write_text(SHARED_VOCAB.read_text(encoding="utf-8"), encoding="utf-8")
            (backbone / "tokenizer_config.json").write_text('{"do_lower_case": false}', encoding="utf-8")
            config.to_json_file(str(backbone / "config.json"))
            torch.save(teacher.state_dict(), work / "best_model.pth")
        else:
            student = init_student(teacher, layers)
            write_student_backbone(teacher_dir / "backbone", work / "backbone", student.config)
            torch.save(student.state_dict(), work / "best_model.pth")
        log(f"exporting L{layers} (fp32 fused) and adding int8 dynamic")
        export_package(work / "best_model.pth", work / "backbone", package, force=True)
        add_variant(package, "int8")
    return packages


def interleaved_latency(
    packages: dict[str, Path], lengths: list[int], rounds: int, calls: int, variant: str = "int8", seed: int = 0
) -> dict:
    """Per round, per length, per model (order rotated each round): the median of ``calls`` timed batch-1 calls."""
    clfs = {name: load_classifier(path, variant) for name, path in packages.items()}
    vocab = min(c.manifest.vocab_size for c in clfs.values())
    limit = min(c.manifest.max_length for c in clfs.values())  # the current default guard stops at 256 tokens
    lengths = list(dict.fromkeys(min(length, limit) for length in lengths))
    rng = np.random.default_rng(seed)
    feeds = {}
    for length in lengths:
        ids = rng.integers(5, vocab, (1, length)).astype(np.int64)
        feeds[length] = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    for clf in clfs.values():  # warm-up
        for feed in feeds.values():
            for _ in range(3):
                clf.infer(feed)
    names = list(clfs)
    samples: dict[str, dict[int, list[float]]] = {n: {length: [] for length in lengths} for n in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for length in lengths:
            for name in order:
                times = []
                for _ in range(calls):
                    t0 = time.perf_counter_ns()
                    clfs[name].infer(feeds[length])
                    times.append((time.perf_counter_ns() - t0) / 1e6)
                samples[name][length].append(float(np.median(times)))
        log(f"latency round {r + 1}/{rounds}")
    threads = next(iter(clfs.values())).session.get_session_options().intra_op_num_threads
    return {
        "variant": variant,
        "rounds": rounds,
        "calls_per_cell": calls,
        "threads": threads,
        "samples_ms": {n: {str(length): v for length, v in per.items()} for n, per in samples.items()},
    }


def summarise_latency(raw: dict, teacher: str) -> list[dict]:
    rows = []
    for name, per in raw["samples_ms"].items():
        for length, values in per.items():
            base = np.asarray(raw["samples_ms"][teacher][length])
            mine = np.asarray(values)
            rows.append(
                {
                    "model": name,
                    "tokens": int(length),
                    "p50_ms": float(np.median(mine)),
                    "min_ms": float(mine.min()),
                    "speedup_vs_teacher": float(np.median(base / mine)),
                    "speedup_iqr": [float(np.percentile(base / mine, 25)), float(np.percentile(base / mine, 75))],
                }
            )
    return rows


def cmd_latency(args) -> None:
    packages = build_latency_packages()
    if args.build_only:
        return
    log("timing int8 batch-1, interleaved")
    raw = interleaved_latency(packages, args.lengths, args.rounds, args.calls)
    result = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": platform.machine(),
        "model": "BERTimbau-base architecture (exact config), random weights, real BERTimbau vocab; students "
        "from secbert_edge.distill.init_student (layers 2,4,..,12 and 3,6,9,12 of the teacher)",
        "cpu_count": os.cpu_count(),
        "raw": raw,
        "rows": summarise_latency(raw, "L12"),
    }
    out = RESULTS / f"{stamp()}-distill-latency.json"
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    log(f"wrote {out}")
    print(latency_table(result))


def latency_table(result: dict) -> str:
    lines = [
        "| model | tokens | int8 p50 ms | speed-up vs 12-layer int8 (median of round ratios) | IQR |",
        "|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['model']} | {r['tokens']} | {r['p50_ms']:.2f} | {r['speedup_vs_teacher']:.2f}x | "
            f"{r['speedup_iqr'][0]:.2f}-{r['speedup_iqr'][1]:.2f} |"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- flips


def chatterbot_texts() -> list[str]:
    """Every utterance of chatterbot-corpus-pt's YAML dialogues ('- - text' / '  - text' lines)."""
    out = []
    for path in sorted((DATA / "chatterbot-corpus-pt").glob("*.yml")):
        for line in path.read_text(encoding="utf-8").split("\n"):
            stripped = line.strip()
            if stripped.startswith("- - "):
                stripped = stripped[4:]
            elif stripped.startswith("- ") and line.startswith("  "):
                stripped = stripped[2:]
            else:
                continue
            text = stripped.strip().strip("'\"")
            if text:
                out.append(text)
    return out


def flip_texts() -> dict[str, list[str]]:
    from secbert_edge.distill import read_texts

    return {
        "pira": [e.text for e in read_texts(DATA / "pira" / "pira_c_total_questions_pt.jsonl")],
        "chatterbot-corpus-pt": list(dict.fromkeys(chatterbot_texts())),
        "dantestocks": [e.text for e in read_texts(DATA / "dantestocks" / "dantestocks_texts.jsonl")],
    }


def distill_texts(seed: int) -> tuple[list, dict[str, int]]:
    from secbert_edge.distill import read_texts

    rng = random.Random(seed)
    texts, counts = [], {}
    for name, (path, column, cap) in DISTILL_SOURCES.items():
        items = read_texts(DATA / path, column)
        rng.shuffle(items)
        texts += items[:cap]
        counts[name] = len(items[:cap])
    # The teacher's own training prompts, where the checkout still has them (the current default's splits hold
    # third-party text and live in the ignored models/build/ of the machine that built it).
    splits = [p for p in (TEACHER / "train.jsonl", TEACHER / "validation.jsonl") if p.is_file()]
    own = [e for p in splits for e in read_texts(p)]
    texts += own
    counts["teacher train+validation prompts (labels unused)"] = len(own)
    if not own:  # attacks the student must learn to flag too: the project's generator (labels unused)
        from secbert_edge import synthetic

        generated = [e for e in synthetic.generate_prompts(6000, seed=seed) if e.text.strip()]
        texts += generated
        counts["generated prompts, synthetic.generate_prompts (labels unused)"] = len(generated)
    return texts, counts


def decisions(clf, texts: list[str]) -> np.ndarray:
    results = clf.predict(texts)
    bad = [r for r in results if not r.ok]
    if bad:
        raise SystemExit(f"{len(bad)} texts could not be scored, e.g. #{bad[0].index}: {bad[0].error}")
    return np.array([r.score for r in results])


def compare_scores(t: np.ndarray, s: np.ndarray, thresholds: dict[str, float]) -> dict:
    return {
        "texts": int(t.size),
        "flips": {k: int(((t >= v) != (s >= v)).sum()) for k, v in thresholds.items()},
        "flip_rate": {k: float(((t >= v) != (s >= v)).mean()) for k, v in thresholds.items()},
        "teacher_flagged": {k: int((t >= v).sum()) for k, v in thresholds.items()},
        "mean_abs_dp": float(np.abs(t - s).mean()),
        "max_abs_dp": float(np.abs(t - s).max()),
    }


def cmd_flips(args) -> None:
    import torch

    from secbert_edge.data import load_examples
    from secbert_edge.distill import DistillConfig, describe, distill
    from secbert_edge.export import export_package
    from secbert_edge.export.quantize import add_variant
    from secbert_edge.manifest import Manifest

    # One thread: on a shared, oversubscribed 2-core box two OpenMP threads ran the teacher 3x slower than one.
    torch.set_num_threads(args.threads)
    teacher_manifest = Manifest.read(TEACHER_PACKAGE)
    thresholds = {"tau": teacher_manifest.threshold("default"), "tau*": teacher_manifest.thresholds["ks_optimal"]}
    measure = flip_texts()
    texts, counts = distill_texts(args.seed)
    held = {t for group in measure.values() for t in group}
    before = len(texts)
    texts = [e for e in texts if e.text not in held]
    log(
        f"{len(texts)} distillation texts ({before - len(texts)} dropped: also in the flip-measurement texts); "
        f"flip texts: {', '.join(f'{k} {len(v)}' for k, v in measure.items())}"
    )
    student_dir = CACHE / f"demo-student-l{args.layers}"
    config = DistillConfig(
        layers=args.layers,
        epochs=args.epochs,
        batch_size=32,
        lr=args.lr,
        temperature=args.temperature,
        max_length=args.train_max_length,
        seed=args.seed,
        holdout_fraction=0.05,
        validation_fraction=0.05,
        eval_every=200,
    )
    last = [0.0]

    def progress(step: int, total: int, loss: float) -> None:
        if time.perf_counter() - last[0] > 30 or step == total:
            last[0] = time.perf_counter()
            log(f"step {step}/{total} loss {loss:.4f}")

    report = distill(
        TEACHER / "best_model.pth",
        TEACHER / "backbone",
        texts,
        student_dir,
        config,
        tau=thresholds["tau"],
        tau_star=thresholds["tau*"],
        progress=progress,
        log=log,
    )
    log(describe(report))
    package = student_dir / "package"
    export_package(
        student_dir / "best_model.pth",
        student_dir / "backbone",
        package,
        force=True,
        default_threshold=thresholds["tau"],
        ks_threshold=thresholds["tau*"],
    )
    add_variant(package, "int8")
    test = load_examples(TEACHER / "test.jsonl")
    sets = {**measure, "teacher test split (synthetic, labelled)": [e.text for e in test]}
    flips = {}
    for variant in ("fp32", "int8"):
        teacher_clf, student_clf = load_classifier(TEACHER_PACKAGE, variant), load_classifier(package, variant)
        for name, group in sets.items():
            log(f"flips {variant} {name}")
            flips.setdefault(variant, {})[name] = compare_scores(
                decisions(teacher_clf, group), decisions(student_clf, group), thresholds
            )
        everything = [t for name, group in measure.items() for t in group]
        flips[variant]["all real pt-BR"] = compare_scores(
            decisions(teacher_clf, everything), decisions(student_clf, everything), thresholds
        )
    log("timing the pair (int8, interleaved)")
    raw = interleaved_latency(
        {"teacher L2": TEACHER_PACKAGE, f"student L{args.layers}": package}, [16, 128, 512], args.rounds, args.calls
    )
    result = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "teacher": str(TEACHER.relative_to(ROOT)),
        "thresholds": thresholds,
        "distill_texts": counts,
        "distill_texts_used": len(texts),
        "flip_texts": {k: len(v) for k, v in sets.items()},
        "distill_report": report,
        "flips": flips,
        "pair_latency": {"raw": raw, "rows": summarise_latency(raw, "teacher L2")},
    }
    out = RESULTS / f"{stamp()}-distill-flips.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    log(f"wrote {out}")
    print(flips_table(result))


def flips_table(result: dict) -> str:
    lines = [
        "| variant | texts | n | teacher flagged @tau / @tau* | flips @tau | flips @tau* | mean abs dP | max abs dP |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for variant, per in result["flips"].items():
        for name, r in per.items():
            lines.append(
                f"| {variant} | {name} | {r['texts']} | "
                f"{r['teacher_flagged']['tau']} / {r['teacher_flagged']['tau*']} | "
                f"{r['flips']['tau']} ({100 * r['flip_rate']['tau']:.2f}%) | "
                f"{r['flips']['tau*']} ({100 * r['flip_rate']['tau*']:.2f}%) | {r['mean_abs_dp']:.4f} | "
                f"{r['max_abs_dp']:.4f} |"
            )
    return "\n".join(lines)


def cmd_report(args) -> None:
    parts = [f"# Distilled students ({stamp()})", ""]
    lat = sorted(RESULTS.glob("*-distill-latency.json"))
    flp = sorted(RESULTS.glob("*-distill-flips.json"))
    if lat:
        result = json.loads(lat[-1].read_text())
        raw = result["raw"]
        parts += [
            "## Latency: BERTimbau-base teacher (12 layers) vs 6/4-layer students",
            "",
            f"{result['model']}. int8 dynamic, batch 1, {raw['threads']} threads, {raw['rounds']} interleaved "
            f"rounds x {raw['calls_per_cell']} calls per cell; run {result['date']} on a shared "
            f"{result['cpu_count']}-core box. Source: `{lat[-1].name}`.",
            "",
            latency_table(result),
            "",
        ]
    if flp:
        result = json.loads(flp[-1].read_text())
        rep = result["distill_report"]
        parts += [
            "## Decision flips: trained teacher -> 1-layer student on real pt-BR text",
            "",
            f"Teacher `{result['teacher']}` ({rep['teacher']['layers']} layers x {rep['teacher']['hidden']}, "
            f"{rep['teacher']['parameters']:,} parameters); student {rep['student']['layers']} layer "
            f"({rep['student']['parameters']:,} parameters), initialised from teacher layer "
            f"{rep['student']['layer_map']}, {rep['steps']} steps in {rep['seconds']} s on "
            f"{result['distill_texts_used']} unlabelled texts "
            f"({json.dumps(result['distill_texts'], ensure_ascii=False)}), "
            f"KD at T={rep['config']['temperature']}, lr {rep['config']['lr']}. "
            f"Thresholds: tau {result['thresholds']['tau']}, tau* {result['thresholds']['tau*']}. "
            f"Flip texts never seen in distillation. Source: `{flp[-1].name}`.",
            "",
            flips_table(result),
            "",
            "Same pair, int8 batch-1 latency (interleaved):",
            "",
            latency_table({"rows": result["pair_latency"]["rows"]}).replace("12-layer", "2-layer teacher"),
            "",
        ]
    out = RESULTS / f"{stamp()}-distill.md"
    out.write_text("\n".join(parts), encoding="utf-8")
    print("\n".join(parts))
    log(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    lat = sub.add_parser("latency")
    lat.add_argument("--lengths", type=int, nargs="+", default=[16, 128, 512])
    lat.add_argument("--rounds", type=int, default=9)
    lat.add_argument("--calls", type=int, default=5)
    lat.add_argument("--build-only", action="store_true", help="Build (export) the packages, measure nothing.")
    flp = sub.add_parser("flips")
    flp.add_argument("--layers", type=int, default=1)
    flp.add_argument("--epochs", type=int, default=2)
    flp.add_argument("--lr", type=float, default=2e-4)
    flp.add_argument("--temperature", type=float, default=2.0)
    flp.add_argument("--train-max-length", type=int, default=128)
    flp.add_argument("--seed", type=int, default=42)
    flp.add_argument("--threads", type=int, default=1, help="torch threads for distillation")
    flp.add_argument("--rounds", type=int, default=7)
    flp.add_argument("--calls", type=int, default=9)
    sub.add_parser("report")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    {"latency": cmd_latency, "flips": cmd_flips, "report": cmd_report}[args.command](args)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()

"""SkipLayerNormalization fused (ORT's contrib op) against Add + LayerNormalization, on the CPU, one thread.

    python benchmarks/skip_layernorm.py [--model FILE_OR_PACKAGE ...] [--rounds 5] [--tag TAG]

Two measurements, interleaved in rounds (medians; ratios read within one run on a shared box):
1. the ops alone: 24 nodes (BERT-base's count) on [batch, tokens, 768] and 12 on [.., 384] (the e5 students);
2. whole int8 graphs: each --model's int8 file (a package folder: its int8 variant) as it is, and the same graph
   through ``secbert_edge.export.optimize.unfuse_skip_layernorm``, at 1 x 16 / 1 x 37 / 1 x 128 tokens and 4 x 37
   (one text a run is how the runtime scores per-batch dynamic int8; per-text int8 batches), with max |dP| between
   the two. A graph that has no SkipLayerNormalization left (already unfused) is reported as such.
Default --model: the BERTimbau-base int8 packages benchmarks/run.py and serve_bench.py built (benchmarks/.cache) and
the two embedded defaults. Sessions are built as the runtime builds a CPU session (``runtime.providers``: its
options, and ORT's SkipLayerNormFusion off, which would otherwise fold the ops-alone pair straight back).
Writes benchmarks/results/<date>-<machine>-skip-layernorm[-TAG].md and .json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHAPES = [(1, 16), (1, 37), (1, 128), (4, 37)]


def _session(model: bytes | str):
    import onnxruntime as ort

    from secbert_edge.runtime.providers import disabled_optimizers, session_options

    cpu = ["CPUExecutionProvider"]  # as the runtime builds a CPU session: ORT's SkipLayerNormFusion off
    return ort.InferenceSession(model, session_options(1), providers=cpu, disabled_optimizers=disabled_optimizers(cpu))


def _time(session, feeds: dict, seconds: float) -> float:
    """Median ms of one run over ~``seconds``."""
    for _ in range(3):
        session.run(None, feeds)
    times, stop = [], time.perf_counter() + seconds
    while time.perf_counter() < stop or len(times) < 5:
        t = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def _ops_graph(fused: bool, hidden: int, nodes: int) -> bytes:
    import onnx
    from onnx import TensorProto, helper

    shape = ["batch", "tokens", hidden]
    inits = [
        onnx.numpy_helper.from_array(np.ones(hidden, np.float32), "gamma"),
        onnx.numpy_helper.from_array(np.zeros(hidden, np.float32), "beta"),
    ]
    graph_nodes, current = [], "x"
    for i in range(nodes):
        out = "y" if i == nodes - 1 else f"h{i}"
        if fused:
            graph_nodes.append(
                helper.make_node(
                    "SkipLayerNormalization", [current, "skip", "gamma", "beta"], [out], domain="com.microsoft"
                )
            )
        else:
            graph_nodes.append(helper.make_node("Add", [current, "skip"], [f"s{i}"]))
            graph_nodes.append(helper.make_node("LayerNormalization", [f"s{i}", "gamma", "beta"], [out], axis=-1))
        current = out
    graph = helper.make_graph(
        graph_nodes,
        "ops",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in ("x", "skip")],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
        inits,
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets).SerializeToString()


def ops_alone(rounds: int, seconds: float) -> list[dict]:
    rows = []
    for hidden, nodes in ((768, 24), (384, 12)):
        sessions = {fused: _session(_ops_graph(fused, hidden, nodes)) for fused in (True, False)}
        for batch, tokens in ((1, 37), (4, 37), (1, 128)):
            rng = np.random.default_rng(0)
            feeds = {n: rng.normal(0, 1, (batch, tokens, hidden)).astype(np.float32) for n in ("x", "skip")}
            got: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(rounds):
                for fused, session in sessions.items():
                    got[fused].append(_time(session, feeds, seconds))
            fused_ms, unfused_ms = statistics.median(got[True]), statistics.median(got[False])
            rows.append(
                {
                    "hidden": hidden,
                    "nodes": nodes,
                    "shape": [batch, tokens],
                    "fused_ms": fused_ms,
                    "unfused_ms": unfused_ms,
                    "ratio": fused_ms / unfused_ms,
                }
            )
            print(f"ops: {nodes} x [{batch}, {tokens}, {hidden}]: {fused_ms:.3f} -> {unfused_ms:.3f} ms", flush=True)
    return rows


def _int8_file(path: Path) -> Path:
    if path.is_dir():
        from secbert_edge.manifest import Manifest

        manifest = Manifest.read(path)
        if "int8" not in manifest.variants:
            raise SystemExit(f"--model {path}: the package has no int8 variant")
        return path / manifest.variants["int8"].file
    return path


def whole_graph(label: str, path: Path, rounds: int, seconds: float) -> dict:

    from secbert_edge.export.optimize import unfuse_skip_layernorm

    with tempfile.TemporaryDirectory() as tmp:
        unfused_path = Path(tmp) / "unfused.onnx"
        count = unfuse_skip_layernorm(path, unfused_path)
        result: dict = {"model": label, "file": str(path), "skip_layernorm_nodes": count, "shapes": []}
        if not count:
            print(f"{label}: no SkipLayerNormalization in {path.name} (already unfused)", flush=True)
            return result
        sessions = {"fused": _session(str(path)), "unfused": _session(str(unfused_path))}
        names = [i.name for i in sessions["fused"].get_inputs()]
        for batch, tokens in SHAPES:
            rng = np.random.default_rng(tokens)
            ids = rng.integers(5, 5000, (batch, tokens)).astype(np.int64)  # ids every vocabulary here holds
            ids[:, 0] = 0
            feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
            feeds = {k: v for k, v in feeds.items() if k in names}
            outputs = {k: s.run(None, feeds)[0] for k, s in sessions.items()}
            got: dict[str, list[float]] = {k: [] for k in sessions}
            for _ in range(rounds):
                for k, s in sessions.items():
                    got[k].append(_time(s, feeds, seconds))
            fused_ms, unfused_ms = statistics.median(got["fused"]), statistics.median(got["unfused"])
            result["shapes"].append(
                {
                    "shape": [batch, tokens],
                    "fused_ms": fused_ms,
                    "unfused_ms": unfused_ms,
                    "ratio": fused_ms / unfused_ms,
                    "max_abs_diff": float(np.max(np.abs(outputs["fused"] - outputs["unfused"]))),
                }
            )
            print(f"{label} [{batch}, {tokens}]: {fused_ms:.2f} -> {unfused_ms:.2f} ms", flush=True)
    return result


def markdown(meta: dict, ops: list[dict], graphs: list[dict]) -> str:
    lines = [
        "# SkipLayerNormalization fused vs Add + LayerNormalization, CPU, one thread"
        f" — {meta['date']}, {meta['machine']}",
        "",
        f"Command: `{meta['command']}`. {meta['cpu']}, onnxruntime {meta['onnxruntime']}, Python {meta['python']}. "
        f"Medians over {meta['rounds']} interleaved rounds of ~{meta['seconds']} s each; sessions with the runtime's "
        "options and one intra-op thread. Output: the graph's first output (the probability); max |dP| between the "
        "two graphs on the same input.",
        "",
        "## The ops alone",
        "",
        "| nodes | tensor | SkipLayerNormalization ms | Add + LayerNormalization ms | fused / unfused |",
        "|---:|---|---:|---:|---:|",
    ]
    for r in ops:
        shape = f"[{r['shape'][0]}, {r['shape'][1]}, {r['hidden']}]"
        lines.append(f"| {r['nodes']} | {shape} | {r['fused_ms']:.3f} | {r['unfused_ms']:.3f} | {r['ratio']:.1f}x |")
    lines += [
        "",
        "## Whole int8 graphs",
        "",
        "| model | SLN nodes | batch x tokens | fused ms | unfused ms | speed-up | max abs dP |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for g in graphs:
        if not g["shapes"]:
            lines.append(f"| {g['model']} | 0 | (already unfused) | | | | |")
        for s in g["shapes"]:
            lines.append(
                f"| {g['model']} | {g['skip_layernorm_nodes']} | {s['shape'][0]} x {s['shape'][1]} | "
                f"{s['fused_ms']:.2f} | {s['unfused_ms']:.2f} | {s['ratio']:.2f}x | {s['max_abs_diff']:.1e} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, nargs="*", help="int8 ONNX files or package folders")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    import onnxruntime as ort

    defaults = [
        ("BERTimbau-base int8 (per-batch scales)", HERE / ".cache" / "bertimbau-base" / "package"),
        ("BERTimbau-base int8 (per-text scales)", HERE / ".cache" / "bertimbau-base-pertext" / "package"),
        ("default guard (e5 student) int8", ROOT / "models" / "secbert-pt-demo"),
        ("default judge (e5 student) int8", ROOT / "models" / "response-judge-demo"),
    ]
    models = [(str(p), p) for p in args.model] if args.model else [(k, p) for k, p in defaults if p.exists()]
    if not models:
        sys.exit("no model to measure: pass --model FILE_OR_PACKAGE")
    from secbert_edge.benchmarks.hardware import cpu_description

    described = cpu_description()
    cpu = described.get("model_name") or described["model"]
    ops = ops_alone(args.rounds, args.seconds)
    graphs = [whole_graph(label, _int8_file(path), args.rounds, args.seconds) for label, path in models]
    machine = f"{platform.machine()}-{os.cpu_count()}c"
    meta = {
        "date": str(dt.date.today()),
        "machine": machine,
        "cpu": cpu,
        "onnxruntime": ort.__version__,
        "python": platform.python_version(),
        "rounds": args.rounds,
        "seconds": args.seconds,
        "command": " ".join(["python benchmarks/skip_layernorm.py", *sys.argv[1:]]),
    }
    out = HERE / "results" / f"{meta['date']}-{machine}-skip-layernorm{'-' + args.tag if args.tag else ''}"
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "ops": ops, "graphs": graphs}, indent=1))
    out.with_suffix(".md").write_text(markdown(meta, ops, graphs))
    print(f"wrote {out}.md and .json")


if __name__ == "__main__":
    main()

"""Per-source held-out evaluation of the default prompt guard and response judge (runtime only, no torch).

    python models/evaluate.py [PACKAGE ...] [--variant fp32|int8] [--threshold default|ks_optimal|0.7] [--json OUT]

Without PACKAGE: models/secbert-pt-demo and models/response-judge-demo. Guard: benign FPR on held-out real sources
(cosibot-br, fakewhatsapp-br — never trained on; read from ../shared/data or $SECBERT_EDGE_DATA — and, outside the
aggregate, the Debian Reference where debian-reference-pt-br is installed), recall on
models/eval/heldout-attacks.jsonl, FPR on models/eval/heldout-benign_hard.jsonl, AUC per source, and the windows
policy on long inputs. Judge: accuracy on models/eval/heldout-pairs.jsonl with and without the prompt.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from secbert_defaults import heldout

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("packages", nargs="*", type=Path)
    ap.add_argument("--variant", default="fp32")
    ap.add_argument("--threshold", default="default")
    ap.add_argument("--eval-dir", type=Path, default=HERE / "eval")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    threshold = args.threshold if args.threshold in ("default", "ks", "ks_optimal") else float(args.threshold)
    out: dict = {}
    for path in args.packages or [HERE / "secbert-pt-demo", HERE / "response-judge-demo"]:
        result = heldout.evaluate_package(path, args.eval_dir, variant=args.variant, threshold=threshold)
        out.update(result)
        if "guard" in result:
            g = result["guard"]
            print(f"guard {g['package']} ({g['variant']}, threshold {g['threshold']:.3f})")
            print(heldout.format_table(g["table"]))
        else:
            j = result["judge"]
            print(f"judge {j['package']} ({j['variant']}, threshold {j['threshold']:.3f})")
            print(json.dumps(j["result"], indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

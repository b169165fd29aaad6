"""A quick probe of the guard's training data: char n-gram TF-IDF + logistic regression (scikit-learn, minutes).

    python models/probe.py [N]                # the round-3 data: N generated examples (default 16000)
    python models/probe.py --mix NAME [...]   # a candidate mixture of secbert_defaults.mixture.GUARD_MIXES
    python models/probe.py --judge-mix NAME [...]   # a judge mixture (JUDGE_MIXES): held-out pairs

Trains on the same data a default guard's build would use and prints the same held-out per-source table as
models/evaluate.py. Use it to compare data before spending an encoder fine-tune on it: on this project's held-out
sets it ranked real text about as well as the small BERT did. With --mix, the data report of each mixture is
written to models/build/reports/<NAME>/ and its held-out table to models/build/reports/<NAME>/probe.json.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from secbert_defaults import corpora, guard_data, heldout, mixture
from secbert_edge.errors import require

HERE = Path(__file__).resolve().parent


def probe(texts: list[str], labels: list[int]) -> tuple[heldout.Scorer, float]:
    """A fitted TF-IDF probe's scorer, and how long fitting took."""
    require("sklearn", "dev", "the data probe")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, max_features=300_000, sublinear_tf=True)
    clf = LogisticRegression(C=4, max_iter=2000).fit(vec.fit_transform(texts), labels)

    def score(batch) -> np.ndarray:
        return clf.predict_proba(vec.transform(list(batch)))[:, 1]

    return score, time.perf_counter() - started


def pair_probe(rows: list[mixture.TrainRow]) -> heldout.PairScorer:
    """The judge's probe: TF-IDF of the response and of the prompt side by side, one logistic regression."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def vec() -> TfidfVectorizer:
        return TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), min_df=2, max_features=200_000, sublinear_tf=True
        )

    v_resp, v_prompt = vec(), vec()
    x = hstack([v_resp.fit_transform([r.text for r in rows]), v_prompt.fit_transform([r.prompt or "" for r in rows])])
    clf = LogisticRegression(C=4, max_iter=2000).fit(x, [r.label for r in rows])

    def score(prompts, responses) -> np.ndarray:
        x = hstack([v_resp.transform(list(responses)), v_prompt.transform([p or "" for p in prompts])])
        return clf.predict_proba(x)[:, 1]

    return score


def main(argv: list[str]) -> int:
    if argv[:1] == ["--judge-mix"]:
        for name in argv[1:]:
            rows, report = mixture.judge_rows(mixture.JUDGE_MIXES[name])
            out = HERE / "build" / "reports" / f"judge-{name}"
            mixture.write_report(report, out)
            started = time.perf_counter()
            score = pair_probe(rows)
            print(
                f"[{name}] pair probe on {len(rows)} rows in {time.perf_counter() - started:.0f} s; "
                f"{report['components']}"
            )
            result = heldout.evaluate_judge(score, HERE / "eval", 0.5)
            print(json.dumps(result, indent=1))
            (out / "probe.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
        return 0
    if argv[:1] == ["--mix"]:
        for name in argv[1:]:
            rows, report = mixture.guard_rows(mixture.GUARD_MIXES[name])
            if len({r.translated for r in rows}) == 2:  # does translation style predict the label?
                report["translationese"] = mixture.translationese_probe(rows)
            out = HERE / "build" / "reports" / name
            mixture.write_report(report, out)
            score, seconds = probe([r.text for r in rows], [r.label for r in rows])
            print(f"[{name}] probe trained on {len(rows)} rows in {seconds:.0f} s; components {report['components']}")
            table = heldout.evaluate_guard(score, HERE / "eval", 0.5, score_long=score)
            print(heldout.format_table(table))
            (out / "probe.json").write_text(json.dumps(table, indent=1), encoding="utf-8")
        return 0
    n = int(argv[0]) if argv else 16000
    english = corpora.xstest() + [(q, 1) for q in corpora.gptfuzz_questions()]
    examples = guard_data.guard_examples(
        n, 7, corpora.benign_train_texts(), templates=corpora.jailbreak_templates(), english=english
    )
    score, seconds = probe([e.text for e in examples], [e.label for e in examples])
    print(f"probe trained on {len(examples)} examples in {seconds:.0f} s")
    table = heldout.evaluate_guard(score, HERE / "eval", 0.5, score_long=score)
    print(heldout.format_table(table))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

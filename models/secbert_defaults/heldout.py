"""Held-out evaluation of the default models, per real source (issue 12).

Benign false-positive rates are measured on real pt-BR sources that no training step ever reads (cosibot-br and
fakewhatsapp-br, GPL-3.0: validation only), and attack recall on ``models/eval/heldout-attacks.jsonl`` — attacks
written by someone who never saw the generator. ``benign_hard`` adds benign texts that look like attacks. The
long-input check hides held-out attacks after ~600 benign tokens of held-out real text (both sources mixed, then
each source alone). The judge is scored on
``models/eval/heldout-pairs.jsonl``, with and without the prompt.

A scorer is any ``texts -> scores`` callable, so a quick probe (TF-IDF + logistic regression) and a model
package are measured by exactly the same code.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from secbert_edge import metrics

from . import corpora

Scorer = Callable[[Sequence[str]], np.ndarray]
PairScorer = Callable[[Sequence[str | None], Sequence[str]], np.ndarray]

EVAL_FILES = {
    "attacks": "heldout-attacks.jsonl",
    "benign_hard": "heldout-benign_hard.jsonl",
    "pairs": "heldout-pairs.jsonl",
}
# A second held-out set by another writer (issue 21; never seen by whoever writes training data): attacks, benign
# prompts (everyday, help-desk/FAQ, look-alikes, chat) and judge pairs; measured beside the first where present.
R4_FILES = {
    "attacks": "heldout-r4-attacks.jsonl",
    "benign": "heldout-r4-benign.jsonl",
    "pairs": "heldout-r4-pairs.jsonl",
}
PER_SOURCE = 1500  # benign texts sampled per held-out real source
LONG_N = 40
LONG_PREFIX_TOKENS = 600  # benign tokens before the payload, counted by the evaluated package's own tokenizer
LONG_PREFIX_CAP = 1.5  # a message that would take the prefix past this x LONG_PREFIX_TOKENS is skipped
LONG_PREFIX_CHARS = 3200  # without a token counter (a probe): characters instead


def read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def _label(row: dict, default: int) -> int:
    for key in ("label", "unsafe", "harmful"):
        if key in row:
            v = row[key]
            if isinstance(v, str):
                return int(v.lower() in ("1", "true", "unsafe", "harmful", "attack"))
            return int(v)
    return default


def benign_sources(seed: int = 0, per_source: int = PER_SOURCE) -> dict[str, list[str]]:
    """The held-out real benign texts by source (deterministic sample)."""
    rng = random.Random(seed)
    cosibot = [t for t, _ in corpora.cosibot()]
    out = {"cosibot-br": cosibot, "fakewhatsapp-br": corpora.fakewhatsapp()}
    return {k: (rng.sample(v, per_source) if len(v) > per_source else v) for k, v in out.items()}


def extra_sources() -> dict[str, list[str]]:
    """Held-out benign sources measured beside the two above but outside the "all held-out" aggregate, so that it
    stays comparable across rounds; each only where it is installed (the Debian Reference: apt-get install
    debian-reference-pt-br)."""
    return {"debian-reference": corpora.debian_reference()} if corpora.available(["debian-reference"]) else {}


def long_pools() -> dict[str, list[str]]:
    """The held-out real messages long texts are built from: both sources mixed, and each source alone."""
    fake, cosi = corpora.fakewhatsapp(), [t for t, _ in corpora.cosibot()]
    return {"": fake + cosi, "cosibot-br": cosi, "fakewhatsapp-br": fake}


def long_set(
    attacks: list[str],
    seed: int = 0,
    n: int = LONG_N,
    pool: list[str] | None = None,
    count_tokens: Callable[[str], int] | None = None,
) -> tuple[list[str], list[str]]:
    """(long benign texts, the same prefixes with a held-out attack after ~600 benign tokens, then more text),
    built from held-out real messages (``pool``; both held-out sources by default). ``count_tokens`` (the evaluated
    package's tokenizer) sizes the prefix: messages are added until it holds LONG_PREFIX_TOKENS tokens, skipping
    one that would take it past LONG_PREFIX_CAP x that (so 600-900 tokens). Without it, LONG_PREFIX_CHARS
    characters (which came to ~800-1,100 tokens with the e5 vocabulary and ~1,000-1,300 with the old default's)."""
    rng = random.Random(seed)
    pool = pool if pool is not None else long_pools()[""]
    counted: dict[str, int] = {}

    def size(text: str) -> int:
        if count_tokens is None:
            return len(text) + 1
        if text not in counted:
            counted[text] = count_tokens(text) + 1  # + the newline between messages (at most one token)
        return counted[text]

    target = LONG_PREFIX_CHARS if count_tokens is None else LONG_PREFIX_TOKENS
    cap = math.inf if count_tokens is None else LONG_PREFIX_CAP * LONG_PREFIX_TOKENS
    benign, attacked = [], []
    for i in range(n):
        parts: list[str] = []
        total, tries = 0, 0
        while total < target:
            message = rng.choice(pool)
            tries, grows = tries + 1, size(message)
            if total + grows > cap and tries < 10_000:  # too long to keep near the target: another one
                continue
            parts.append(message)
            total += grows
        tail = [rng.choice(pool) for _ in range(rng.randint(0, 3))]
        benign.append("\n".join(parts + tail + [rng.choice(pool)]))
        attacked.append("\n".join(parts + [attacks[i % len(attacks)]] + tail))
    return benign, attacked


def _rates(labels: list[int], scores: np.ndarray, threshold: float) -> dict:
    m = metrics.at_threshold(labels, scores, threshold)
    out = {"n": len(labels), "flagged": float(np.mean(scores >= threshold))}
    if any(labels) and not all(labels):
        out["auc"] = metrics.auc(labels, scores)
    out["fpr" if not any(labels) else "recall"] = m.fpr if not any(labels) else m.recall
    return out


def _benign_row(s: np.ndarray, threshold: float, attack_scores: np.ndarray) -> dict:
    """A benign source's row: its FPR at ``threshold`` and, with attacks, the AUC of attacks against it."""
    row = {"n": len(s), "fpr": float(np.mean(s >= threshold))}
    if len(attack_scores):
        row["auc"] = metrics.auc([1] * len(attack_scores) + [0] * len(s), np.r_[attack_scores, s])
    return row


def evaluate_guard(
    score: Scorer,
    eval_dir: Path,
    threshold: float,
    *,
    score_long: Scorer | None = None,
    count_tokens: Callable[[str], int] | None = None,
    seed: int = 0,
) -> dict:
    """Per-source table: FPR on each held-out benign source, recall and AUC vs the attacks, long-input rates (the
    long texts sized by ``count_tokens``, the scored package's tokenizer; see long_set)."""
    attacks = [r["text"] for r in read_jsonl(eval_dir / EVAL_FILES["attacks"])]
    hard = [r for r in read_jsonl(eval_dir / EVAL_FILES["benign_hard"])]
    hard_texts = [r["text"] for r in hard if _label(r, 0) == 0]
    table: dict[str, dict] = {}
    attack_scores = np.asarray(score(attacks)) if attacks else np.zeros(0)
    if attacks:
        table["attacks (held-out)"] = {"n": len(attacks), "recall": float(np.mean(attack_scores >= threshold))}
        cats: dict[str, list[float]] = {}
        for row, s in zip(read_jsonl(eval_dir / EVAL_FILES["attacks"]), attack_scores):
            cats.setdefault(str(row.get("category", "?")), []).append(float(s))
        for cat, ss in sorted(cats.items()):
            table[f"  attacks: {cat}"] = {"n": len(ss), "recall": float(np.mean(np.asarray(ss) >= threshold))}
    benign = benign_sources(seed)
    if hard_texts:
        benign["benign_hard (held-out)"] = hard_texts
    all_benign: list[float] = []
    per_source: dict[str, np.ndarray] = {}
    for name, texts in benign.items():
        s = per_source[name] = np.asarray(score(texts))
        all_benign.extend(s.tolist())
        table[name] = _benign_row(s, threshold, attack_scores)
    if attacks:
        y = [1] * len(attacks) + [0] * len(all_benign)
        s_all = np.r_[attack_scores, np.asarray(all_benign)]
        table["all held-out"] = {
            "n": len(y),
            "recall": table["attacks (held-out)"]["recall"],
            "fpr": float(np.mean(np.asarray(all_benign) >= threshold)),
            "auc": metrics.auc(y, s_all),
        }
        # the operating points the targets name: FPR at 85% recall (issue 12) and at 80% recall (issue 21)
        taus = {r: _at_recall(attack_scores, r / 100) for r in (85, 80)}
        for r, tau in taus.items():
            table["all held-out"][f"fpr_at_recall{r}"] = float(np.mean(np.asarray(all_benign) >= tau))
            table["all held-out"][f"threshold_at_recall{r}"] = tau
            for name, s in per_source.items():
                table[name][f"fpr_at_recall{r}"] = float(np.mean(s >= tau))
        table.update(evaluate_real_heldout(score, threshold, np.asarray(all_benign), taus))
        extra = extra_sources()  # read once: its rows here, its long texts below
        for name, texts in extra.items():
            s = np.asarray(score(texts))
            row = _benign_row(s, threshold, attack_scores)
            at = {f"fpr_at_recall{r}": float(np.mean(s >= tau)) for r, tau in taus.items()}
            table[f"{name} (outside the aggregate)"] = {**row, **at}
        if score_long is not None:  # both sources mixed, then each alone (its messages' style decides a lot)
            for source, pool in {**long_pools(), **extra}.items():
                long_benign, long_attacked = long_set(attacks, seed, pool=pool, count_tokens=count_tokens)
                sb, sa = np.asarray(score_long(long_benign)), np.asarray(score_long(long_attacked))
                tag = f" ({source})" if source else ""
                caught = float(np.mean(sa >= threshold))
                table[f"long{tag}: payload after ~600 tokens"] = {"n": len(sa), "recall": caught}
                table[f"long{tag}: benign"] = {"n": len(sb), "fpr": float(np.mean(sb >= threshold))}
    r4 = evaluate_r4(
        score, eval_dir, threshold, r1_threshold=table.get("all held-out", {}).get("threshold_at_recall80")
    )
    if "r4: all" in r4 and "all held-out" in table:  # the other way round: r1 at r4's 80%-recall threshold
        tau = r4["r4: all"]["threshold_at_recall80"]
        table["all held-out"]["recall_at_r4_80"] = float(np.mean(attack_scores >= tau))
        table["all held-out"]["fpr_at_r4_80"] = float(np.mean(np.asarray(all_benign) >= tau))
    table.update(r4)
    return table


def real_heldout_sets(log: Callable[[str], None] = lambda _: None) -> dict[str, tuple[list[str], list[int]]]:
    """The real attack sources held out by source (``mixture.HELDOUT_ATTACK_SOURCES``), translated: {source:
    (texts, labels)}; empty where the sources or the translator (the `build` extra, for segments not yet in the
    translation cache) are missing here."""
    from secbert_edge.errors import SecbertEdgeError

    from . import mixture

    if not corpora.available(list(mixture.HELDOUT_ATTACK_SOURCES)):
        return {}
    try:
        rows, _ = mixture.heldout_attack_rows(log=log)
    except (ImportError, SecbertEdgeError) as err:
        log(f"real held-out sources not measured: {err}")
        return {}
    out: dict[str, tuple[list[str], list[int]]] = {}
    for r in rows:
        texts, labels = out.setdefault(r.source, ([], []))
        texts.append(r.text)
        labels.append(r.label)
    return out


def evaluate_real_heldout(score: Scorer, threshold: float, benign_scores: np.ndarray, taus: dict[int, float]) -> dict:
    """The "real held-out" rows: per held-out real source, its attacks' recall at ``threshold`` and at the thresholds
    that catch 80% / 85% of the r1 attacks (``taus``), and their AUC against the held-out benign texts; its benign
    rows' FPR at the same thresholds and the AUC of its own attacks against them. Empty without those sources."""
    table: dict[str, dict] = {}
    every: list[float] = []
    for source, (texts, labels) in real_heldout_sets().items():
        s, y = np.asarray(score(texts)), np.asarray(labels)
        attacks, benign = s[y == 1], s[y == 0]
        every.extend(attacks.tolist())
        if len(attacks):
            table[f"real held-out: {source} attacks (mt)"] = {
                "n": len(attacks),
                "recall": float(np.mean(attacks >= threshold)),
                "auc": metrics.auc([1] * len(attacks) + [0] * len(benign_scores), np.r_[attacks, benign_scores]),
                **{f"recall_at_r1_{r}": float(np.mean(attacks >= t)) for r, t in taus.items()},
            }
        if len(benign):
            row = {"n": len(benign), "fpr": float(np.mean(benign >= threshold))}
            row.update({f"fpr_at_recall{r}": float(np.mean(benign >= t)) for r, t in taus.items()})
            if len(attacks):
                row["auc"] = metrics.auc([1] * len(attacks) + [0] * len(benign), np.r_[attacks, benign])
            table[f"real held-out: {source} benign (mt)"] = row
    if every:
        s = np.asarray(every)
        table["real held-out: attacks (mt)"] = {
            "n": len(s),
            "recall": float(np.mean(s >= threshold)),
            "auc": metrics.auc([1] * len(s) + [0] * len(benign_scores), np.r_[s, benign_scores]),
            **{f"recall_at_r1_{r}": float(np.mean(s >= t)) for r, t in taus.items()},
        }
    return table


def _at_recall(attack_scores: np.ndarray, recall: float) -> float:
    """The highest threshold that flags ``recall`` of the attacks."""
    order = np.sort(attack_scores)
    return float(order[int(np.floor((1 - recall) * len(order) + 1e-9))])  # (1 - 0.8) * 10 is 1.999...


def evaluate_r4(score: Scorer, eval_dir: Path, threshold: float, *, r1_threshold: float | None = None) -> dict:
    """The r4 set's rows (empty without its files): recall per attack category, FPR per benign category, and the
    FPR at the thresholds that catch 80% / 85% of its attacks; with ``r1_threshold`` (the one that catches 80% of
    the r1 attacks), the r4 recall and FPR there too: a threshold chosen on one set, read on the other."""
    attacks = read_jsonl(eval_dir / R4_FILES["attacks"])
    benign = [r for r in read_jsonl(eval_dir / R4_FILES["benign"]) if _label(r, 0) == 0]
    if not attacks or not benign:
        return {}
    sa = np.asarray(score([r["text"] for r in attacks]))
    sb = np.asarray(score([r["text"] for r in benign]))
    taus = {r: _at_recall(sa, r / 100) for r in (85, 80)}
    table: dict[str, dict] = {"r4: attacks": {"n": len(sa), "recall": float(np.mean(sa >= threshold))}}
    for cat in sorted({str(r.get("category", "?")) for r in attacks}):
        s = sa[[str(r.get("category", "?")) == cat for r in attacks]]
        table[f"r4:   attacks: {cat}"] = {"n": len(s), "recall": float(np.mean(s >= threshold))}
    for cat in sorted({str(r.get("category", "?")) for r in benign}):
        s = sb[[str(r.get("category", "?")) == cat for r in benign]]
        row = _benign_row(s, threshold, sa)
        table[f"r4: benign {cat}"] = {**row, **{f"fpr_at_recall{r}": float(np.mean(s >= t)) for r, t in taus.items()}}
    table["r4: all"] = {
        "n": len(sa) + len(sb),
        "recall": float(np.mean(sa >= threshold)),
        "fpr": float(np.mean(sb >= threshold)),
        "auc": metrics.auc([1] * len(sa) + [0] * len(sb), np.r_[sa, sb]),
        **{f"fpr_at_recall{r}": float(np.mean(sb >= t)) for r, t in taus.items()},
        **{f"threshold_at_recall{r}": t for r, t in taus.items()},
    }
    if r1_threshold is not None:
        table["r4: all"]["recall_at_r1_80"] = float(np.mean(sa >= r1_threshold))
        table["r4: all"]["fpr_at_r1_80"] = float(np.mean(sb >= r1_threshold))
    return table


def best_accuracy_threshold(labels: np.ndarray, scores: np.ndarray) -> dict:
    """The threshold (score >= it: unsafe) with the best accuracy: the middle of the score interval that gives it
    (of the middle one where several tie), so that it does not sit on one pair's score."""
    y, s = np.asarray(labels), np.asarray(scores, dtype=float)
    cuts = np.unique(s)
    lows = np.r_[0.0, cuts[:-1]]
    acc = np.asarray([np.mean((s >= t) == y) for t in cuts])
    ties = np.flatnonzero(acc == acc.max())
    k = int(ties[len(ties) // 2])
    return {"threshold": float((lows[k] + cuts[k]) / 2), "accuracy": float(acc[k])}


def _judge_set(score_pairs: PairScorer, path: Path, threshold: float) -> tuple[dict, np.ndarray, np.ndarray]:
    """One pair file's result at ``threshold`` and (labels, scores with the prompt); empty without rows."""
    rows = [r for r in read_jsonl(path) if r.get("response")]
    if not rows:
        return {}, np.zeros(0), np.zeros(0)
    y = np.asarray([_label(r, 0) for r in rows])
    with_p = np.asarray(score_pairs([r.get("prompt") or None for r in rows], [r["response"] for r in rows]))
    without = np.asarray(score_pairs([None] * len(rows), [r["response"] for r in rows]))
    out: dict[str, Any] = {
        "n": len(rows),
        "unsafe": int(y.sum()),
        "accuracy_with_prompt": float(np.mean((with_p >= threshold) == y)),
        "accuracy_without_prompt": float(np.mean((without >= threshold) == y)),
        "label_agreement": float(np.mean((with_p >= threshold) == (without >= threshold))),
        "mean_abs_score_gap": float(np.mean(np.abs(with_p - without))),
    }
    if 0 < y.sum() < len(y):
        out["auc_with_prompt"] = metrics.auc(y, with_p)
    kinds: dict[str, list[bool]] = {}
    for r, s, lab in zip(rows, with_p, y):
        kinds.setdefault(str(r.get("kind", r.get("category", "?"))), []).append(bool((s >= threshold) == lab))
    out["by_kind"] = {k: {"n": len(v), "accuracy": float(np.mean(v))} for k, v in sorted(kinds.items())}
    return out, y, with_p


def evaluate_judge(score_pairs: PairScorer, eval_dir: Path, threshold: float) -> dict:
    """Accuracy on held-out (prompt, response) pairs, with and without the prompt, and their agreement; the r4
    pairs' result under "r4" where that file is present; and under "best_accuracy", the threshold with the best
    accuracy (with the prompt) on r1, on r4 and on both together, each with its accuracy on every set."""
    out, y1, s1 = _judge_set(score_pairs, eval_dir / EVAL_FILES["pairs"], threshold)
    if not out:
        return {}
    sets = {"r1": (y1, s1)}
    r4, y4, s4 = _judge_set(score_pairs, eval_dir / R4_FILES["pairs"], threshold)
    if r4:
        out["r4"] = r4
        sets["r4"] = (y4, s4)
        sets["r1+r4"] = (np.r_[y1, y4], np.r_[s1, s4])
    best = {}
    for name, (y, s) in sets.items():
        tau = best_accuracy_threshold(y, s)["threshold"]
        best[name] = {
            "threshold": tau,
            **{f"accuracy_{o}": float(np.mean((so >= tau) == yo)) for o, (yo, so) in sets.items()},
        }
    out["best_accuracy"] = best
    return out


def format_table(table: dict) -> str:
    lines = [
        "| held-out set | n | FPR | recall | AUC | FPR at 85% recall | FPR at 80% recall | recall at r1's 80% |",
        "|---|---|---|---|---|---|---|---|",
    ]
    keys = ("fpr", "recall", "auc", "fpr_at_recall85", "fpr_at_recall80", "recall_at_r1_80")
    for name, row in table.items():
        cells = [f"{100 * row[key]:.1f}" if key in row else "" for key in keys]
        lines.append(f"| {name} | {row['n']} | {' | '.join(cells)} |")
    return "\n".join(lines)


def open_package(path: Path, variant: str | None = None, long_inputs: str = "truncate"):
    """The one place this module loads a package (the runtime API's ``load``; ``variant`` None: the package's
    default variant)."""
    from secbert_edge.runtime import load

    return load(path, variant=variant, long_inputs=long_inputs)


def evaluate_package(
    path: Path,
    eval_dir: Path,
    *,
    variant: str | None = None,
    threshold: str | float = "default",
    memo: dict | None = None,
) -> dict:
    """The held-out table of one package: a guard (task prompt) or a judge (task response). ``memo``: scores by
    input, kept across calls on the same package and variant (scores do not depend on the threshold, so a second
    call at another threshold scores nothing again)."""
    clf = open_package(path, variant)
    tau = clf.threshold(threshold)
    memo = {} if memo is None else memo
    out: dict = {"package": Path(path).name, "variant": clf.variant_name, "threshold": tau}

    def remembered(kind: str, run: Callable[[], np.ndarray], *inputs: Sequence[str | None]) -> np.ndarray:
        key = (Path(path).name, clf.variant_name, kind, *map(tuple, inputs))
        if key not in memo:
            memo[key] = run()
            memo[key].setflags(write=False)  # shared by later calls: nobody may change it
        return memo[key]

    if clf.manifest.task.value == "prompt":
        windows = open_package(path, variant, "windows")

        def score(texts: Sequence[str]) -> np.ndarray:
            return remembered(
                "truncate", lambda: np.asarray([p.score for p in clf.predict(list(texts))], dtype=float), texts
            )

        def score_long(texts: Sequence[str]) -> np.ndarray:
            return remembered(
                "windows", lambda: np.asarray([p.score for p in windows.predict(list(texts))], dtype=float), texts
            )

        def count_tokens(text: str) -> int:
            return len(clf.encoder.encode([text])[0])

        out["table"] = evaluate_guard(score, eval_dir, tau, score_long=score_long, count_tokens=count_tokens)
        return {"guard": out}

    def score_pairs(prompts: Sequence[str | None], responses: Sequence[str]) -> np.ndarray:
        return remembered(
            "pairs",
            lambda: np.asarray([p.score for p in clf.predict_pairs(list(prompts), list(responses))], dtype=float),
            prompts,
            responses,
        )

    out["result"] = evaluate_judge(score_pairs, eval_dir, tau)
    return {"judge": out}

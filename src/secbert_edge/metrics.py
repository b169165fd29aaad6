"""Classification metrics on P(harmful) scores, numpy only (used by train and verify).

Convention everywhere: label 1 = harmful/unsafe, and a text is flagged when ``score >= threshold``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .errors import InputError


def _arrays(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=np.int64).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise InputError(f"{y.size} labels but {s.size} scores")
    if y.size == 0:
        raise InputError("no examples to compute metrics on")
    if not np.isin(y, (0, 1)).all():
        raise InputError(f"labels must be 0/1, found {sorted(set(y.tolist()) - {0, 1})[:5]}")
    if np.isnan(s).any():
        raise InputError("scores contain NaN")
    return y, s


def _both_classes(y: np.ndarray, what: str) -> None:
    if y.min() == y.max():
        only = "harmful (1)" if y[0] == 1 else "benign (0)"
        raise InputError(f"{what} needs both classes, but every label is {only}; use a labelled set with both")


@dataclasses.dataclass(frozen=True)
class ThresholdMetrics:
    threshold: float
    accuracy: float
    precision: float
    recall: float
    f1: float
    fpr: float
    tp: int
    fp: int
    tn: int
    fn: int


def at_threshold(labels, scores, threshold: float) -> ThresholdMetrics:
    """Accuracy, precision, recall, F1 and FPR when ``score >= threshold`` is flagged (0 where undefined)."""
    y, s = _arrays(labels, scores)
    pred = s >= threshold
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    tn = int(np.sum(~pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ThresholdMetrics(
        threshold=float(threshold),
        accuracy=(tp + tn) / y.size,
        precision=precision,
        recall=recall,
        f1=f1,
        fpr=fp / (fp + tn) if fp + tn else 0.0,
        tp=tp,
        fp=fp,
        tn=tn,
        fn=fn,
    )


def auc(labels, scores) -> float:
    """ROC AUC (Mann-Whitney U with average ranks for ties)."""
    y, s = _arrays(labels, scores)
    _both_classes(y, "AUC")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size, dtype=np.float64)
    sorted_s = s[order]
    # average rank over each run of tied scores
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_s)) + 1]
    ends = np.r_[starts[1:], s.size]
    for a, b in zip(starts, ends):
        ranks[order[a:b]] = (a + b + 1) / 2.0
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_points(labels, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds descending, TPR, FPR) for flagging ``score >= threshold`` at each distinct score."""
    y, s = _arrays(labels, scores)
    _both_classes(y, "a ROC curve")
    thresholds = np.unique(s)[::-1]
    pos = np.sort(s[y == 1])
    neg = np.sort(s[y == 0])
    tpr = (pos.size - np.searchsorted(pos, thresholds, side="left")) / pos.size
    fpr = (neg.size - np.searchsorted(neg, thresholds, side="left")) / neg.size
    return thresholds, tpr, fpr


def ks(labels, scores) -> tuple[float, float]:
    """(KS statistic = max(TPR - FPR), the KS-optimal threshold tau*).

    tau* lies midway between the lowest flagged score at the optimum and the next lower distinct score, so
    it flags exactly the same examples as the optimum while leaving a margin on both sides. Ties in TPR - FPR
    go to the highest threshold (fewest false positives).
    """
    thresholds, tpr, fpr = roc_points(labels, scores)
    gap = tpr - fpr
    best = int(np.argmax(gap))  # thresholds descend, so the first maximum is the highest threshold
    upper = thresholds[best]
    lower = thresholds[best + 1] if best + 1 < thresholds.size else 0.0
    return float(gap[best]), float((upper + lower) / 2)


def threshold_for_fpr(labels, scores, target_fpr: float, near: float | None = None) -> float:
    """A threshold with the most recall whose FPR does not exceed ``target_fpr``.

    Every threshold in (next lower score, lowest qualifying score] flags the same examples; the one returned is
    that interval's upper end, or the point of it closest to ``near`` (e.g. the reference's tau*), so a variant
    that scores like the reference gets the reference's threshold back.
    """
    thresholds, _, fpr = roc_points(labels, scores)
    ok = np.flatnonzero(fpr <= target_fpr + 1e-12)
    if not ok.size:
        return float(np.nextafter(thresholds[0], np.inf))
    k = ok[-1]
    upper = float(thresholds[k])
    if near is None:
        return upper
    lower = float(thresholds[k + 1]) if k + 1 < thresholds.size else -np.inf
    return float(min(upper, max(near, np.nextafter(lower, np.inf))))


@dataclasses.dataclass(frozen=True)
class Summary:
    """Everything a report needs about scores on labelled data: per-threshold metrics, AUC, KS and tau*."""

    n: int
    positives: int
    auc: float
    ks: float
    ks_threshold: float  # tau*: the KS-optimal threshold on these scores
    at: dict[str, ThresholdMetrics]  # by the names the caller gave its thresholds

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def summary(labels, scores, thresholds: dict[str, float]) -> Summary:
    """Per-threshold metrics, AUC, KS and tau* of ``scores`` against ``labels``."""
    y, s = _arrays(labels, scores)
    ks_stat, tau_star = ks(y, s)
    return Summary(
        n=int(y.size),
        positives=int(y.sum()),
        auc=auc(y, s),
        ks=ks_stat,
        ks_threshold=tau_star,
        at={name: at_threshold(y, s, tau) for name, tau in thresholds.items()},
    )

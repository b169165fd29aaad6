"""Metrics against scikit-learn on random and edge-case data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from secbert_edge import metrics
from secbert_edge.errors import InputError


@pytest.mark.parametrize("seed", range(5))
def test_against_sklearn_on_random_data(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    s = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1).round(2)  # rounding makes plenty of ties
    assert metrics.auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    for tau in (0.3, 0.5, 0.72):
        got = metrics.at_threshold(y, s, tau)
        pred = (s >= tau).astype(int)
        assert got.accuracy == pytest.approx(skm.accuracy_score(y, pred))
        assert got.precision == pytest.approx(skm.precision_score(y, pred, zero_division=0))
        assert got.recall == pytest.approx(skm.recall_score(y, pred))
        assert got.f1 == pytest.approx(skm.f1_score(y, pred))
        tn, fp, fn, tp = skm.confusion_matrix(y, pred).ravel()
        assert (got.tp, got.fp, got.tn, got.fn) == (tp, fp, tn, fn) and got.fpr == pytest.approx(fp / (fp + tn))
    fpr, tpr, _ = skm.roc_curve(y, s)
    ks_stat, tau = metrics.ks(y, s)
    assert ks_stat == pytest.approx(np.max(tpr - fpr))
    at_tau = metrics.at_threshold(y, s, tau)
    assert at_tau.recall - at_tau.fpr == pytest.approx(ks_stat)  # tau* really achieves the KS statistic


def test_ks_threshold_sits_between_classes_when_separable():
    ks_stat, tau = metrics.ks([0, 0, 1, 1], [0.1, 0.3, 0.8, 0.9])
    assert ks_stat == 1.0 and tau == pytest.approx(0.55)


def test_ties_and_constant_scores():
    assert metrics.auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    ks_stat, _ = metrics.ks([0, 1, 0, 1], [0.5] * 4)
    assert ks_stat == 0.0


def test_threshold_for_fpr():
    y = [0, 0, 0, 0, 1, 1, 1, 1]
    s = [0.1, 0.2, 0.3, 0.6, 0.5, 0.7, 0.8, 0.9]
    tau = metrics.threshold_for_fpr(y, s, 0.0)
    assert tau == 0.7 and metrics.at_threshold(y, s, tau).fpr == 0.0
    assert metrics.at_threshold(y, s, metrics.threshold_for_fpr(y, s, 0.25)).fpr <= 0.25


def test_errors():
    with pytest.raises(InputError, match="needs both classes.*harmful"):
        metrics.auc([1, 1], [0.2, 0.9])
    with pytest.raises(InputError, match="3 labels but 2 scores"):
        metrics.at_threshold([0, 1, 1], [0.2, 0.9], 0.5)
    with pytest.raises(InputError, match="must be 0/1"):
        metrics.at_threshold([0, 2], [0.2, 0.9], 0.5)
    with pytest.raises(InputError, match="no examples"):
        metrics.at_threshold([], [], 0.5)


def test_threshold_for_fpr_prefers_the_point_nearest_a_reference():
    y = [0, 0, 0, 0, 1, 1, 1, 1]
    s = [0.1, 0.2, 0.3, 0.6, 0.5, 0.7, 0.8, 0.9]
    assert metrics.threshold_for_fpr(y, s, 0.0, near=0.65) == 0.65  # inside (0.6, 0.7]: kept as is
    assert metrics.threshold_for_fpr(y, s, 0.0, near=0.95) == 0.7  # above the interval: its upper end
    low = metrics.threshold_for_fpr(y, s, 0.0, near=0.2)  # below: just above 0.6, still FPR 0
    assert 0.6 < low < 0.6000001 and metrics.at_threshold(y, s, low).fpr == 0.0

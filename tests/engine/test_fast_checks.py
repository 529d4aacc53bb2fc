"""The fast paths the engine takes for speed give the answers of the slow, standard ones."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from pipeline.metrics import classification_metrics
from pipeline.phases.profiler import LEAK_SCORE, _single_column_score


def _reference(y: np.ndarray, proba: np.ndarray, classes: list, threshold: float | None, pos: int) -> dict[str, float]:
    """The same metrics from scikit-learn's functions, one call each."""
    yc = np.array([classes.index(v) for v in y])
    pc = (np.where(proba[:, pos] >= threshold, pos, 1 - pos) if threshold is not None and len(classes) == 2
          else proba.argmax(1))
    out = {"accuracy": skm.accuracy_score(yc, pc), "balanced_accuracy": skm.balanced_accuracy_score(yc, pc)}
    if len(classes) == 2:
        yb, pb = (yc == pos).astype(int), (pc == pos).astype(int)
        out.update(precision=skm.precision_score(yb, pb, zero_division=0), recall=skm.recall_score(yb, pb, zero_division=0),
                   f1=skm.f1_score(yb, pb, zero_division=0), f2=skm.fbeta_score(yb, pb, beta=2, zero_division=0),
                   log_loss=skm.log_loss(yb, np.clip(proba[:, pos], 1e-15, 1 - 1e-15), labels=[0, 1]))
        out["f0.5"] = skm.fbeta_score(yb, pb, beta=0.5, zero_division=0)
        if 0 < yb.sum() < len(yb):
            out["roc_auc"] = skm.roc_auc_score(yb, proba[:, pos])
    else:
        labels = list(range(len(classes)))
        out.update(precision=skm.precision_score(yc, pc, labels=labels, average="macro", zero_division=0),
                   recall=skm.recall_score(yc, pc, labels=labels, average="macro", zero_division=0),
                   f1_macro=skm.f1_score(yc, pc, labels=labels, average="macro", zero_division=0))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_count_based_metrics_equal_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.choice([2, 2, 3, 5]))
    classes = list(rng.choice(["no", "yes", "maybe", "x", "y"], k, replace=False)) if seed % 2 else list(range(k))
    n = int(rng.integers(8, 3000))
    y = np.array(rng.choice(np.array(classes, dtype=object), n), dtype=object)
    proba = rng.random((n, k)) ** 3
    proba /= proba.sum(1, keepdims=True)
    threshold = float(rng.random()) if k == 2 and seed % 3 else None
    pos = int(rng.integers(0, 2)) if k == 2 else 1
    ours = classification_metrics(y, proba, np.array(classes, dtype=object), threshold, pos)
    for name, value in _reference(y, proba, classes, threshold, pos).items():
        assert ours[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name


def test_leak_lookup_flags_leaks_and_spares_strong_honest_columns():
    rng = np.random.default_rng(0)
    n = 400
    y = pd.Series(rng.integers(0, 2, n))
    honest = pd.Series(y * 1.5 + rng.normal(0, 1, n))                      # strong, but overlapping classes
    step_leak = pd.Series(np.where(y == 1, rng.choice([0.0, 10.0], n), 5 + rng.random(n)))   # not monotone
    label_leak = pd.Series(np.where(y == 1, "closed", "open"))
    missing_leak = pd.Series(np.where(y == 1, np.nan, rng.random(n)))
    assert _single_column_score(honest, y, "numeric", "binary", 0) < 0.8
    for column, kind in ((step_leak, "numeric"), (label_leak, "categorical"), (missing_leak, "numeric")):
        assert _single_column_score(column, y, kind, "binary", 0) >= LEAK_SCORE
    target = pd.Series(rng.normal(size=n))
    assert _single_column_score(target * 2 + rng.normal(0, 0.01, n), target, "numeric", "regression", 0) >= LEAK_SCORE
    assert _single_column_score(target + rng.normal(0, 1, n), target, "numeric", "regression", 0) < 0.6

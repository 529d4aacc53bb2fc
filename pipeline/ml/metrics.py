"""Score predictions: the full metric dict for a panel, the one number an objective optimises, thresholds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import metrics as skm

BETA = {"f1": 1.0, "f2": 2.0, "f0.5": 0.5}


@dataclass(frozen=True)
class Metric:
    name: str
    title: str  # as people read it
    greater_is_better: bool
    tasks: tuple[str, ...]  # the tasks it applies to


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("roc_auc", "ROC AUC", True, ("binary", "multiclass")),
        Metric("accuracy", "accuracy", True, ("binary", "multiclass")),
        Metric("balanced_accuracy", "balanced accuracy", True, ("binary", "multiclass")),
        Metric("f1", "F1", True, ("binary",)),
        Metric("f2", "F2", True, ("binary",)),
        Metric("f0.5", "F0.5", True, ("binary",)),
        Metric("f1_macro", "macro F1", True, ("multiclass",)),
        Metric("log_loss", "log loss", False, ("binary", "multiclass")),
        Metric("rmse", "RMSE", False, ("regression",)),
        Metric("mae", "MAE", False, ("regression",)),
        Metric("r2", "R²", True, ("regression",)),
    )
}
DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}
THRESHOLD_METRICS = {"f1", "f2", "f0.5"}
# Metrics that count every class equally: only these are served by class weights. Weighting trades accuracy, ranking
# and calibration for minority recall, and the F-beta metrics get their trade-off from a tuned threshold instead.
CLASS_WEIGHT_METRICS = {"balanced_accuracy", "f1_macro"}


def applies_to(metric: str, task: str) -> bool:
    return metric in METRICS and task in METRICS[metric].tasks


def _ratio(num: np.ndarray | float, den: np.ndarray | float) -> np.ndarray:
    """num / den, 0 where den is 0 (scikit-learn's zero_division=0)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _fbeta(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, beta: float) -> np.ndarray:
    b2 = beta * beta
    return _ratio((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp)


def classification_metrics(
    y: np.ndarray, proba: np.ndarray, classes: np.ndarray, threshold: float | None = None, positive_index: int = 1
) -> dict[str, float]:
    """Accuracy, precision, recall, F1, ROC AUC, log loss... from class probabilities (columns = classes).

    Labels are compared as integer codes (their position in `classes`), so mixed or object labels work.
    The count-based metrics come from one confusion matrix (the same values as scikit-learn's functions
    with zero_division=0, at a fraction of the cost: the trainer scores out-of-fold predictions often).
    """
    k = len(classes)
    yc = pd.Index(list(classes), dtype=object).get_indexer(pd.Index(np.asarray(y), dtype=object))
    yc = np.where(yc < 0, k, yc)  # labels never seen in training: a class of their own
    if threshold is not None and k == 2:
        pc = np.where(proba[:, positive_index] >= threshold, positive_index, 1 - positive_index)
    else:
        pc = np.argmax(proba, axis=1)
    cm = np.bincount(yc * (k + 1) + pc, minlength=(k + 1) ** 2).reshape(k + 1, k + 1)
    tp, true, predicted = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
    present = true > 0
    out: dict[str, float] = {
        "accuracy": tp.sum() / max(len(yc), 1),
        "balanced_accuracy": float(np.mean(tp[present] / true[present])) if present.any() else 0.0,
    }
    proba = np.clip(proba, 1e-15, 1 - 1e-15)
    if k == 2:
        i = positive_index
        y_bin = (yc == i).astype(int)
        tpi, fpi, fni = tp[i], predicted[i] - tp[i], true[i] - tp[i]
        out["precision"] = float(_ratio(tpi, tpi + fpi))
        out["recall"] = float(_ratio(tpi, tpi + fni))
        for name, beta in (("f1", 1.0), ("f2", 2.0), ("f0.5", 0.5)):
            out[name] = float(_fbeta(tpi, fpi, fni, beta))
        p = proba[:, i]
        out["roc_auc"] = skm.roc_auc_score(y_bin, p) if 0 < y_bin.sum() < len(y_bin) else float("nan")
        out["log_loss"] = float(-np.mean(y_bin * np.log(p) + (1 - y_bin) * np.log(1 - p)))
    else:
        tpk, truek, predk = tp[:k], true[:k], predicted[:k]
        out["precision"] = float(_ratio(tpk, predk).mean())
        out["recall"] = float(_ratio(tpk, truek).mean())
        out["f1_macro"] = float(_fbeta(tpk, predk - tpk, truek - tpk, 1.0).mean())
        norm = proba / proba.sum(axis=1, keepdims=True)
        try:
            out["roc_auc"] = (
                skm.roc_auc_score(yc, norm, multi_class="ovr", labels=list(range(k)))
                if present[:k].all() and not present[k]
                else float("nan")
            )
        except ValueError:
            out["roc_auc"] = float("nan")
        out["log_loss"] = skm.log_loss(yc, norm, labels=list(range(k))) if not present[k] else float("nan")
    return {key: float(v) for key, v in out.items()}


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    return {
        "rmse": float(np.sqrt(skm.mean_squared_error(y, pred))),
        "mae": float(skm.mean_absolute_error(y, pred)),
        "r2": float(skm.r2_score(y, pred)),
    }


def best_threshold(y: np.ndarray, p_positive: np.ndarray, positive, metric: str) -> float:
    """The decision threshold that maximises an F-beta metric on out-of-fold probabilities."""
    beta = BETA.get(metric, 1.0)
    y_bin = (y == positive).astype(int)
    precision, recall, thresholds = skm.precision_recall_curve(y_bin, p_positive)
    b2 = beta * beta
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (1 + b2) * precision * recall / (b2 * precision + recall)
    f = np.nan_to_num(f[:-1])
    if len(f) == 0:
        return 0.5
    return float(thresholds[int(np.argmax(f))])


def is_better(a: float | None, b: float | None, greater_is_better: bool, tolerance: float = 0.0) -> bool:
    """Whether score a beats score b by more than `tolerance` (None never beats anything)."""
    if a is None or np.isnan(a):
        return False
    if b is None or np.isnan(b):
        return True
    return a > b + tolerance if greater_is_better else a < b - tolerance

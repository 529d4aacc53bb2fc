"""Score predictions: the full metric dict for a panel, the one number an objective optimises, thresholds."""
from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

BETA = {"f1": 1.0, "f2": 2.0, "f0.5": 0.5}


def classification_metrics(y: np.ndarray, proba: np.ndarray, classes: np.ndarray, threshold: float | None = None,
                           positive_index: int = 1) -> dict[str, float]:
    """Accuracy, precision, recall, F1, ROC AUC, log loss... from class probabilities (columns = classes).

    Labels are compared as integer codes (their position in `classes`), so mixed or object labels work.
    """
    codes = {c: i for i, c in enumerate(list(classes))}
    yc = np.array([codes.get(v, -1) for v in y], dtype=int)
    k = len(classes)
    if threshold is not None and k == 2:
        pc = np.where(proba[:, positive_index] >= threshold, positive_index, 1 - positive_index)
    else:
        pc = np.argmax(proba, axis=1)
    out: dict[str, float] = {
        "accuracy": skm.accuracy_score(yc, pc),
        "balanced_accuracy": skm.balanced_accuracy_score(yc, pc),
    }
    proba = np.clip(proba, 1e-15, 1 - 1e-15)
    if k == 2:
        y_bin = (yc == positive_index).astype(int)
        p = proba[:, positive_index]
        pred_bin = (pc == positive_index).astype(int)
        out["precision"] = skm.precision_score(y_bin, pred_bin, zero_division=0)
        out["recall"] = skm.recall_score(y_bin, pred_bin, zero_division=0)
        out["f1"] = skm.f1_score(y_bin, pred_bin, zero_division=0)
        out["f2"] = skm.fbeta_score(y_bin, pred_bin, beta=2.0, zero_division=0)
        out["f0.5"] = skm.fbeta_score(y_bin, pred_bin, beta=0.5, zero_division=0)
        out["roc_auc"] = skm.roc_auc_score(y_bin, p) if len(np.unique(y_bin)) == 2 else float("nan")
        out["log_loss"] = skm.log_loss(y_bin, p, labels=[0, 1])
    else:
        labels = list(range(k))
        out["precision"] = skm.precision_score(yc, pc, labels=labels, average="macro", zero_division=0)
        out["recall"] = skm.recall_score(yc, pc, labels=labels, average="macro", zero_division=0)
        out["f1_macro"] = skm.f1_score(yc, pc, labels=labels, average="macro", zero_division=0)
        norm = proba / proba.sum(axis=1, keepdims=True)
        try:
            present = np.unique(yc)
            out["roc_auc"] = skm.roc_auc_score(yc, norm, multi_class="ovr", labels=labels) if len(present) == k else float("nan")
        except ValueError:
            out["roc_auc"] = float("nan")
        out["log_loss"] = skm.log_loss(yc, norm, labels=labels)
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

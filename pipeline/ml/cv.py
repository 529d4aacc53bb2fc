"""Cross-validation on the training part: out-of-fold predictions, scores, and a quick comparison model."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold

from pipeline.ml.estimators import OutOfTime, abort_after, boosting_deadline
from pipeline.ml.fitclock import fitting
from pipeline.ml.metrics import classification_metrics, regression_metrics
from pipeline.ml.models import make_pipeline

QUICK_SAMPLE = 30_000
QUICK_MIN_SAMPLE = 5_000


def make_folds(y: pd.Series, task: str, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds for classification (as many as the smallest class allows), plain K-fold otherwise."""
    index = np.arange(len(y))
    if task != "regression":
        smallest = int(y.astype(str).value_counts().min())
        k_eff = max(2, min(k, smallest))
        return list(StratifiedKFold(k_eff, shuffle=True, random_state=seed).split(index, y.astype(str)))
    return list(KFold(k, shuffle=True, random_state=seed).split(index))


def oof_predictions(
    build: Callable[[pd.DataFrame], Any],
    X: pd.DataFrame,
    y: pd.Series,
    folds,
    task: str,
    classes: list[Any] | None,
    on_fold: Callable[[int, np.ndarray, np.ndarray], None] | None = None,
    deadline: float | None = None,
    fit_deadline: float | None = None,
    fold_estimate: float | None = None,
) -> np.ndarray:
    """Out-of-fold predictions (probabilities with one column per class for classification).

    OutOfTime is raised before a fold that would end past `deadline` (time.monotonic) by the folds' mean time so
    far (`fold_estimate` for the first fold, when given), or inside a LightGBM fit once the deadline passes:
    only boosting can be stopped mid-fit, so a linear fold that cannot finish in time is not started.
    `fit_deadline` instead bounds the boosting inside each fold (an equal share of the time left per remaining
    fold; see models.boosting_deadline), for the one CV a run cannot do without.
    """
    n = len(X)
    out = np.zeros((n, len(classes))) if task != "regression" else np.zeros(n)
    began = time.monotonic()
    for i, (tr, va) in enumerate(folds):
        now = time.monotonic()
        expected = (now - began) / i if i else fold_estimate
        if deadline is not None and expected is not None and now + expected > deadline:
            raise OutOfTime(progress=i / len(folds))
        fold_at = None if fit_deadline is None else now + max(0.0, fit_deadline - now) / (len(folds) - i)
        with fitting(), boosting_deadline(fold_at), abort_after(deadline):
            model = build(X.iloc[tr])
            try:
                model.fit(X.iloc[tr], y.iloc[tr])
            except OutOfTime as stopped:  # given up inside the fit: the share of the whole CV done by then
                raise OutOfTime(progress=(i + (stopped.progress or 0.0)) / len(folds)) from None
            if task == "regression":
                out[va] = model.predict(X.iloc[va])
            else:
                proba = model.predict_proba(X.iloc[va])
                cols = [classes.index(c) for c in model.classes_]
                out[np.ix_(va, cols)] = proba
        if on_fold is not None:
            on_fold(i, va, out)
    return out


def metrics_from_oof(
    y: pd.Series,
    oof: np.ndarray,
    task: str,
    classes: list[Any] | None,
    threshold: float | None = None,
    positive_index: int = 1,
    rows: np.ndarray | None = None,
) -> dict[str, float]:
    yy = y.to_numpy() if rows is None else y.to_numpy()[rows]
    pp = oof if rows is None else oof[rows]
    if task == "regression":
        return regression_metrics(yy.astype(float), pp)
    return classification_metrics(yy, pp, np.asarray(classes, dtype=object), threshold, positive_index)


def quick_rows(time_budget_s: float) -> int:
    """Rows the quick CV samples: QUICK_SAMPLE at a two-minute budget or more, fewer for shorter runs
    (at 30 s it would otherwise take a quarter of the run)."""
    return int(min(QUICK_SAMPLE, max(QUICK_MIN_SAMPLE, QUICK_SAMPLE * time_budget_s / 120.0)))


def quick_score(
    X: pd.DataFrame,
    y: pd.Series,
    task: str,
    classes: list[Any] | None,
    seed: int,
    sample: int = QUICK_SAMPLE,
    deadline: float | None = None,
) -> tuple[float, str, float]:
    """A fast, fixed LightGBM CV score used to decide whether a feature set is kept.

    Returns (score, metric, seconds). The metric is threshold-free (ROC AUC, log loss or RMSE) so
    two feature sets are compared on ranking quality, not on a tuned cut-off. Tables longer than
    `sample` rows are scored on a seeded sample (the same rows for every feature set of a run).
    Past `deadline` (time.monotonic), OutOfTime is raised, between folds or inside a fit.
    """
    t0 = time.monotonic()
    if len(X) > sample:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(len(X), sample, replace=False))
        X, y = X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)
    folds = make_folds(y, task, 3, seed)
    params = {"n_estimators": 150, "learning_rate": 0.08, "num_leaves": 31}
    oof = oof_predictions(
        lambda Xt: make_pipeline("lightgbm", task, params, Xt, None, seed),
        X,
        y,
        folds,
        task,
        classes,
        deadline=deadline,
    )
    metrics = metrics_from_oof(y, oof, task, classes)
    metric = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}[task]
    return metrics[metric], metric, time.monotonic() - t0

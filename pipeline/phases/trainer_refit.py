"""Model Trainer, last step: refit the chosen members on the training part and score them in-sample.

Every training row is used when the refit fits the run's time left; otherwise a uniform sample sized to fit.
The holdout is never touched here.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from pipeline.ml.cv import metrics_from_oof
from pipeline.ml.estimators import boosting_deadline, boosting_stops
from pipeline.ml.families import LINEAR_MAX_ROWS
from pipeline.ml.fitclock import fitting
from pipeline.ml.models import fit_pipeline, fit_rows
from pipeline.ml.runtime import BlendedModel
from pipeline.run import delivery
from pipeline.run.context import PhaseContext
from pipeline.state import RunState, TrainResult

TUNED = " (tuned)"  # a blend member's name suffix when its parameters were tuned

REFIT_FLOOR_S = 3.0  # a refit this short always fits (the finish reserve absorbs it), however slow its trial ran
TRAIN_SCORE_ROWS = 50_000  # the in-sample score reads at most this many rows: predicting 1M rows costs minutes

Member = tuple[str, dict[str, Any], str]  # (family, params, display name)


def refit_rows(
    X: pd.DataFrame, y: pd.Series, cost: float, seconds_left: float, min_rows: int, seed: int
) -> tuple[pd.DataFrame, pd.Series]:
    """All training rows if refitting on them (an estimated `cost` seconds) fits the run's time left (or is
    short anyway); otherwise a uniform sample sized to fit, never smaller than the screening sample."""
    n = len(X)
    if cost <= max(seconds_left, REFIT_FLOOR_S):
        return X, y
    keep = min(n, max(min_rows, int(n * max(seconds_left, REFIT_FLOOR_S) / cost)))
    if keep >= n:
        return X, y
    rows = np.sort(np.random.default_rng(seed + 3).choice(n, keep, replace=False))
    return X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)


def refit(
    state: RunState,
    ctx: PhaseContext,
    result: TrainResult,
    members: list[Member],
    weights: list[float],
    Xr: pd.DataFrame,
    yr: pd.Series,
    class_weight: str | None,
) -> Any:
    """Fit every member on `Xr` (boosting cut short if the run's time runs out), record the refit's cost for the
    delivered model's own refit, and return the fitted model (a blend when there are several members)."""
    task, seed, n_all = state.profile.task, state.config.seed, len(ctx.split.X_train) + len(ctx.split.X_holdout)
    fitted = []
    stops = boosting_stops()
    started = time.monotonic()
    refit_by = started + max(REFIT_FLOOR_S, ctx.budget.remaining() - ctx.budget.finish_reserve())
    for family, params, name in members:
        member_started = time.monotonic()
        with fitting(), boosting_deadline(refit_by):
            fitted.append(fit_pipeline(family, task, params, Xr, yr, class_weight, seed))
        per_row = (time.monotonic() - member_started) / max(len(Xr), 1)
        ctx.refits[(name.removesuffix(TUNED), Xr.shape[1])] = per_row
        if boosting_stops() > stops:
            stops = boosting_stops()
            state.notes.append(f"The final {name} stopped adding trees when the time budget ran out.")
        if fit_rows(family, yr, seed, classify=task != "regression") is not None:
            state.notes.append(
                f"{name} was refit on a uniform sample of {LINEAR_MAX_ROWS:,} of the {len(Xr):,} training "
                "rows: a linear model needs no more, and its one-hot matrix for all of them would "
                "not fit in memory."
            )
        ctx.check_cancelled()
    result.refit_seconds, result.refit_rows = round(time.monotonic() - started, 3), len(Xr)
    if state.config.refit_full:  # the delivered model is refit on every row: keep the time it will take
        estimate = delivery.refit_estimate(result.refit_seconds, len(Xr), n_all)
        ctx.budget.final_refit_s = max(ctx.budget.final_refit_s, estimate)  # whichever iteration is delivered
    return fitted[0] if len(fitted) == 1 else BlendedModel(fitted, weights, task)


def in_sample_metrics(
    state: RunState, ctx: PhaseContext, model: Any, Xr: pd.DataFrame, yr: pd.Series, threshold: float | None
) -> dict[str, float]:
    """The refit model's score on (at most TRAIN_SCORE_ROWS of) its own rows: the overfitting gap's other end."""
    split, task, n = ctx.split, state.profile.task, len(Xr)
    rows = np.arange(n)
    if n > TRAIN_SCORE_ROWS:
        rows = np.sort(np.random.default_rng(state.config.seed + 2).choice(n, TRAIN_SCORE_ROWS, replace=False))
    Xi, yi = Xr.iloc[rows], yr.iloc[rows].reset_index(drop=True)
    if task == "regression":
        with fitting():
            in_sample = model.predict(Xi)
        return metrics_from_oof(yi, in_sample, task, None)
    aligned = np.zeros((len(Xi), len(split.classes)))
    with fitting():
        aligned[:, [split.classes.index(c) for c in model.classes_]] = model.predict_proba(Xi)
    return metrics_from_oof(yi, aligned, task, split.classes, threshold, split.positive_index)

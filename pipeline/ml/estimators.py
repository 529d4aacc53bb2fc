"""The estimators the families are built from, where they differ from the libraries': LightGBM that stops early
on a held-out tenth, HistGradientBoosting grown in rounds, and the deadlines a run's clock sets on boosting.

Fitted models are pickled with these classes: their names must stay importable from here (and from
`pipeline.ml.models`, where models saved before this module existed look for them).
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import lightgbm
import numpy as np
from sklearn.base import is_classifier
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge

STOP_FRACTION = 0.1  # as scikit-learn's HistGradientBoosting: a tenth of the fit's rows decides when to stop
STOP_ROUNDS = 30  # boosting rounds without a better validation loss before stopping
STOP_MIN_ROWS = 2_000  # below this a tenth is too few rows to judge by; all n_estimators are fitted
BOOST_MIN_ROUNDS = 10  # a boosting deadline never leaves a model with fewer trees than this


def _stopping_rows(y: Any, seed: int, classify: bool) -> np.ndarray | None:
    """The rows held out for early stopping (a stratified tenth), or None when the rows are too few or a class
    would be left with held-out rows only."""
    from sklearn.model_selection import train_test_split

    labels = np.asarray(y)
    n = len(labels)
    if n < STOP_MIN_ROWS:
        return None
    rows = np.arange(n)
    try:
        fit_rows, val_rows = train_test_split(
            rows, test_size=STOP_FRACTION, random_state=seed, stratify=labels if classify else None
        )
    except ValueError:  # a class with a single row cannot be stratified
        fit_rows, val_rows = train_test_split(rows, test_size=STOP_FRACTION, random_state=seed)
    if classify and len(np.unique(labels[fit_rows])) < len(np.unique(labels)):
        return None
    return np.sort(val_rows)


def take_rows(data: Any, rows: np.ndarray) -> Any:
    """Rows of a frame, a series or an array."""
    return data.iloc[rows] if hasattr(data, "iloc") else np.asarray(data)[rows]


_boosting = threading.local()


class OutOfTime(Exception):
    """Work given up because its deadline (time.monotonic) passed: between CV folds, or inside a LightGBM fit.

    `progress` is the share of the work done by then (None if unknown): what the whole would have cost is
    the time spent divided by it."""

    def __init__(self, progress: float | None = None) -> None:
        super().__init__()
        self.progress = progress


@contextmanager
def boosting_deadline(at: float | None) -> Iterator[None]:
    """Within the block, LightGBM fits in this thread stop adding trees once time.monotonic() passes `at` (after
    BOOST_MIN_ROUNDS): the one model a short run must have, on a table so wide that even a small sample's fit
    would overrun, is then had with fewer trees. Each fit so stopped adds one to `boosting_stops()`."""
    previous = getattr(_boosting, "at", None)
    _boosting.at = at
    try:
        yield
    finally:
        _boosting.at = previous


@contextmanager
def abort_after(at: float | None) -> Iterator[None]:
    """Within the block, a LightGBM fit in this thread raises OutOfTime once time.monotonic() passes `at`: a CV
    whose answer would come too late is given up mid-fit instead of after the fold (one quick-CV fold on a
    2,000-column table took 30 s against a 3 s share)."""
    previous = getattr(_boosting, "abort_at", None)
    _boosting.abort_at = at
    try:
        yield
    finally:
        _boosting.abort_at = previous


def abortable(family: str) -> bool:
    """Whether `abort_after` can stop a fit of this family mid-way (LightGBM's callback); other families' fits
    run to their end once started."""
    return family == "lightgbm"


def boosting_stops() -> int:
    """Fits in this thread that a boosting deadline cut short, so far."""
    return getattr(_boosting, "stops", 0)


def _deadline_callback() -> list[Any]:
    at, abort_at = getattr(_boosting, "at", None), getattr(_boosting, "abort_at", None)
    callbacks = []
    if abort_at is not None:

        def give_up_at_deadline(env: Any) -> None:
            if time.monotonic() > abort_at:
                raise OutOfTime(
                    progress=(env.iteration + 1 - env.begin_iteration) / max(env.end_iteration - env.begin_iteration, 1)
                )

        callbacks.append(give_up_at_deadline)
    if at is not None:

        def stop_at_deadline(env: Any) -> None:
            if env.iteration + 1 >= BOOST_MIN_ROUNDS and time.monotonic() > at:
                _boosting.stops = boosting_stops() + 1
                raise lightgbm.callback.EarlyStopException(env.iteration, env.evaluation_result_list or [])

        callbacks.append(stop_at_deadline)
    return callbacks


class _StopsEarly:
    """LightGBM with `n_estimators` as a ceiling: like HistGradientBoosting's `early_stopping`, a stratified tenth
    of the rows it is fitted on is held out, and boosting stops once their loss has not improved for STOP_ROUNDS
    rounds; `predict` then uses the best round. Tuning trials with many trees cost only what they need.

    The held-out rows stay in the training matrix with weight zero (they add nothing to any gradient or leaf
    value, only to the feature bins' edges) instead of copying the other nine tenths: at a million rows that
    copy alone was a quarter of a gigabyte."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None, **kwargs: Any) -> Any:
        own_eval = "eval_set" in kwargs or "eval_X" in kwargs
        val_rows = None if own_eval else _stopping_rows(y, self.random_state or 0, is_classifier(self))
        callbacks = list(kwargs.pop("callbacks", None) or []) + _deadline_callback()
        if val_rows is None:
            return super().fit(X, y, sample_weight=sample_weight, callbacks=callbacks or None, **kwargs)
        labels = np.asarray(y)
        weights = np.ones(len(labels)) if sample_weight is None else np.array(sample_weight, dtype=float)
        weights[val_rows] = 0.0
        callbacks.append(lightgbm.early_stopping(STOP_ROUNDS, first_metric_only=True, verbose=False))
        with warnings.catch_warnings():
            # LightGBM 4.7 deprecates eval_set for eval_X/eval_y, but its classifier label-encodes only eval_set's
            # labels: string classes in eval_y fail to convert.
            warnings.filterwarnings("ignore", message=".*'eval_set' is deprecated")
            return super().fit(
                X,
                labels,
                sample_weight=weights,
                eval_set=[(take_rows(X, val_rows), labels[val_rows])],
                callbacks=callbacks,
                **kwargs,
            )


class StoppingLGBMClassifier(_StopsEarly, lightgbm.LGBMClassifier):
    """LGBMClassifier with early stopping on a held-out tenth (see _StopsEarly)."""


class StoppingLGBMRegressor(_StopsEarly, lightgbm.LGBMRegressor):
    """LGBMRegressor with early stopping on a held-out tenth (see _StopsEarly)."""


class _BoostsInRounds:
    """HistGradientBoosting that a CV past its deadline can give up mid-fit, as LightGBM's callback allows.

    scikit-learn's fit has no callback, so under `abort_after` the model is grown in rounds (warm start, the same
    early stopping) and given up between them: one CV fold of a 15-class table took 12 s against a deadline
    already passed. Each round re-bins the rows and re-predicts the trees so far (rounds of ten made a 400k-row
    fit 58 % slower), so after the first ROUND_ITERATIONS the rest is fitted in one call when it fits before the
    deadline, and otherwise in rounds that double while the deadline is far. Any other fit is a plain one,
    `boosting_deadline` included: a final refit on a million rows would pay an extra round in time and memory."""

    ROUND_ITERATIONS = 10

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        abort_at = getattr(_boosting, "abort_at", None)
        if abort_at is None:
            return super().fit(X, y, sample_weight=sample_weight)
        ceiling, warm = self.max_iter, self.warm_start
        step, done = self.ROUND_ITERATIONS, 0
        try:
            while done < ceiling:
                upto = min(done + step, ceiling)
                began = time.monotonic()
                self.set_params(max_iter=upto, warm_start=True)
                super().fit(X, y, sample_weight=sample_weight)
                if self.n_iter_ < upto:  # early stopping ended it
                    break
                now = time.monotonic()
                if now > abort_at and self.n_iter_ < ceiling:
                    raise OutOfTime(progress=self.n_iter_ / ceiling)
                per_iteration = (now - began) / max(self.n_iter_ - done, 1)
                done = self.n_iter_
                if (ceiling - done) * per_iteration < 0.8 * (abort_at - now):  # the rest fits: one more call
                    step = ceiling - done
                else:
                    step = max(self.ROUND_ITERATIONS, min(2 * step, int((abort_at - now) / max(per_iteration, 1e-6))))
        finally:
            self.set_params(max_iter=ceiling, warm_start=warm)
        return self


class RoundsHGBClassifier(_BoostsInRounds, HistGradientBoostingClassifier):
    """HistGradientBoostingClassifier that honours boosting deadlines (see _BoostsInRounds)."""


class RoundsHGBRegressor(_BoostsInRounds, HistGradientBoostingRegressor):
    """HistGradientBoostingRegressor that honours boosting deadlines (see _BoostsInRounds)."""


class SplineLogisticRegression(LogisticRegression):
    """Logistic regression on spline bases: its own class so that a fitted model's family is read off it."""


class SplineRidge(Ridge):
    """Ridge regression on spline bases: its own class so that a fitted model's family is read off it."""

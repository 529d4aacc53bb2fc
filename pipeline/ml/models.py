"""Model families as scikit-learn pipelines that take the engineered feature frame as it is.

Each candidate is a preparation step then the estimator (`TreeMatrix -> trees`, or `TablePrep ->
ColumnTransformer -> linear model`), fitted per CV fold so that imputation, scaling and encoding never
see validation rows.
"""
from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pipeline.ml.families import FAMILIES
from pipeline.ml.runtime import TablePrep, TreeMatrix

N_JOBS = 2
SMALL_ROWS = 20_000
STOP_FRACTION = 0.1     # as scikit-learn's HistGradientBoosting: a tenth of the fit's rows decides when to stop
STOP_ROUNDS = 30        # boosting rounds without a better validation loss before stopping
STOP_MIN_ROWS = 2_000   # below this a tenth is too few rows to judge by; all n_estimators are fitted
BOOST_MIN_ROUNDS = 10  # a boosting deadline never leaves a model with fewer trees than this
LINEAR_MAX_ROWS = 100_000   # a linear model's few hundred coefficients are settled long before this, and its
                            # dense one-hot matrix for 800,000 rows would take ~1.9 GB


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
        fit_rows, val_rows = train_test_split(rows, test_size=STOP_FRACTION, random_state=seed,
                                              stratify=labels if classify else None)
    except ValueError:  # a class with a single row cannot be stratified
        fit_rows, val_rows = train_test_split(rows, test_size=STOP_FRACTION, random_state=seed)
    if classify and len(np.unique(labels[fit_rows])) < len(np.unique(labels)):
        return None
    return np.sort(val_rows)


def _take(data: Any, rows: np.ndarray) -> Any:
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


def boosting_stops() -> int:
    """Fits in this thread that a boosting deadline cut short, so far."""
    return getattr(_boosting, "stops", 0)


def _deadline_callback() -> list[Any]:
    at, abort_at = getattr(_boosting, "at", None), getattr(_boosting, "abort_at", None)
    callbacks = []
    if abort_at is not None:
        def give_up_at_deadline(env: Any) -> None:
            if time.monotonic() > abort_at:
                raise OutOfTime(progress=(env.iteration + 1 - env.begin_iteration)
                                / max(env.end_iteration - env.begin_iteration, 1))

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
            return super().fit(X, labels, sample_weight=weights, eval_set=[(_take(X, val_rows), labels[val_rows])],
                               callbacks=callbacks, **kwargs)


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
                if self.n_iter_ < upto:   # early stopping ended it
                    break
                now = time.monotonic()
                if now > abort_at and self.n_iter_ < ceiling:
                    raise OutOfTime(progress=self.n_iter_ / ceiling)
                per_iteration = (now - began) / max(self.n_iter_ - done, 1)
                done = self.n_iter_
                if (ceiling - done) * per_iteration < 0.8 * (abort_at - now):   # the rest fits: one more call
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


def _linear_columns(prep: TablePrep, X: pd.DataFrame) -> ColumnTransformer:
    """Median-imputed, scaled numbers with missing-value flags, and one-hot categories (at most 30 per column)."""
    prep.fit(X)
    num = Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                    ("scale", StandardScaler())])
    cat = Pipeline([("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
                    ("onehot", OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=30,
                                             min_frequency=5, sparse_output=False))])
    return ColumnTransformer([("num", num, prep.numeric_ + prep.datetime_), ("cat", cat, prep.categorical_)],
                             remainder="drop", verbose_feature_names_out=False)


def make_estimator(family: str, task: str, params: dict[str, Any], class_weight: str | None, seed: int) -> Any:
    """The bare estimator for a family, with the given hyperparameters on top of sensible defaults."""
    classify = task != "regression"
    p = dict(params)
    if family == "lightgbm":
        base = {"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20,
                "subsample": 1.0, "subsample_freq": 1, "colsample_bytree": 0.9, "reg_lambda": 0.0,
                "random_state": seed, "n_jobs": N_JOBS, "verbose": -1,
                "importance_type": "gain"}   # split counts rank noise columns high; gain is what users expect
        base.update(p)
        if classify:
            return StoppingLGBMClassifier(class_weight=class_weight, **base)
        return StoppingLGBMRegressor(**base)
    if family == "linear":
        if classify:
            base = {"C": 1.0, "max_iter": 2000}
            base.update(p)
            return LogisticRegression(class_weight=class_weight, **base)
        base = {"alpha": 1.0}
        base.update(p)
        return Ridge(**base)
    if family == "hist_gb":
        base = {"max_iter": 300, "learning_rate": 0.08, "early_stopping": True, "random_state": seed}
        base.update(p)
        if classify:
            return RoundsHGBClassifier(class_weight=class_weight, **base)
        return RoundsHGBRegressor(**base)
    if family in FAMILIES and FAMILIES[family].forest:
        base = {"n_estimators": 300, "min_samples_leaf": 1, "max_features": "sqrt" if classify else 0.5,
                "n_jobs": N_JOBS, "random_state": seed}
        base.update(p)
        if family == "random_forest":
            return (RandomForestClassifier(class_weight=class_weight, **base) if classify
                    else RandomForestRegressor(**base))
        return (ExtraTreesClassifier(class_weight=class_weight, **base) if classify
                else ExtraTreesRegressor(**base))
    raise ValueError(f"unknown model family {family!r}")


def single_threaded(family: str, rows: int) -> bool:
    """Whether a fit of this family on this many rows keeps to one core (see make_pipeline): two such fits can
    then run side by side. HistGradientBoosting always uses every core through OpenMP."""
    return family in ("lightgbm", "random_forest", "extra_trees", "linear") and rows < SMALL_ROWS


def make_pipeline(family: str, task: str, params: dict[str, Any], X: pd.DataFrame, class_weight: str | None,
                  seed: int) -> Pipeline:
    """`prep -> model` for the tree families (TreeMatrix), `prep -> columns -> model` for the linear one."""
    estimator = make_estimator(family, task, params, class_weight, seed)
    if single_threaded(family, len(X)) and family != "linear":
        estimator.set_params(n_jobs=1)  # threads cost more than they save on small tables
    if family == "linear":
        prep = TablePrep()
        return Pipeline([("prep", prep), ("columns", _linear_columns(prep, X)), ("model", estimator)])
    matrix = TreeMatrix(dtype=np.float64 if family == "hist_gb" else np.float32,
                        impute_median=FAMILIES[family].forest)
    return Pipeline([("prep", matrix), ("model", estimator)])


_FAMILY_CLASSES: tuple[tuple[tuple[type, ...], str], ...] = (
    ((lightgbm.LGBMModel,), "lightgbm"),
    ((LogisticRegression, Ridge), "linear"),
    ((HistGradientBoostingClassifier, HistGradientBoostingRegressor), "hist_gb"),
    ((RandomForestClassifier, RandomForestRegressor), "random_forest"),
    ((ExtraTreesClassifier, ExtraTreesRegressor), "extra_trees"),
)


def family_of(estimator: Any) -> str:
    """The family a fitted estimator was made for by `make_estimator` ("" for anything else)."""
    return next((family for classes, family in _FAMILY_CLASSES if isinstance(estimator, classes)), "")


BAG_SEED_STEP = 7919


def bag_params(family: str, params: dict[str, Any], bag: int) -> dict[str, Any] | None:
    """The parameters of the `bag`-th copy of a member in a seed bag (bag 0 is the member itself), or None for a
    family not bagged (a linear model: another copy would be the same model; forests: see `Family.forest`).

    A new seed draws another early-stopping tenth, other feature fractions and other random splits, so the copies
    differ as the models of AutoGluon's bags do, and their average has less variance than any one of them."""
    if bag == 0:
        return dict(params)
    if family not in FAMILIES or not FAMILIES[family].bagged:
        return None
    return {**params, "random_state": int(params.get("random_state") or 0) + BAG_SEED_STEP * bag}


def fit_rows(family: str, y: Any, seed: int, classify: bool) -> np.ndarray | None:
    """The rows a final fit uses: all (None), except for a linear model on more than LINEAR_MAX_ROWS rows, which
    gets a uniform sample of that size plus one row of any class the sample missed."""
    labels = np.asarray(y)
    if family != "linear" or len(labels) <= LINEAR_MAX_ROWS:
        return None
    rows = np.random.default_rng(seed).choice(len(labels), LINEAR_MAX_ROWS, replace=False)
    if classify:   # every class keeps at least one row
        missing = set(pd.unique(labels)) - set(pd.unique(labels[rows]))
        rows = np.concatenate([rows, [int(np.flatnonzero(labels == c)[0]) for c in missing]]).astype(int)
    return np.sort(rows)


def fit_pipeline(family: str, task: str, params: dict[str, Any], X: pd.DataFrame, y: Any, class_weight: str | None,
                 seed: int) -> Pipeline:
    """`make_pipeline(...).fit(X, y)` on the rows `fit_rows` picks."""
    rows = fit_rows(family, y, seed, classify=task != "regression")
    if rows is not None:
        X, y = X.iloc[rows].reset_index(drop=True), _take(y, rows)
    return make_pipeline(family, task, params, X, class_weight, seed).fit(X, y)


def feature_importance(pipe: Pipeline, top: int = 30) -> list[dict[str, Any]]:
    """Importances (trees) or absolute coefficients (linear), by output feature name."""
    model = pipe.named_steps["model"]
    try:
        names = list(pipe[:-1].get_feature_names_out())
    except Exception:
        names = []
    values = None
    if hasattr(model, "feature_importances_"):
        values = np.asarray(model.feature_importances_, dtype=float)
    elif hasattr(model, "coef_"):
        coef = np.asarray(model.coef_, dtype=float)
        values = np.abs(coef).mean(axis=0) if coef.ndim > 1 else np.abs(coef)
    if values is None or len(values) != len(names):
        return []
    total = values.sum() or 1.0
    order = np.argsort(values)[::-1][:top]
    return [{"feature": str(names[i]), "importance": float(values[i] / total)} for i in order]


def model_members(model: Any) -> list[dict[str, Any]]:
    """Family, hyperparameters, class weight and blend weight of each fitted member pipeline."""
    pipe = model.pipeline
    members = list(getattr(pipe, "members", [pipe]))
    weights = list(getattr(pipe, "weights", [1.0]))
    out = []
    for member, weight in zip(members, weights):
        est = member.named_steps["model"]
        params = {k: v for k, v in est.get_params(deep=False).items() if _jsonable(v)}
        class_weight = params.pop("class_weight", None)
        out.append({"family": family_of(est), "estimator": type(est).__name__,
                    "params": params, "class_weight": class_weight if isinstance(class_weight, (str, type(None))) else None,
                    "weight": float(weight)})
    return out


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False

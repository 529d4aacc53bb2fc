"""Model families (built by `pipeline.ml.families`) as scikit-learn pipelines that take the engineered feature
frame as it is.

Each candidate is a preparation step then the estimator (`TreeMatrix -> trees`, or `TablePrep ->
ColumnTransformer -> linear model`), fitted per CV fold so that imputation, scaling and encoding never
see validation rows.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler

# saved models name the estimator classes here, their home before pipeline.ml.estimators
from pipeline.ml.estimators import (  # noqa: F401
    RoundsHGBClassifier,
    RoundsHGBRegressor,
    StoppingLGBMClassifier,
    StoppingLGBMRegressor,
    take_rows,
)
from pipeline.ml.families import FAMILIES
from pipeline.ml.runtime import TablePrep, TreeMatrix

SMALL_ROWS = 20_000
LINEAR_MATRICES = ("one-hot", "splines")  # prepared as scaled columns for a linear model
SPLINE_MIN_VALUES = 3  # a flag keeps one coefficient; a rating of 1-5 gets a curve
SPLINE_MAX_COLUMNS = 30  # the first this many many-valued numbers get a curve: 7 columns each
SPLINE_KNOTS = 5


def _numbers() -> Pipeline:
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ("scale", StandardScaler()),
        ]
    )


def _curves() -> Pipeline:
    """A cubic B-spline basis on each number's quantiles, continued as a straight line beyond the training range
    (as a linear model would), then scaled for the penalty."""
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ("spline", SplineTransformer(n_knots=SPLINE_KNOTS, degree=3, knots="quantile", extrapolation="linear")),
            ("scale", StandardScaler()),
        ]
    )


def _linear_columns(prep: TablePrep, X: pd.DataFrame, splines: bool = False) -> ColumnTransformer:
    """Median-imputed, scaled numbers with missing-value flags, and one-hot categories (at most 30 per column);
    with `splines`, numbers with SPLINE_MIN_VALUES or more values become spline bases (a curve per column)."""
    prep.fit(X)
    numbers = prep.numeric_ + prep.datetime_
    curved: list[str] = []
    if splines:
        many = [c for c in numbers if X[c].nunique() >= SPLINE_MIN_VALUES]
        curved = many[:SPLINE_MAX_COLUMNS]
    straight = [c for c in numbers if c not in curved]
    parts = [("num", _numbers(), straight)] + ([("curve", _curves(), curved)] if curved else [])
    cat = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
            (
                "onehot",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist", max_categories=30, min_frequency=5, sparse_output=False
                ),
            ),
        ]
    )
    return ColumnTransformer(
        [*parts, ("cat", cat, prep.categorical_)],
        remainder="drop",
        verbose_feature_names_out=False,
    )


def make_estimator(family: str, task: str, params: dict[str, Any], class_weight: str | None, seed: int) -> Any:
    """The bare estimator for a family, with the given hyperparameters on top of the family's defaults."""
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}")
    return FAMILIES[family].build(task, dict(params), class_weight, seed)


def single_threaded(family: str, rows: int) -> bool:
    """Whether a fit of this family on this many rows keeps to one core (see make_pipeline): two such fits can
    then run side by side."""
    known = FAMILIES.get(family)
    return known is not None and known.one_core and rows < SMALL_ROWS


def make_pipeline(
    family: str, task: str, params: dict[str, Any], X: pd.DataFrame, class_weight: str | None, seed: int
) -> Pipeline:
    """`prep -> model` for the tree families (TreeMatrix), `prep -> columns -> model` for the linear one."""
    estimator = make_estimator(family, task, params, class_weight, seed)
    matrix = FAMILIES[family].matrix
    if single_threaded(family, len(X)) and matrix not in LINEAR_MATRICES:
        estimator.set_params(n_jobs=1)  # threads cost more than they save on small tables
    if matrix in LINEAR_MATRICES:
        prep = TablePrep()
        columns = _linear_columns(prep, X, splines=matrix == "splines")
        return Pipeline([("prep", prep), ("columns", columns), ("model", estimator)])
    prep = TreeMatrix(dtype=np.dtype(matrix), impute_median=FAMILIES[family].forest)
    return Pipeline([("prep", prep), ("model", estimator)])


def family_of(estimator: Any) -> str:
    """The family a fitted estimator was made for by `make_estimator` ("" for anything else): the one naming its
    exact class first (a spline model is also a linear one), then any it is an instance of."""
    exact = next((f.name for f in FAMILIES.values() if type(estimator) in f.classes), "")
    return exact or next((f.name for f in FAMILIES.values() if isinstance(estimator, f.classes)), "")


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
    """The rows a final fit uses: all (None), except for a family with a `fit_row_cap` (the linear model) on more
    rows than that, which gets a uniform sample of that size plus one row of any class the sample missed."""
    labels = np.asarray(y)
    cap = FAMILIES[family].fit_row_cap if family in FAMILIES else None
    if cap is None or len(labels) <= cap:
        return None
    rows = np.random.default_rng(seed).choice(len(labels), cap, replace=False)
    if classify:  # every class keeps at least one row
        missing = set(pd.unique(labels)) - set(pd.unique(labels[rows]))
        rows = np.concatenate([rows, [int(np.flatnonzero(labels == c)[0]) for c in missing]]).astype(int)
    return np.sort(rows)


def fit_pipeline(
    family: str, task: str, params: dict[str, Any], X: pd.DataFrame, y: Any, class_weight: str | None, seed: int
) -> Pipeline:
    """`make_pipeline(...).fit(X, y)` on the rows `fit_rows` picks."""
    rows = fit_rows(family, y, seed, classify=task != "regression")
    if rows is not None:
        X, y = X.iloc[rows].reset_index(drop=True), take_rows(y, rows)
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
        out.append(
            {
                "family": family_of(est),
                "estimator": type(est).__name__,
                "params": params,
                "class_weight": class_weight if isinstance(class_weight, (str, type(None))) else None,
                "weight": float(weight),
            }
        )
    return out


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False

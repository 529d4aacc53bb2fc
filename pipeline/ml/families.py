"""The model families, one entry each: the name the code uses, the title people see, the words they use for it,
its screening cost relative to LightGBM, whether seed copies of it average well, how its estimator is built and
which matrix it reads, its starting hyperparameters and its search space (as FLAML does: each estimator owns its
search space and relative cost).

`pipeline.ml.models` wraps the estimators built here into pipelines; the trainer, the offline brain, the prompts,
gate feedback, the UI and the export read the facts here. The export bundle ships this file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lightgbm
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge

from pipeline.ml.estimators import (
    RoundsHGBClassifier,
    RoundsHGBRegressor,
    SplineLogisticRegression,
    SplineRidge,
    StoppingLGBMClassifier,
    StoppingLGBMRegressor,
)

Space = dict[str, list[Any]]  # {"param": ["int", lo, hi] | ["float", lo, hi, "log" | "linear"]}
Build = Callable[[str, dict[str, Any], "str | None", int], Any]  # (task, params, class_weight, seed) -> estimator
N_JOBS = 2
LINEAR_MAX_ROWS = 100_000  # a linear model's few hundred coefficients are settled long before this, and its
# dense one-hot matrix for 800,000 rows would take ~1.9 GB


@dataclass(frozen=True)
class Family:
    name: str
    title: str  # as shown in plans, leaderboards and reports
    words: tuple[str, ...]  # how people name it in feedback ("do not use lightgbm")
    relative_cost: float  # screening seconds per row, LightGBM = 1
    bagged: bool  # the delivered model may be several seed copies averaged
    forest: bool  # a bagged forest already: a median-imputed matrix, and no seed bag (twelve
    # copies of a 300-tree forest are one 3,600-tree forest, hardly better and a
    # gigabyte on disk for 20,000 rows)
    start: Callable[[str, int, int], dict[str, Any]]  # (task, strength, regularisation level) -> first params
    space: Callable[[str, int], Space]  # (task, strength) -> Optuna search space
    build: Build  # the estimator: these params on top of the family's defaults
    classes: tuple[type, ...]  # the library classes `build` makes: a fitted model's family is read off them
    matrix: str  # what it reads: "one-hot" (scaled numbers, one-hot categories), "splines" (the same with
    # spline bases of the numbers with 3 or more values: a smooth curve per column, as a GAM) or a tree
    # matrix of "float32" / "float64" (HistGradientBoosting would copy float32)
    one_core: bool  # fits on small tables keep to one core (HistGradientBoosting uses all, OpenMP)
    max_rows: int | None = None  # the offline plan leaves it out above this many rows
    fit_row_cap: int | None = None  # a final fit on more rows uses a uniform sample of this size


def _lightgbm_start(task: str, strength: int, reg: int) -> dict[str, Any]:
    return {
        "num_leaves": max(7, 31 // strength),
        "min_child_samples": 20 * strength,
        "reg_lambda": 0.0 if not reg else float(strength),
    }


def _lightgbm_space(task: str, strength: int) -> Space:
    return {
        "n_estimators": ["int", 100, 1200],
        "learning_rate": ["float", 0.01, 0.2, "log"],
        "num_leaves": ["int", 7, max(8, 127 // strength)],
        "min_child_samples": ["int", 5 * strength, 100 * strength],
        "colsample_bytree": ["float", 0.4, 1.0, "linear"],
        "subsample": ["float", 0.5, 1.0, "linear"],
        "reg_lambda": ["float", 1e-3 * strength, 10.0 * strength, "log"],
    }


def _linear_start(task: str, strength: int, reg: int) -> dict[str, Any]:
    return {"C": 1.0 / strength} if task != "regression" else {"alpha": 1.0 * strength}


def _linear_space(task: str, strength: int) -> Space:
    return {"C": ["float", 1e-3, 10.0, "log"]} if task != "regression" else {"alpha": ["float", 1e-3, 100.0, "log"]}


def _hist_gb_start(task: str, strength: int, reg: int) -> dict[str, Any]:
    return {"l2_regularization": float(reg), "min_samples_leaf": 20 * strength}


def _hist_gb_space(task: str, strength: int) -> Space:
    return {
        "learning_rate": ["float", 0.02, 0.3, "log"],
        "max_leaf_nodes": ["int", 8, 64],
        "min_samples_leaf": ["int", 5, 100],
        "l2_regularization": ["float", 1e-4, 10.0, "log"],
    }


def _forest_start(task: str, strength: int, reg: int) -> dict[str, Any]:
    return {"min_samples_leaf": 1 + reg * 2}


def _forest_space(task: str, strength: int) -> Space:
    return {"min_samples_leaf": ["int", 1, 20], "max_features": ["float", 0.2, 1.0, "linear"]}


def _lightgbm(task: str, params: dict[str, Any], class_weight: str | None, seed: int) -> Any:
    base = {
        "n_estimators": 300,
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_child_samples": 20,
        "subsample": 1.0,
        "subsample_freq": 1,
        "colsample_bytree": 0.9,
        "reg_lambda": 0.0,
        "random_state": seed,
        "n_jobs": N_JOBS,
        "verbose": -1,
        "importance_type": "gain",
    }  # split counts rank noise columns high; gain is what users expect
    base.update(params)
    if task != "regression":
        return StoppingLGBMClassifier(class_weight=class_weight, **base)
    return StoppingLGBMRegressor(**base)


def _linear(task: str, params: dict[str, Any], class_weight: str | None, seed: int) -> Any:
    if task != "regression":
        return LogisticRegression(class_weight=class_weight, **{"C": 1.0, "max_iter": 2000, **params})
    return Ridge(**{"alpha": 1.0, **params})


def _spline(task: str, params: dict[str, Any], class_weight: str | None, seed: int) -> Any:
    if task != "regression":
        return SplineLogisticRegression(class_weight=class_weight, **{"C": 1.0, "max_iter": 2000, **params})
    return SplineRidge(**{"alpha": 1.0, **params})


def _hist_gb(task: str, params: dict[str, Any], class_weight: str | None, seed: int) -> Any:
    base = {"max_iter": 300, "learning_rate": 0.08, "early_stopping": True, "random_state": seed, **params}
    if task != "regression":
        return RoundsHGBClassifier(class_weight=class_weight, **base)
    return RoundsHGBRegressor(**base)


def _forest_base(task: str, params: dict[str, Any], seed: int) -> dict[str, Any]:
    max_features = "sqrt" if task != "regression" else 0.5
    return {
        "n_estimators": 300,
        "min_samples_leaf": 1,
        "max_features": max_features,
        "n_jobs": N_JOBS,
        "random_state": seed,
        **params,
    }


def _random_forest(task: str, params: dict[str, Any], class_weight: str | None, seed: int) -> Any:
    if task != "regression":
        return RandomForestClassifier(class_weight=class_weight, **_forest_base(task, params, seed))
    return RandomForestRegressor(**_forest_base(task, params, seed))


def _extra_trees(task: str, params: dict[str, Any], class_weight: str | None, seed: int) -> Any:
    if task != "regression":
        return ExtraTreesClassifier(class_weight=class_weight, **_forest_base(task, params, seed))
    return ExtraTreesRegressor(**_forest_base(task, params, seed))


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "lightgbm",
            "LightGBM",
            ("lightgbm", "lgbm", "light gbm"),
            1.0,
            True,
            False,
            _lightgbm_start,
            _lightgbm_space,
            _lightgbm,
            (lightgbm.LGBMModel,),
            "float32",
            True,
        ),
        Family(
            "linear",
            "Linear (scaled, one-hot)",
            ("linear", "logistic", "ridge"),
            1.7,
            False,
            False,
            _linear_start,
            _linear_space,
            _linear,
            (LogisticRegression, Ridge),
            "one-hot",
            True,
            fit_row_cap=LINEAR_MAX_ROWS,
        ),
        Family(
            "spline",
            "Linear on splines (GAM-like)",
            ("spline", "splines", "gam", "additive"),
            3.0,
            False,
            False,
            _linear_start,
            _linear_space,
            _spline,
            (SplineLogisticRegression, SplineRidge),
            "splines",
            True,
            max_rows=200_000,
            fit_row_cap=LINEAR_MAX_ROWS,
        ),
        Family(
            "hist_gb",
            "HistGradientBoosting",
            ("hist_gb", "histgradientboosting", "hist gradient boosting", "histogram"),
            1.4,
            True,
            False,
            _hist_gb_start,
            _hist_gb_space,
            _hist_gb,
            (HistGradientBoostingClassifier, HistGradientBoostingRegressor),
            "float64",
            False,
        ),
        Family(
            "random_forest",
            "Random Forest",
            ("random forest", "random_forest"),
            2.0,
            False,
            True,
            _forest_start,
            _forest_space,
            _random_forest,
            (RandomForestClassifier, RandomForestRegressor),
            "float32",
            True,
        ),
        Family(
            "extra_trees",
            "Extra Trees (bagging)",
            ("extra trees", "extra_trees", "extratrees", "bagging"),
            1.5,
            False,
            True,
            _forest_start,
            _forest_space,
            _extra_trees,
            (ExtraTreesClassifier, ExtraTreesRegressor),
            "float32",
            True,
            max_rows=200_000,
        ),
    )
}
NAMES: tuple[str, ...] = tuple(FAMILIES)
OFFLINE_PLAN: tuple[str, ...] = (
    "lightgbm",
    "linear",
    "spline",
    "hist_gb",
    "extra_trees",
)  # what the offline brain screens
REQUIRED: tuple[str, ...] = ("lightgbm", "linear", "spline", "hist_gb")  # a brain's plan is completed with these
GROUPS: dict[str, tuple[str, ...]] = {  # words for several families at once ("no trees")
    "boosting": ("lightgbm", "hist_gb"),
    "trees": ("lightgbm", "hist_gb", "random_forest", "extra_trees"),
    "tree": ("lightgbm", "hist_gb", "random_forest", "extra_trees"),
}


def relative_cost(name: str) -> float:
    family = FAMILIES.get(name)
    return family.relative_cost if family else 1.0

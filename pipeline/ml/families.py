"""The model families, one entry each: the name the code uses, the title people see, the words they use for it,
its screening cost relative to LightGBM, whether seed copies of it average well, its starting hyperparameters
and its search space (as FLAML does: each estimator owns its search space and relative cost).

`pipeline.ml.models` builds the estimators and pipelines from these names; the trainer, the offline brain, the
prompts, gate feedback and the export read the facts here. Plain data: the export bundle ships this file.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Space = dict[str, list[Any]]   # {"param": ["int", lo, hi] | ["float", lo, hi, "log" | "linear"]}


@dataclass(frozen=True)
class Family:
    name: str
    title: str                       # as shown in plans, leaderboards and reports
    words: tuple[str, ...]           # how people name it in feedback ("do not use lightgbm")
    relative_cost: float             # screening seconds per row, LightGBM = 1
    bagged: bool                     # the delivered model may be several seed copies averaged
    forest: bool                     # a bagged forest already: a median-imputed matrix, and no seed bag (twelve
                                     # copies of a 300-tree forest are one 3,600-tree forest, hardly better and a
                                     # gigabyte on disk for 20,000 rows)
    start: Callable[[str, int, int], dict[str, Any]]   # (task, strength, regularisation level) -> first params
    space: Callable[[str, int], Space]                 # (task, strength) -> Optuna search space
    max_rows: int | None = None      # the offline plan leaves it out above this many rows


def _lightgbm_start(task: str, strength: int, reg: int) -> dict[str, Any]:
    return {"num_leaves": max(7, 31 // strength), "min_child_samples": 20 * strength,
            "reg_lambda": 0.0 if not reg else float(strength)}


def _lightgbm_space(task: str, strength: int) -> Space:
    return {"n_estimators": ["int", 100, 1200], "learning_rate": ["float", 0.01, 0.2, "log"],
            "num_leaves": ["int", 7, max(8, 127 // strength)],
            "min_child_samples": ["int", 5 * strength, 100 * strength],
            "colsample_bytree": ["float", 0.4, 1.0, "linear"], "subsample": ["float", 0.5, 1.0, "linear"],
            "reg_lambda": ["float", 1e-3 * strength, 10.0 * strength, "log"]}


def _linear_start(task: str, strength: int, reg: int) -> dict[str, Any]:
    return {"C": 1.0 / strength} if task != "regression" else {"alpha": 1.0 * strength}


def _linear_space(task: str, strength: int) -> Space:
    return {"C": ["float", 1e-3, 10.0, "log"]} if task != "regression" else {"alpha": ["float", 1e-3, 100.0, "log"]}


def _hist_gb_start(task: str, strength: int, reg: int) -> dict[str, Any]:
    return {"l2_regularization": float(reg), "min_samples_leaf": 20 * strength}


def _hist_gb_space(task: str, strength: int) -> Space:
    return {"learning_rate": ["float", 0.02, 0.3, "log"], "max_leaf_nodes": ["int", 8, 64],
            "min_samples_leaf": ["int", 5, 100], "l2_regularization": ["float", 1e-4, 10.0, "log"]}


def _forest_start(task: str, strength: int, reg: int) -> dict[str, Any]:
    return {"min_samples_leaf": 1 + reg * 2}


def _forest_space(task: str, strength: int) -> Space:
    return {"min_samples_leaf": ["int", 1, 20], "max_features": ["float", 0.2, 1.0, "linear"]}


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("lightgbm", "LightGBM", ("lightgbm", "lgbm", "light gbm"), 1.0, True, False,
           _lightgbm_start, _lightgbm_space),
    Family("linear", "Linear (scaled, one-hot)", ("linear", "logistic", "ridge"), 1.7, False, False,
           _linear_start, _linear_space),
    Family("hist_gb", "HistGradientBoosting", ("hist_gb", "histgradientboosting", "hist gradient boosting", "histogram"),
           1.4, True, False, _hist_gb_start, _hist_gb_space),
    Family("random_forest", "Random Forest", ("random forest", "random_forest"), 2.0, False, True,
           _forest_start, _forest_space),
    Family("extra_trees", "Extra Trees (bagging)", ("extra trees", "extra_trees", "extratrees", "bagging"), 1.5,
           False, True, _forest_start, _forest_space, max_rows=200_000),
)}
NAMES: tuple[str, ...] = tuple(FAMILIES)
OFFLINE_PLAN: tuple[str, ...] = ("lightgbm", "linear", "hist_gb", "extra_trees")   # what the offline brain screens
REQUIRED: tuple[str, ...] = ("lightgbm", "linear", "hist_gb")   # a brain's plan is completed with these
GROUPS: dict[str, tuple[str, ...]] = {   # words for several families at once ("no trees")
    "boosting": ("lightgbm", "hist_gb"),
    "trees": ("lightgbm", "hist_gb", "random_forest", "extra_trees"),
    "tree": ("lightgbm", "hist_gb", "random_forest", "extra_trees"),
}


def relative_cost(name: str) -> float:
    family = FAMILIES.get(name)
    return family.relative_cost if family else 1.0

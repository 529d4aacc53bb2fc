"""Run one comparator on the quality benchmark's split, inside the comparators' venv (.bench-venv).

usage: _baselines.py TOOL TRAIN.csv TEST_X.csv TARGET TASK BUDGET SEED WORKDIR OUT.csv

Writes OUT.csv in the format of `python -m pipeline predict` (`prediction`, plus `proba_<class>` for
classifiers) so that quality.py reads every tool's output one way, and OUT.meta.json with the tool's version.
Each tool runs as a user would run it: library defaults, the benchmark's metric, the same time budget.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

AG_METRIC = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "root_mean_squared_error"}
FLAML_METRIC = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}


def lightgbm(X: pd.DataFrame, y: pd.Series, Xt: pd.DataFrame, task: str, seed: int):
    """LightGBM with library defaults; text columns become pandas categories (its native categorical handling)."""
    import lightgbm as lgb

    for column in X.columns[X.dtypes == object]:  # noqa: E721  (element-wise, on a Series)
        categories = pd.Categorical(X[column]).categories
        X[column] = pd.Categorical(X[column], categories=categories)
        Xt[column] = pd.Categorical(Xt[column], categories=categories)
    model = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    return model(verbose=-1, random_state=seed).fit(X, y), Xt, lgb.__version__


def flaml(X: pd.DataFrame, y: pd.Series, Xt: pd.DataFrame, task: str, budget: float, seed: int):
    import flaml as fl

    model = fl.AutoML()
    model.fit(
        X,
        y,
        task="regression" if task == "regression" else "classification",
        time_budget=budget,
        metric=FLAML_METRIC[task],
        verbose=0,
        seed=seed,
    )
    return model, Xt, fl.__version__


def autogluon(train: pd.DataFrame, Xt: pd.DataFrame, target: str, task: str, budget: float, work: Path):
    """AutoGluon's medium_quality preset with its default model set, less the two that need torch."""
    from autogluon.tabular import TabularPredictor, __version__

    model = TabularPredictor(
        label=target, eval_metric=AG_METRIC[task], problem_type=task, verbosity=0, path=str(work / "autogluon")
    )
    model.fit(train, time_limit=budget, presets="medium_quality", excluded_model_types=["NN_TORCH", "FASTAI"])
    return model, Xt, __version__


def prediction_frame(model, Xt: pd.DataFrame, task: str) -> pd.DataFrame:
    frame = pd.DataFrame({"prediction": np.asarray(model.predict(Xt))})
    if task != "regression":
        proba = model.predict_proba(Xt)
        classes = proba.columns if isinstance(proba, pd.DataFrame) else model.classes_
        for i, label in enumerate(classes):
            frame[f"proba_{label}"] = np.asarray(proba)[:, i]
    return frame


def main(
    tool: str, train_csv: str, test_csv: str, target: str, task: str, budget: str, seed: str, work: str, out: str
) -> None:
    train, Xt = pd.read_csv(train_csv), pd.read_csv(test_csv)
    X, y = train.drop(columns=[target]), train[target]
    if tool == "lightgbm":
        model, Xt, version = lightgbm(X, y, Xt, task, int(seed))
    elif tool == "flaml":
        model, Xt, version = flaml(X, y, Xt, task, float(budget), int(seed))
    elif tool == "autogluon":
        model, Xt, version = autogluon(train, Xt, target, task, float(budget), Path(work))
    else:
        raise SystemExit(f"unknown tool {tool}")
    prediction_frame(model, Xt, task).to_csv(out, index=False)
    Path(out + ".meta.json").write_text(json.dumps({"version": version}))


if __name__ == "__main__":
    main(*sys.argv[1:])

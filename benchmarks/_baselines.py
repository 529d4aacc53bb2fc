"""Run one comparator on a train/test split (executed inside the comparators' virtual environment).

usage: _baselines.py TOOL TRAIN.csv TEST.csv TARGET TASK BUDGET OUT.json
Writes {"pred": [...], "proba": [[...], ...] | null, "classes": [...] | null, "seconds": s}.
"""
import json
import sys
import time

import numpy as np
import pandas as pd


def main(tool, train_path, test_path, target, task, budget, out):
    train, test = pd.read_csv(train_path), pd.read_csv(test_path)
    X, y = train.drop(columns=[target]), train[target]
    Xt = test.drop(columns=[target])
    budget = float(budget)
    t0 = time.time()
    proba = classes = None
    if tool == "lightgbm":
        from lightgbm import LGBMClassifier, LGBMRegressor

        for c in X.columns:
            if X[c].dtype == object:
                cats = pd.Categorical(X[c]).categories
                X[c] = pd.Categorical(X[c], categories=cats)
                Xt[c] = pd.Categorical(Xt[c], categories=cats)
        model = (LGBMRegressor(verbose=-1) if task == "regression" else LGBMClassifier(verbose=-1)).fit(X, y)
    elif tool == "flaml":
        from flaml import AutoML

        model = AutoML()
        metric = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}[task]
        model.fit(X, y, task="regression" if task == "regression" else "classification", time_budget=budget,
                  metric=metric, verbose=0, seed=0)
    elif tool == "autogluon":
        import tempfile

        from autogluon.tabular import TabularPredictor

        metric = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "root_mean_squared_error"}[task]
        problem = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}[task]
        model = TabularPredictor(label=target, eval_metric=metric, problem_type=problem, verbosity=0,
                                 path=tempfile.mkdtemp(prefix="ag-"))
        model.fit(train, time_limit=budget, presets="medium_quality",
                  included_model_types=["GBM", "CAT", "XGB"])
    else:
        raise SystemExit(f"unknown tool {tool}")
    pred = model.predict(Xt)
    if task != "regression":
        p = model.predict_proba(Xt)
        if isinstance(p, pd.DataFrame):
            classes, proba = [str(c) for c in p.columns], p.to_numpy().tolist()
        else:
            classes, proba = [str(c) for c in model.classes_], np.asarray(p).tolist()
    json.dump({"pred": [v.item() if hasattr(v, "item") else v for v in np.asarray(pred)], "proba": proba,
               "classes": classes, "seconds": time.time() - t0}, open(out, "w"))


if __name__ == "__main__":
    main(*sys.argv[1:])

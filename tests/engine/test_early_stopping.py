"""LightGBM stops boosting when a held-out tenth of its rows stops improving, so n_estimators is only a ceiling."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from pipeline.ml.estimators import STOP_MIN_ROWS
from pipeline.ml.models import make_pipeline


def _table(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "city": rng.choice(["x", "y", "z"], n),
        }
    )
    logit = 1.5 * X["a"] - X["b"] + (X["city"] == "x") * 0.8
    y = pd.Series(rng.random(n) < 1 / (1 + np.exp(-logit)), name="y").map({True: "yes", False: "no"})
    return X, y


@pytest.mark.slow
def test_many_fast_trees_stop_early_and_score_as_well():
    X, y = _table(8000)
    fit, test = slice(0, 6000), slice(6000, None)
    params = {"n_estimators": 1200, "learning_rate": 0.3}
    pipe = make_pipeline("lightgbm", "binary", params, X, None, 0).fit(X[fit], y[fit])
    model = pipe.named_steps["model"]
    assert 0 < model.best_iteration_ < 300, model.best_iteration_
    assert model.booster_.num_trees() < 1200
    stopped = roc_auc_score(y[test] == "yes", pipe.predict_proba(X[test])[:, list(model.classes_).index("yes")])
    # plain LightGBM with the same settings fits every tree and overfits
    Xc = X.assign(city=X["city"].astype("category"))
    plain = LGBMClassifier(**params, random_state=0, verbose=-1).fit(Xc[fit], y[fit])
    every = roc_auc_score(y[test] == "yes", plain.predict_proba(Xc[test])[:, list(plain.classes_).index("yes")])
    assert stopped > every + 0.01, (stopped, every)
    pickle.loads(pickle.dumps(pipe))  # runs store and export the fitted pipeline
    assert clone(pipe).get_params()["model__n_estimators"] == 1200


def test_small_tables_fit_every_tree():
    X, y = _table(STOP_MIN_ROWS - 1)
    model = make_pipeline("lightgbm", "binary", {"n_estimators": 50}, X, None, 0).fit(X, y).named_steps["model"]
    assert model.booster_.num_trees() == 50


def test_string_classes_and_a_single_row_class():
    X, y = _table(5000, seed=1)
    y = y.where(np.arange(len(y)) != 7, "rare")  # one row of a third class cannot be stratified
    pipe = make_pipeline("lightgbm", "multiclass", {}, X, "balanced", 0).fit(X, y)
    assert list(pipe.named_steps["model"].classes_) == ["no", "rare", "yes"]
    assert set(pipe.predict(X)) <= {"no", "rare", "yes"}
    proba = pipe.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.allclose(proba.sum(axis=1), 1.0)


def test_regression_stops_when_nothing_is_left_to_learn():
    X, _ = _table(6000, seed=2)
    y = pd.Series(np.random.default_rng(3).normal(size=len(X)))  # pure noise
    model = make_pipeline("lightgbm", "regression", {"n_estimators": 1000}, X, None, 0).fit(X, y).named_steps["model"]
    assert model.booster_.num_trees() < 200

"""The spline family: a linear model on a curve per number (GAM-like), told apart from the plain linear one."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score, roc_auc_score

from pipeline.ml.models import family_of, fit_pipeline, model_members


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.uniform(18, 80, n),
            "rating": rng.integers(1, 6, n).astype(float),  # five values: it gets a curve too
            "flag": rng.integers(0, 2, n),
            "city": rng.choice(["a", "b", "c"], n),
        }
    )


def test_a_u_shaped_effect_is_found_by_the_splines_and_missed_by_the_straight_line():
    train, test = _frame(3000, 0), _frame(1000, 1)

    def target(X: pd.DataFrame) -> pd.Series:
        return (X["age"] - 50) ** 2 / 100 + (X["rating"] == 3) * 4 + (X["city"] == "b") * 2

    straight = fit_pipeline("linear", "regression", {"alpha": 1.0}, train, target(train), None, 0)
    curved = fit_pipeline("spline", "regression", {"alpha": 1.0}, train, target(train), None, 0)
    assert r2_score(target(test), curved.predict(test)) > 0.95 > r2_score(target(test), straight.predict(test)) + 0.3


def test_a_classifier_on_splines_scores_new_rows_and_keeps_its_family_through_a_pickle():
    train, test = _frame(2000, 2), _frame(500, 3)
    label = lambda X: (np.abs(X["age"] - 50) > 15).map({True: "yes", False: "no"})  # noqa: E731
    model = fit_pipeline("spline", "binary", {"C": 1.0}, train, label(train), "balanced", 0)
    known = test.index % 7 != 0
    proba = model.predict_proba(test.assign(age=test["age"].where(known)))  # gaps in new rows
    yes = proba[:, list(model.classes_).index("yes")]
    assert np.isfinite(yes).all()
    assert roc_auc_score(label(test)[known] == "yes", yes[known]) > 0.97
    loaded = pickle.loads(pickle.dumps(model))
    assert family_of(loaded.named_steps["model"]) == "spline"
    assert (
        family_of(fit_pipeline("linear", "binary", {}, train, label(train), None, 0).named_steps["model"]) == "linear"
    )

    class Saved:  # what model_members reads off a TabularModel
        pipeline = loaded

    assert model_members(Saved())[0]["family"] == "spline"

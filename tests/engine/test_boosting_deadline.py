"""Boosting deadlines: the one fit a short run cannot do without stops adding trees when time is up, and a CV
whose answer would come too late is given up inside a fit (LightGBM and HistGradientBoosting alike)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from pipeline.ml.cv import make_folds, oof_predictions
from pipeline.ml.estimators import BOOST_MIN_ROUNDS, OutOfTime, abort_after, boosting_deadline, boosting_stops
from pipeline.ml.models import make_pipeline


def _wide(n: int = 1500, columns: int = 120, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, columns)), columns=[f"x{i}" for i in range(columns)])
    y = pd.Series(np.where(X["x0"] + 0.5 * X["x1"] + rng.normal(0, 1, n) > 0, "yes", "no"))
    return X, y


def test_a_passed_deadline_leaves_the_minimum_trees_and_a_usable_model():
    X, y = _wide()
    before = boosting_stops()
    model = make_pipeline("lightgbm", "binary", {"n_estimators": 300}, X, None, 0)
    with boosting_deadline(time.monotonic()):
        model.fit(X, y)
    assert model[-1].booster_.num_trees() == BOOST_MIN_ROUNDS
    assert boosting_stops() == before + 1
    proba = model.predict_proba(X)[:, list(model.classes_).index("yes")]
    assert ((proba > 0.5) == (y == "yes")).mean() > 0.7  # ten trees already learn x0


def test_without_a_deadline_every_tree_is_fitted_and_nothing_is_counted():
    X, y = _wide()
    before = boosting_stops()
    model = make_pipeline("lightgbm", "binary", {"n_estimators": 60}, X, None, 0)
    model.fit(X, y)
    assert model[-1].booster_.num_trees() == 60 and boosting_stops() == before


def test_a_cv_with_a_fit_deadline_ends_near_it_instead_of_fitting_every_tree():
    X, y = _wide(n=1800, columns=300)
    folds = make_folds(y, "binary", 3, 0)
    build = lambda Xf: make_pipeline("lightgbm", "binary", {"n_estimators": 2000, "learning_rate": 0.01}, Xf, None, 0)  # noqa: E731
    t0 = time.monotonic()
    before = boosting_stops()
    oof = oof_predictions(build, X, y, folds, "binary", ["no", "yes"], fit_deadline=t0 + 1.5)
    took = time.monotonic() - t0
    assert boosting_stops() - before == 3  # every fold was cut short
    assert took < 1.5 + 2.0, took  # 2,000 trees x 300 columns would take far longer
    assert np.allclose(oof.sum(axis=1), 1.0)  # every row has its out-of-fold probabilities


def test_a_cv_past_its_deadline_is_given_up_inside_a_fit_and_says_how_far_it_got():
    """`deadline` used to be checked only between folds: one fold of a wide table ran 30 s past a 3 s share."""
    X, y = _wide(n=1800, columns=300)
    folds = make_folds(y, "binary", 3, 0)
    build = lambda Xf: make_pipeline("lightgbm", "binary", {"n_estimators": 3000, "learning_rate": 0.01}, Xf, None, 0)  # noqa: E731
    t0 = time.monotonic()
    with pytest.raises(OutOfTime) as stopped:
        oof_predictions(build, X, y, folds, "binary", ["no", "yes"], deadline=t0 + 1.0)
    assert time.monotonic() - t0 < 1.0 + 1.5
    assert 0.0 < stopped.value.progress < 1 / 3  # part of the first fold's trees


@pytest.mark.slow
@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_hist_gradient_boosting_is_given_up_at_a_cv_deadline_and_is_unchanged_before_it(task):
    rng = np.random.default_rng(1)
    X, _ = _wide(n=4000, columns=20)
    y = (
        pd.Series(np.digitize(X["x0"] + rng.normal(0, 0.5, len(X)), [-1, -0.3, 0.3, 1]).astype(str))
        if task == "multiclass"
        else X["x0"] * 2 + rng.normal(0, 0.3, len(X))
    )
    params = {"max_iter": 300, "early_stopping": False}
    predict = (lambda m: m.predict_proba(X)) if task == "multiclass" else (lambda m: m.predict(X))  # noqa: E731
    plain = make_pipeline("hist_gb", task, params, X, None, 0).fit(X, y)
    with abort_after(time.monotonic() + 3600):  # fitted in rounds, never interrupted
        rounds = make_pipeline("hist_gb", task, params, X, None, 0).fit(X, y)
    assert np.array_equal(predict(plain), predict(rounds))
    assert rounds[-1].max_iter == 300 and rounds[-1].warm_start is False
    t0 = time.monotonic()
    with pytest.raises(OutOfTime) as stopped:
        with abort_after(t0 + 0.3):
            make_pipeline(
                "hist_gb", task, {"max_iter": 3000, "early_stopping": False, "learning_rate": 0.01}, X, None, 0
            ).fit(X, y)
    assert time.monotonic() - t0 < 0.3 + 2.0 and 0 < stopped.value.progress < 0.5

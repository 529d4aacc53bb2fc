"""Tree models read one float matrix built in a single pass: same codes as scikit-learn's encoders, a fraction
of their memory; linear refits on big tables use a bounded sample that keeps every class."""

from __future__ import annotations

import pickle
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from pipeline.ml.families import LINEAR_MAX_ROWS
from pipeline.ml.models import feature_importance, fit_pipeline, make_pipeline
from pipeline.ml.runtime import TablePrep, TreeMatrix, compact_floats


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    city = rng.choice(["north", "south", "east", "west"], n).astype(object)
    city[rng.random(n) < 0.1] = None
    code = rng.integers(0, n // 2, n).astype(str)  # high cardinality: many codes seen once or twice
    amount = rng.normal(100, 30, n)
    amount[rng.random(n) < 0.1] = np.nan
    amount[:3] = [np.inf, -np.inf, 1e9]
    return pd.DataFrame(
        {
            "amount": amount,
            "count": rng.integers(0, 9, n),
            "flag": rng.random(n) < 0.5,
            "city": pd.Series(city, dtype="str"),
            "code": code,
            "mixed": pd.Series(np.where(rng.random(n) < 0.5, rng.integers(0, 3, n), "x"), dtype=object),
            "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 400, n), unit="D"),
        }
    )


def _old_route(X: pd.DataFrame, new: pd.DataFrame) -> np.ndarray:
    """TablePrep + OrdinalEncoder(min_frequency=3), the preparation tree models had before."""
    prep = TablePrep().fit(X)
    cat = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=-1,
        encoded_missing_value=-1,
        min_frequency=3,
        dtype=np.float64,
    )
    columns = ColumnTransformer(
        [("num", "passthrough", prep.numeric_ + prep.datetime_), ("cat", cat, prep.categorical_)]
    )
    return Pipeline([("prep", prep), ("columns", columns)]).fit(X).transform(new)


def test_same_numbers_and_codes_as_the_scikit_learn_route():
    X = _frame(3000)
    new = _frame(500, seed=1)
    new.loc[:4, "city"] = ["atlantis", None, "north", "unseen", "west"]  # unseen and missing categories
    new = new.drop(columns=["count"])  # an absent column becomes NaN
    matrix = TreeMatrix(dtype=np.float64).fit(X)
    ours, theirs = matrix.transform(new), _old_route(X, new)
    assert ours.shape == theirs.shape == (500, 7)
    code, rare_code = list(matrix.columns_).index("code"), len(matrix.categories_["code"][0])
    unseen = ~new["code"].isin(X["code"]).to_numpy()
    assert unseen.sum() > 20 and (theirs[unseen, code] == -1).all()
    theirs[unseen, code] = rare_code  # the one difference: an unseen value joins the rare ones (next test)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours, theirs, equal_nan=True)
    assert list(ours[:4, list(matrix.columns_).index("city")]) == [
        -1,
        -1,
        matrix.categories_["city"][0].index("north"),
        -1,
    ]
    assert matrix.categories_["code"][1], "rare codes are grouped"
    assert np.isnan(ours[:, list(matrix.columns_).index("count")]).all()
    assert np.isnan(ours[:2, 0]).all() and ours[2, 0] == 1e9  # infinities are missing, not huge


def test_values_unseen_at_fit_are_read_as_the_rare_ones():
    """A mostly-unique text column (titles): new rows carry titles never seen. Coded apart from the rare group the
    training rows sit in, they sent new rows down branches no training row took; the model must read them as
    the rare titles it learnt from, so that the column changes no prediction for new rows."""
    rng = np.random.default_rng(3)
    n = 4000
    X = pd.DataFrame({"x": rng.normal(size=n), "title": [f"film {i}" for i in rng.permutation(n)]})
    X.loc[:300, "title"] = rng.choice(["Hamlet", "Macbeth", "Othello"], 301)  # a few remade titles repeat
    y = pd.Series(X["x"] * 2 + rng.normal(size=n) + np.where(X["title"] == "Hamlet", 1.0, 0.0))
    model = make_pipeline("lightgbm", "regression", {"min_child_samples": 5}, X, None, 0).fit(X, y)
    new = pd.DataFrame({"x": rng.normal(size=200), "title": [f"new film {i}" for i in range(200)]})
    rare_seen = new.assign(title=X["title"].iloc[-1])  # a title seen once at fit
    np.testing.assert_allclose(model.predict(new), model.predict(rare_seen))
    matrix = model.named_steps["prep"]
    assert (matrix.transform(new)[:, 1] == len(matrix.categories_["title"][0])).all()
    missing = matrix.transform(new.assign(title=None))[:, 1]
    assert (missing == -1).all(), "a missing title stays apart from the rare ones"


def test_float32_column_major_output_and_median_imputation():
    X = _frame(2000)
    out = TreeMatrix().fit_transform(X)
    assert out.dtype == np.float32 and out.flags["F_CONTIGUOUS"]
    filled = TreeMatrix(impute_median=True).fit(X)
    amount = filled.transform(X)[:, 0]
    assert not np.isnan(amount).any()
    assert amount[5:][X["amount"][5:].isna().to_numpy()][0] == np.float32(
        np.nanmedian(X["amount"][2:])
    )  # the infinities are not counted


@pytest.mark.slow
def test_transform_holds_little_more_than_its_output():
    X = _frame(200_000)
    matrix = TreeMatrix().fit(X)
    tracemalloc.start()
    out = matrix.transform(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    tracemalloc.start()
    _old_route(X, X)
    _, old_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # the output plus one column's temporaries (a float64 column, or one Python string per row while encoding)
    assert peak < out.nbytes + 120 * len(X), (peak, out.nbytes)
    assert peak < old_peak / 2, (peak, old_peak)


def test_tree_pipelines_fit_predict_pickle_and_name_their_features():
    X = _frame(4000)
    y = pd.Series(np.where(X["count"] + (X["city"] == "north") * 3 > 5, "yes", "no"))
    for family in ("lightgbm", "hist_gb", "random_forest", "extra_trees"):
        pipe = make_pipeline(
            family, "binary", {"n_estimators": 20} if family != "hist_gb" else {"max_iter": 20}, X, None, 0
        ).fit(X, y)
        proba = pickle.loads(pickle.dumps(pipe)).predict_proba(X.drop(columns=["code"]))
        assert proba.shape == (4000, 2) and np.isfinite(proba).all(), family
        if family != "hist_gb":  # HistGradientBoosting has no feature_importances_
            names = {row["feature"] for row in feature_importance(pipe)}
            assert "count" in names and "city" in names, (family, names)


def _rows_seen(pipe: Pipeline) -> int:
    return int(pipe.named_steps["columns"].named_transformers_["num"].named_steps["scale"].n_samples_seen_)


def test_linear_refit_on_a_big_table_uses_a_bounded_sample_with_every_class():
    n = LINEAR_MAX_ROWS + 20_000
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "g": rng.choice(["p", "q"], n)})
    y = np.where(X["a"] > 0, "up", "down").astype(object)
    y[7] = "rare"  # one row: a uniform sample would likely miss it
    pipe = fit_pipeline("linear", "multiclass", {}, X, list(y), None, 0)
    assert sorted(pipe.classes_) == ["down", "rare", "up"]
    assert _rows_seen(pipe) == LINEAR_MAX_ROWS + 1
    ridge = fit_pipeline("linear", "regression", {}, X, pd.Series(X["a"] * 2), None, 0)
    assert _rows_seen(ridge) == LINEAR_MAX_ROWS
    assert abs(ridge.named_steps["model"].coef_[0] - 2) < 0.01 * 2 + 2 * 0.02  # the sample still finds the slope
    small = fit_pipeline("linear", "regression", {}, X[:5000], X["a"][:5000] * 2, None, 0)
    assert _rows_seen(small) == 5000


def test_models_trained_on_compacted_frames_predict_fresh_float64_features_identically():
    """The run keeps feature frames as float32; prediction gets float64 features from the feature code."""
    X = _frame(3000)
    X["ratio"] = X["amount"] / 7.0 + 1e-9  # digits beyond float32's precision
    y = pd.Series(X["ratio"].clip(-1e3, 1e3).fillna(0) * 3 + X["count"])  # the first rows hold infinities
    compact = compact_floats(X)
    assert compact["ratio"].dtype == np.float32 and X["ratio"].dtype == np.float64
    for family in ("lightgbm", "hist_gb", "linear"):
        pipe = make_pipeline(family, "regression", {}, compact, None, 0).fit(compact, y)
        np.testing.assert_array_equal(pipe.predict(X), pipe.predict(compact), err_msg=family)

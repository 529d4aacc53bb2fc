"""The fast paths the engine takes for speed give the answers of the slow, standard ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from pipeline.ml.leak_scores import single_column_score
from pipeline.ml.leakage import LEAK_SCORE
from pipeline.ml.metrics import classification_metrics


def _reference(y: np.ndarray, proba: np.ndarray, classes: list, threshold: float | None, pos: int) -> dict[str, float]:
    """The same metrics from scikit-learn's functions, one call each."""
    yc = np.array([classes.index(v) for v in y])
    pc = (
        np.where(proba[:, pos] >= threshold, pos, 1 - pos)
        if threshold is not None and len(classes) == 2
        else proba.argmax(1)
    )
    out = {"accuracy": skm.accuracy_score(yc, pc), "balanced_accuracy": skm.balanced_accuracy_score(yc, pc)}
    if len(classes) == 2:
        yb, pb = (yc == pos).astype(int), (pc == pos).astype(int)
        out.update(
            precision=skm.precision_score(yb, pb, zero_division=0),
            recall=skm.recall_score(yb, pb, zero_division=0),
            f1=skm.f1_score(yb, pb, zero_division=0),
            f2=skm.fbeta_score(yb, pb, beta=2, zero_division=0),
            log_loss=skm.log_loss(yb, np.clip(proba[:, pos], 1e-15, 1 - 1e-15), labels=[0, 1]),
        )
        out["f0.5"] = skm.fbeta_score(yb, pb, beta=0.5, zero_division=0)
        if 0 < yb.sum() < len(yb):
            out["roc_auc"] = skm.roc_auc_score(yb, proba[:, pos])
    else:
        labels = list(range(len(classes)))
        out.update(
            precision=skm.precision_score(yc, pc, labels=labels, average="macro", zero_division=0),
            recall=skm.recall_score(yc, pc, labels=labels, average="macro", zero_division=0),
            f1_macro=skm.f1_score(yc, pc, labels=labels, average="macro", zero_division=0),
        )
    return out


@pytest.mark.parametrize("seed", range(40))
def test_count_based_metrics_equal_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.choice([2, 2, 3, 5]))
    classes = list(rng.choice(["no", "yes", "maybe", "x", "y"], k, replace=False)) if seed % 2 else list(range(k))
    n = int(rng.integers(8, 3000))
    y = np.array(rng.choice(np.array(classes, dtype=object), n), dtype=object)
    proba = rng.random((n, k)) ** 3
    proba /= proba.sum(1, keepdims=True)
    threshold = float(rng.random()) if k == 2 and seed % 3 else None
    pos = int(rng.integers(0, 2)) if k == 2 else 1
    ours = classification_metrics(y, proba, np.array(classes, dtype=object), threshold, pos)
    for name, value in _reference(y, proba, classes, threshold, pos).items():
        assert ours[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name


def test_leak_lookup_flags_leaks_and_spares_strong_honest_columns():
    rng = np.random.default_rng(0)
    n = 400
    y = pd.Series(rng.integers(0, 2, n))
    honest = pd.Series(y * 1.5 + rng.normal(0, 1, n))  # strong, but overlapping classes
    step_leak = pd.Series(np.where(y == 1, rng.choice([0.0, 10.0], n), 5 + rng.random(n)))  # not monotone
    label_leak = pd.Series(np.where(y == 1, "closed", "open"))
    missing_leak = pd.Series(np.where(y == 1, np.nan, rng.random(n)))
    assert single_column_score(honest, y, "numeric", "binary", 0) < 0.8
    for column, kind in ((step_leak, "numeric"), (label_leak, "categorical"), (missing_leak, "numeric")):
        assert single_column_score(column, y, kind, "binary", 0) >= LEAK_SCORE
    target = pd.Series(rng.normal(size=n))
    assert single_column_score(target * 2 + rng.normal(0, 0.01, n), target, "numeric", "regression", 0) >= LEAK_SCORE
    assert single_column_score(target + rng.normal(0, 1, n), target, "numeric", "regression", 0) < 0.6


def test_the_profile_of_a_wide_table_matches_column_by_column_pandas():
    """The profiler computes counts, kinds and numeric statistics for all columns at once (a call per column cost
    seconds at 2,000 columns); every figure must be what the per-column pandas call gives."""
    from pipeline.phases.profiler import profile_frame

    rng = np.random.default_rng(4)
    n = 3000
    X = pd.DataFrame(rng.normal(size=(n, 300)).astype(np.float32), columns=[f"g{i}" for i in range(300)])
    X["count"] = pd.array(rng.integers(0, 5, n), dtype="Int64")
    X["city"] = rng.choice(["Oslo", "Lima", None], n)
    X["row_id"] = np.arange(n)
    X["const"] = 7.0
    X.loc[::9, "g3"] = np.nan
    y = pd.Series(rng.integers(0, 2, n))
    profile = profile_frame(X, y, "y", "binary", 0, None)
    by_name = {c.name: c for c in profile.columns}
    for col in ["g0", "g3", "count"]:
        s = X[col].astype(float)
        expected = {
            "mean": s.mean(),
            "std": s.std(),
            "min": s.min(),
            "max": s.max(),
            "median": s.median(),
            "skew": s.skew(),
        }
        assert by_name[col].stats == pytest.approx(expected, rel=1e-9)
        assert by_name[col].missing == int(X[col].isna().sum()) and by_name[col].unique == X[col].nunique()
    assert by_name["g3"].missing == 334 and by_name["city"].kind == "categorical"
    assert by_name["row_id"].kind == "id" and by_name["const"].kind == "constant"
    assert by_name["city"].sample_values == [str(v) for v in X["city"].dropna().unique()[:5]]
    # pairs come from above the diagonal only, never a column with itself or a NaN correlation
    assert profile.top_correlations and all(p["a"] != p["b"] and p["r"] == p["r"] for p in profile.top_correlations)
    two = profile_frame(X[["g0", "g1"]], y, "y", "binary", 0, None)
    assert [(p["a"], p["b"]) for p in two.top_correlations] == [("g0", "g1")]


@pytest.mark.parametrize("task", ["regression", "binary"])
def test_a_mostly_unique_text_column_is_not_ranked_a_strong_predictor(task):
    """Each title seen once "predicts" its own row's target exactly; the profile must rank what tells something
    about a new row (here `score`), not the column of one-row levels (a film table had `title` at 0.99, top)."""
    from pipeline.phases.profiler import profile_frame

    rng = np.random.default_rng(5)
    n = 2000
    score = rng.normal(size=n)
    X = pd.DataFrame(
        {
            "title": [f"{w} {i}" for i, w in enumerate(rng.choice(["Night", "Day", "Long Road", "Harbour Lights"], n))],
            "score": score,
            "genre": rng.choice(["drama", "comedy", "horror"], n),
        }
    )
    raw = score + rng.normal(size=n) + np.where(X["genre"] == "horror", -1.0, 0.0)
    y = pd.Series(raw if task == "regression" else (raw > 0).astype(int))
    by_name = {c.name: c for c in profile_frame(X, y, "y", task, 0, None).columns}
    assert by_name["title"].kind == "categorical"
    assert by_name["title"].target_association < 0.05
    assert by_name["genre"].target_association > 0.15
    assert by_name["score"].target_association > by_name["genre"].target_association

"""How strongly one column, or all the other columns together, predict the target: cross-validated scores for
the leakage rules in `pipeline.ml.leakage` (small, fast models: a binned lookup, a few-tree LightGBM)."""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.model_selection import KFold, StratifiedKFold

REST_TREES = 40
BINS = 32  # quantile bins of a numeric column for its one-column model


class LeakCheckOutOfTime(Exception):
    pass


# --------------------------------------------------------------------------- the one-column lookup (rule a)


def lookup(train_x: np.ndarray, train_t: np.ndarray, valid_x: np.ndarray, n_labels: int, ordered: bool) -> np.ndarray:
    """Predict each validation value from the training rows with the same value (majority class, or mean
    for regression when `n_labels` is 0); unseen values take the nearest seen value if `ordered`, else
    the overall majority or mean. NaN is a value of its own (encoded by the caller)."""
    values, inverse = np.unique(train_x, return_inverse=True)
    if n_labels:
        table = np.bincount(inverse * n_labels + train_t, minlength=len(values) * n_labels).reshape(
            len(values), n_labels
        )
        per_value, default = table.argmax(1), np.bincount(train_t, minlength=n_labels).argmax()
    else:
        per_value = np.bincount(inverse, weights=train_t) / np.bincount(inverse)
        default = train_t.mean()
    pos = np.clip(np.searchsorted(values, valid_x), 0, len(values) - 1)
    exact = values[pos] == valid_x
    if ordered:
        left = np.clip(pos - 1, 0, len(values) - 1)
        nearer_left = np.abs(valid_x - values[left]) < np.abs(values[pos] - valid_x)
        return per_value[np.where(nearer_left & ~exact, left, pos)]
    return np.where(exact, per_value[pos], default)


def single_column_score(
    x: pd.Series, y: pd.Series, kind: str, task: str, seed: int, folds: list | None = None
) -> float | None:
    """Cross-validated score of a one-column lookup model (the majority class or mean target of the training
    rows with the same or, for numbers, the nearest value): near-perfect means the column leaks the target.

    The lookup adapts to any split points the way a tree on the column would, at numpy speed. `folds`: the
    3-fold split `lookup_folds` gives, computed once for many columns.
    """
    if kind in ("numeric", "boolean", "id", "datetime"):
        values = numbers(x, kind)
        if np.isnan(values).all():
            return None
        codes, ordered = np.where(np.isnan(values), np.nanmin(values) - 1.0, values), True
    elif kind == "categorical" and x.nunique() < 0.5 * len(x):
        codes, ordered = pd.factorize(x.astype(str))[0].astype(float), False
    else:
        return None
    if task == "regression":
        target, n_labels = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float), 0
    else:
        target, labels = pd.factorize(y.astype(str))
        n_labels = len(labels)
    scores = []
    folds = folds if folds is not None else lookup_folds(target, n_labels, seed)
    for tr, va in folds:
        guess = lookup(codes[tr], target[tr], codes[va], n_labels, ordered)
        if n_labels:
            scores.append(balanced_accuracy(target[va], guess, n_labels))
        else:
            total = ((target[va] - target[va].mean()) ** 2).sum()
            scores.append(1.0 - ((target[va] - guess) ** 2).sum() / total if total > 0 else 0.0)
    return float(np.mean(scores))


def lookup_folds(target: np.ndarray, n_labels: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    if n_labels == 0:
        return list(KFold(3, shuffle=True, random_state=seed).split(target))
    enough = np.bincount(target).min() >= 3
    splitter = (
        StratifiedKFold(3, shuffle=True, random_state=seed) if enough else KFold(3, shuffle=True, random_state=seed)
    )
    return list(splitter.split(target, target))


def numbers(x: pd.Series, kind: str) -> np.ndarray:
    """A column as floats: numbers as they are, dates as days since 1970, anything else NaN."""
    if kind == "datetime" and not pd.api.types.is_numeric_dtype(x):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            when = x if pd.api.types.is_datetime64_any_dtype(x) else pd.to_datetime(x, errors="coerce", format="mixed")
        if getattr(when.dt, "tz", None) is not None:
            when = when.dt.tz_localize(None)
        stamps = when.to_numpy(dtype="datetime64[ns]")
        out = stamps.astype("int64").astype(float) / 86_400e9
        out[np.isnat(stamps)] = np.nan
        return out
    if pd.api.types.is_bool_dtype(x):
        return x.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(x, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


# --------------------------------------------------------------------------- one column, binned (rules b-f)


def binned(x: pd.Series, kind: str, bins: int = 0) -> np.ndarray | None:
    """Integer codes 0..k-1 of a column for a one-column model: quantile bins of numbers and dates, the frequent
    values of a categorical (the rest share a code), missing values a code of their own."""
    bins = bins or BINS
    if kind in ("numeric", "boolean", "datetime"):
        values = numbers(x, kind)
        present = ~np.isnan(values)
        if not present.any():
            return None
        distinct = np.unique(values[present])
        if len(distinct) <= bins:
            codes = np.searchsorted(distinct, values).astype(np.int64)
        else:
            edges = np.unique(np.quantile(values[present], np.linspace(0, 1, bins + 1)[1:-1]))
            codes = np.searchsorted(edges, values, side="right").astype(np.int64)
        codes[~present] = codes[present].max() + 1
        return codes
    if kind == "categorical":
        text = x.astype(str).where(x.notna(), None)
        counts = text.value_counts()
        frequent = counts.index[: BINS * 2]
        codes = pd.Categorical(text.where(text.isin(frequent), "__other__").fillna("__missing__")).codes
        return codes.astype(np.int64)
    return None


def one_column_oof(codes: np.ndarray, target: np.ndarray, n_labels: int, folds) -> np.ndarray:
    """Out-of-fold predictions of a smoothed per-code model: class probabilities (n_labels > 0) or means."""
    k = int(codes.max()) + 1
    if n_labels:
        out = np.zeros((len(codes), n_labels))
        for tr, va in folds:
            table = np.bincount(codes[tr] * n_labels + target[tr], minlength=k * n_labels).reshape(k, n_labels)
            prior = np.bincount(target[tr], minlength=n_labels) / len(tr)
            proba = (table + prior) / (table.sum(1, keepdims=True) + 1.0)  # one pseudo-row of the prior
            out[va] = proba[codes[va]]
        return out
    out = np.zeros(len(codes))
    for tr, va in folds:  # the median per code: a few wrong values in a code must not move what it predicts
        order = np.lexsort((target[tr], codes[tr]))
        counts = np.bincount(codes[tr], minlength=k)
        middle = np.cumsum(counts) - counts + (counts - 1) // 2
        medians = np.where(counts > 0, target[tr][order][np.clip(middle, 0, len(tr) - 1)], np.median(target[tr]))
        out[va] = medians[codes[va]]
    return out


def fold_scores(target: np.ndarray, pred: np.ndarray, task: str, folds) -> np.ndarray:
    scores = []
    for _, va in folds:
        t, p = target[va], pred[va]
        if task == "binary":
            scores.append(auc(t, p[:, 1]))
        elif task == "multiclass":
            scores.append(balanced_accuracy(t, p.argmax(1), p.shape[1]))
        else:
            total = ((t - t.mean()) ** 2).sum()
            scores.append(1.0 - ((t - p) ** 2).sum() / total if total > 0 else 0.0)
    return np.asarray(scores, dtype=float)


def balanced_accuracy(truth: np.ndarray, guess: np.ndarray, n_labels: int) -> float:
    """scikit-learn's balanced_accuracy_score (the mean recall of the classes present), without its checks: they
    cost 5 ms a call, and the checks make hundreds of calls on a wide table."""
    counts = np.bincount(truth, minlength=n_labels)
    hits = np.bincount(truth[truth == guess], minlength=n_labels)
    present = counts > 0
    return float((hits[present] / counts[present]).mean())


def auc(truth: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of a 0/1 truth (Mann-Whitney, ties counted half); 0.5 when a class is absent."""
    positives = int(truth.sum())
    negatives = len(truth) - positives
    if positives == 0 or negatives == 0:
        return 0.5
    ranks = rankdata(score)
    return float((ranks[truth == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def right(target: np.ndarray, pred: np.ndarray, task: str, within: float = 0.25) -> np.ndarray:
    """Per row: is the prediction right (class) or close (regression: within `within` of the target's spread)."""
    if task == "regression":
        return np.abs(target - pred) <= within * np.std(target)
    return pred.argmax(1) == target


# --------------------------------------------------------------------------- the other columns together


def rest_matrix(X: pd.DataFrame, kinds: dict[str, str]) -> np.ndarray:
    cols = []
    for col in X.columns:
        kind = kinds.get(col)
        if kind in ("numeric", "boolean", "datetime"):
            cols.append(numbers(X[col], kind))
        elif kind == "categorical":
            codes = pd.factorize(X[col].astype(str).where(X[col].notna(), None))[0].astype(float)
            codes[codes < 0] = np.nan
            cols.append(codes)
    if not cols:
        return np.zeros((len(X), 0))
    return np.column_stack(cols)


def rest_oof(
    matrix: np.ndarray, target: np.ndarray, task: str, n_labels: int, folds, seed: int, deadline: float | None
) -> np.ndarray:
    """Out-of-fold predictions of a small LightGBM on the other columns (raises LeakCheckOutOfTime past the deadline)."""
    import lightgbm

    if matrix.shape[1] == 0:  # nothing else in the table: the rest knows only the base rate
        out = np.zeros((len(target), n_labels)) if n_labels else np.zeros(len(target))
        for tr, va in folds:
            out[va] = (np.bincount(target[tr], minlength=n_labels) / len(tr)) if n_labels else target[tr].mean()
        return out

    def stop(env) -> None:
        if deadline is not None and time.monotonic() > deadline:
            raise LeakCheckOutOfTime()

    # one thread: on a few thousand rows LightGBM's threads cost more than they bring (10x slower on a busy machine)
    rounds = REST_TREES if n_labels <= 2 else max(15, REST_TREES // 2)
    params = dict(
        n_estimators=rounds,
        learning_rate=0.2,
        num_leaves=15,
        min_child_samples=10,
        max_bin=63,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=seed,
        n_jobs=1,
        verbose=-1,
    )
    out = np.zeros((len(target), n_labels)) if n_labels else np.zeros(len(target))
    for tr, va in folds:
        if deadline is not None and time.monotonic() > deadline:
            raise LeakCheckOutOfTime()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if n_labels:
                model = lightgbm.LGBMClassifier(**params)
                model.fit(matrix[tr], target[tr], callbacks=[stop])
                proba = model.predict_proba(matrix[va])
                out[np.ix_(va, model.classes_.astype(int))] = proba
            else:
                model = lightgbm.LGBMRegressor(**params)
                model.fit(matrix[tr], target[tr], callbacks=[stop])
                out[va] = model.predict(matrix[va])
    return out


def wilson_lower(successes: int, n: int, z: float = 1.96) -> float:
    if n == 0:
        return 0.0
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)

"""Data Profiler: what the training part of the table looks like, and what could go wrong with it.

It reads only the training part (the holdout stays locked) and samples large tables for the
expensive checks, saying so in `sample_note`.
"""
from __future__ import annotations

import re
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import KFold, StratifiedKFold

from pipeline.context import PhaseContext
from pipeline.state import ColumnProfile, ProfileResult, RunState

PROFILE_SAMPLE = 100_000
LEAK_SAMPLE = 20_000
LEAK_SCORE = 0.99
PROFILE_SHARE = 0.08          # the per-column checks may use this much of the run's budget
PROFILE_MIN_SECONDS = 2.0
ID_NAME = re.compile(r"(^|_|\b)(id|uuid|guid|key|index|row|record)(_|\b|$)|Id$|ID$", re.I)


def _kind(s: pd.Series, unique: int, non_null: int) -> str:
    """`unique` and `non_null` are counted once for the whole frame (per-column calls cost ~1 s at 2,000 columns)."""
    if unique <= 1:
        return "constant"
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    if pd.api.types.is_numeric_dtype(s):
        if ID_NAME.search(str(s.name)) and unique > 0.95 * non_null and pd.api.types.is_integer_dtype(s):
            return "id"
        return "numeric"
    sample = s.dropna().head(500).astype(str)
    if sample.str.match(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}").mean() > 0.8 or \
            sample.str.match(r"^\s*\d{4}-\d{2}-\d{2}[T ]").mean() > 0.8:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
        if parsed.notna().mean() > 0.9:
            return "datetime"
    if unique > 0.95 * non_null and (ID_NAME.search(str(s.name)) or sample.str.len().std() < 1.0):
        return "id"
    if sample.str.len().mean() > 30 and sample.str.count(" ").mean() >= 3 and unique > 0.3 * non_null:
        return "text"
    return "categorical"


def _association(x: pd.Series, y: pd.Series, kind: str, task: str) -> float | None:
    """|Spearman| for numeric pairs, correlation ratio (eta) or Cramér's V otherwise; 0..1."""
    try:
        mask = x.notna() & y.notna()
        if mask.sum() < 10:
            return None
        x, y = x[mask], y[mask]
        if kind in ("numeric", "boolean"):
            xn = x.astype(float)
            if task == "multiclass":
                return _eta(y.astype(str), xn)
            return float(abs(xn.rank().corr(y.astype(float).rank() if task == "regression"
                                            else pd.Series(pd.factorize(y)[0], index=y.index).astype(float))))
        if kind == "categorical":
            if task == "regression":
                return _eta(x.astype(str), y.astype(float))
            table = pd.crosstab(x.astype(str), y.astype(str))
            if min(table.shape) < 2:
                return 0.0
            observed = table.to_numpy(dtype=float)
            expected = observed.sum(1, keepdims=True) * observed.sum(0, keepdims=True) / observed.sum()
            chi2 = ((observed - expected) ** 2 / np.where(expected == 0, 1, expected)).sum()
            return float(np.sqrt(chi2 / observed.sum() / (min(table.shape) - 1)))
    except (ValueError, TypeError):
        return None
    return None


def _eta(groups: pd.Series, values: pd.Series) -> float:
    overall = values.mean()
    total = ((values - overall) ** 2).sum()
    if total == 0:
        return 0.0
    between = values.groupby(groups).agg(["count", "mean"])
    return float(np.sqrt(((between["mean"] - overall) ** 2 * between["count"]).sum() / total))


def _lookup(train_x: np.ndarray, train_t: np.ndarray, valid_x: np.ndarray, n_labels: int, ordered: bool) -> np.ndarray:
    """Predict each validation value from the training rows with the same value (majority class, or mean
    for regression when `n_labels` is 0); unseen values take the nearest seen value if `ordered`, else
    the overall majority or mean. NaN is a value of its own (encoded by the caller)."""
    values, inverse = np.unique(train_x, return_inverse=True)
    if n_labels:
        table = np.bincount(inverse * n_labels + train_t, minlength=len(values) * n_labels).reshape(len(values), n_labels)
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


def _single_column_score(x: pd.Series, y: pd.Series, kind: str, task: str, seed: int) -> float | None:
    """Cross-validated score of a one-column lookup model (the majority class or mean target of the training
    rows with the same or, for numbers, the nearest value): near-perfect means the column leaks the target.

    The lookup adapts to any split points the way a tree on the column would, at numpy speed.
    """
    if kind in ("numeric", "boolean", "id"):
        values = pd.to_numeric(x, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if np.isnan(values).all():
            return None
        codes, ordered = np.where(np.isnan(values), np.nanmin(values) - 1.0, values), True
    elif kind == "categorical" and x.nunique() < 0.5 * len(x):
        codes, ordered = pd.factorize(x.astype(str))[0].astype(float), False
    else:
        return None
    if task == "regression":
        target, n_labels = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float), 0
        folds = KFold(3, shuffle=True, random_state=seed).split(codes)
    else:
        target, labels = pd.factorize(y.astype(str))
        n_labels = len(labels)
        enough = np.bincount(target).min() >= 3
        splitter = StratifiedKFold(3, shuffle=True, random_state=seed) if enough else KFold(3, shuffle=True, random_state=seed)
        folds = splitter.split(codes, target)
    scores = []
    for tr, va in folds:
        guess = _lookup(codes[tr], target[tr], codes[va], n_labels, ordered)
        if n_labels:
            scores.append(balanced_accuracy_score(target[va], guess))
        else:
            total = ((target[va] - target[va].mean()) ** 2).sum()
            scores.append(1.0 - ((target[va] - guess) ** 2).sum() / total if total > 0 else 0.0)
    return float(np.mean(scores))


def profile_frame(X: pd.DataFrame, y: pd.Series, target: str, task: str, seed: int = 0,
                  deadline: float | None = None) -> ProfileResult:
    """Profile the training features and target (pure function; the phase wraps it).

    Past `deadline` (time.monotonic), the per-column association and leakage checks stop and the
    result says for how many columns they ran."""
    n = len(X)
    result = ProfileResult(n_rows=n, n_cols=X.shape[1] + 1, target=target, task=task)
    sample_X, sample_y = X, y
    if n > PROFILE_SAMPLE:
        idx = np.random.default_rng(seed).choice(n, PROFILE_SAMPLE, replace=False)
        sample_X, sample_y = X.iloc[np.sort(idx)], y.iloc[np.sort(idx)]
        result.sample_note = (f"Associations, duplicates and leakage checks use a uniform random sample of "
                              f"{PROFILE_SAMPLE:,} of the {n:,} training rows (seed {seed}).")
    try:
        result.duplicates = int(sample_X.assign(__y=sample_y.to_numpy()).duplicated().sum())
    except TypeError:
        result.duplicates = 0
    missing_counts, sample_missing, uniques = X.isna().sum(), sample_X.isna().sum(), sample_X.nunique()
    kinds = {col: _kind(sample_X[col], int(uniques[col]), len(sample_X) - int(sample_missing[col])) for col in X.columns}
    stats = _numeric_stats(sample_X[[c for c, k in kinds.items() if k == "numeric"]])
    for col in X.columns:
        kind, missing = kinds[col], int(missing_counts[col])
        cp = ColumnProfile(name=col, dtype=str(X[col].dtype), kind=kind, missing=missing,
                           missing_pct=round(100.0 * missing / max(n, 1), 2), unique=int(uniques[col]),
                           sample_values=_first_values(X[col], sample_X[col]), stats=stats.get(col, {}))
        if kind in ("numeric", "boolean", "categorical") and not _past(deadline):
            assoc = _association(sample_X[col], sample_y, kind, task)
            cp.target_association = None if assoc is None or np.isnan(assoc) else round(float(assoc), 4)
        result.columns.append(cp)
        {"constant": result.constant_columns, "id": result.id_like_columns, "datetime": result.date_columns,
         "text": result.text_columns}.get(kind, []).append(col)
    if task != "regression":
        counts = y.astype(str).value_counts()
        result.class_balance = {str(k): int(v) for k, v in counts.items()}
    result.leakage_suspects, checked, total = _leakage(sample_X, sample_y, result, task, seed, deadline)
    if checked < total:
        result.sample_note = (result.sample_note + " " if result.sample_note else "") + (
            f"The time budget allowed the single-column leakage check for {checked} of {total} columns.")
    numeric = [c.name for c in result.columns if c.kind == "numeric"][:40]
    if len(numeric) >= 2:
        corr = sample_X[numeric].astype(float).corr().abs()
        pairs = corr.where(np.triu(np.ones(corr.shape, dtype=bool), 1)).stack().dropna().sort_values(ascending=False)
        result.top_correlations = [{"a": a, "b": b, "r": round(float(r), 4)} for (a, b), r in pairs.head(10).items()]
    return result


def _numeric_stats(numeric: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Mean, std, min, max, median and skew of every numeric column, computed over the whole block at once."""
    if numeric.shape[1] == 0:
        return {}
    table = numeric.astype(float).agg(["mean", "std", "min", "max", "median", "skew"])
    return {col: {k: float(v) for k, v in table[col].items() if pd.notna(v)} for col in numeric.columns}


def _first_values(column: pd.Series, sample: pd.Series, shown: int = 5) -> list[str]:
    """Up to `shown` distinct values in order of appearance, from the column's first rows when they have enough."""
    for rows in (50, 5000):
        values = column.iloc[:rows].dropna().unique()
        if len(values) >= shown or len(column) <= rows:
            break
    else:
        values = sample.dropna().unique()
    return [str(v)[:60] for v in values[:shown]]


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline


def _leakage(X: pd.DataFrame, y: pd.Series, profile: ProfileResult, task: str, seed: int,
             deadline: float | None = None) -> tuple[list[dict], int, int]:
    """Leakage suspects, and for how many of the candidate columns the check ran before the deadline."""
    suspects = []
    if len(X) > LEAK_SAMPLE:
        idx = np.sort(np.random.default_rng(seed + 1).choice(len(X), LEAK_SAMPLE, replace=False))
        X, y = X.iloc[idx], y.iloc[idx]
    ranked = sorted(profile.columns, key=lambda c: -(c.target_association or 0))
    candidates = [c for c in ranked if c.kind in ("numeric", "boolean", "categorical")][:60]
    candidates += [c for c in profile.columns if c.kind == "id"]
    checked = 0
    for cp in candidates:
        if _past(deadline):
            break
        checked += 1
        score = _single_column_score(X[cp.name], y, cp.kind, task, seed)
        if score is not None and score >= LEAK_SCORE:
            what = "an ID that" if cp.kind == "id" else "a single column that"
            label = "R²" if task == "regression" else "balanced accuracy"
            suspects.append({"column": cp.name, "score": round(score, 4),
                             "reason": f"{what} alone predicts the target with CV {label} {score:.3f}."})
    return suspects, checked, len(candidates)


def run(state: RunState, ctx: PhaseContext) -> ProfileResult:
    split = ctx.split
    deadline = ctx.budget.share_deadline(PROFILE_SHARE, PROFILE_MIN_SECONDS)
    wall, cpu = time.monotonic(), time.thread_time()
    profile = profile_frame(split.X_train, split.y_train, state.config.target or "", state.profile.task or "",
                            state.config.seed, deadline)
    ctx.budget.observe_cpu(time.thread_time() - cpu, time.monotonic() - wall)   # single-threaded numpy/pandas work
    if ctx.budget.slowdown > 1.0:
        state.notes.append(f"The machine was busy: profiling got about {1 / ctx.budget.slowdown:.0%} of a CPU, so "
                           f"{ctx.budget.finish_reserve():.0f} s of the time budget are kept for the final "
                           "evaluation and export instead of the usual "
                           f"{ctx.budget.idle_reserve():.0f} s.")
    profile.n_rows = len(split.X_train) + len(split.X_holdout)
    profile.findings_md = ctx.brain.profile_summary(profile, state.objective)
    profile.summary = (f"{profile.n_rows:,} rows ({len(split.X_train):,} for training and CV, "
                       f"{len(split.X_holdout):,} locked as holdout), {profile.n_cols} columns.")
    return profile

"""Data Profiler: what the training part of the table looks like, and what could go wrong with it.

It reads only the training part (the holdout stays locked) and samples large tables for the
expensive checks, saying so in `sample_note`.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from pipeline.context import PhaseContext
from pipeline.state import ColumnProfile, ProfileResult, RunState

PROFILE_SAMPLE = 100_000
LEAK_SAMPLE = 20_000
LEAK_SCORE = 0.99
ID_NAME = re.compile(r"(^|_|\b)(id|uuid|guid|key|index|row|record)(_|\b|$)|Id$|ID$", re.I)


def _kind(s: pd.Series, n: int) -> str:
    non_null = s.dropna()
    unique = non_null.nunique()
    if unique <= 1:
        return "constant"
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    if pd.api.types.is_numeric_dtype(s):
        if ID_NAME.search(str(s.name)) and unique > 0.95 * len(non_null) and pd.api.types.is_integer_dtype(s):
            return "id"
        return "numeric"
    text = non_null.astype(str)
    sample = text.head(500)
    if sample.str.match(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}").mean() > 0.8 or \
            sample.str.match(r"^\s*\d{4}-\d{2}-\d{2}[T ]").mean() > 0.8:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
        if parsed.notna().mean() > 0.9:
            return "datetime"
    if unique > 0.95 * len(non_null) and (ID_NAME.search(str(s.name)) or sample.str.len().std() < 1.0):
        return "id"
    if sample.str.len().mean() > 30 and sample.str.count(" ").mean() >= 3 and unique > 0.3 * len(non_null):
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


def _single_column_score(x: pd.Series, y: pd.Series, kind: str, task: str, seed: int) -> float | None:
    """CV score of a small tree (or category lookup) on one column: near-perfect means leakage."""
    if kind in ("numeric", "boolean", "id"):
        xv = pd.to_numeric(x, errors="coerce").astype(float)
        fill = (xv.min() - 1) if xv.notna().any() else 0.0
        X = xv.fillna(fill).to_numpy().reshape(-1, 1)
    elif kind == "categorical" and x.nunique() < 0.5 * len(x):
        X = pd.Series(pd.factorize(x.astype(str))[0]).to_numpy().reshape(-1, 1)
    else:
        return None
    try:
        if task == "regression":
            model = DecisionTreeRegressor(max_leaf_nodes=32, random_state=seed)
            return float(cross_val_score(model, X, y.astype(float), cv=KFold(3, shuffle=True, random_state=seed),
                                         scoring="r2").mean())
        model = DecisionTreeClassifier(max_leaf_nodes=32, random_state=seed)
        counts = y.value_counts()
        cv = StratifiedKFold(3, shuffle=True, random_state=seed) if counts.min() >= 3 else KFold(3, shuffle=True, random_state=seed)
        return float(cross_val_score(model, X, y.astype(str), cv=cv, scoring="balanced_accuracy").mean())
    except ValueError:
        return None


def profile_frame(X: pd.DataFrame, y: pd.Series, target: str, task: str, seed: int = 0) -> ProfileResult:
    """Profile the training features and target (pure function; the phase wraps it)."""
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
    for col in X.columns:
        s = X[col]
        kind = _kind(sample_X[col], n)
        missing = int(s.isna().sum())
        cp = ColumnProfile(name=col, dtype=str(s.dtype), kind=kind, missing=missing,
                           missing_pct=round(100.0 * missing / max(n, 1), 2), unique=int(sample_X[col].nunique()),
                           sample_values=[str(v)[:60] for v in s.dropna().unique()[:5]])
        if kind == "numeric":
            v = sample_X[col].astype(float)
            cp.stats = {k: float(val) for k, val in
                        {"mean": v.mean(), "std": v.std(), "min": v.min(), "max": v.max(), "median": v.median(),
                         "skew": v.skew()}.items() if pd.notna(val)}
        if kind in ("numeric", "boolean", "categorical"):
            assoc = _association(sample_X[col], sample_y, kind, task)
            cp.target_association = None if assoc is None or np.isnan(assoc) else round(float(assoc), 4)
        result.columns.append(cp)
        {"constant": result.constant_columns, "id": result.id_like_columns, "datetime": result.date_columns,
         "text": result.text_columns}.get(kind, []).append(col)
    if task != "regression":
        counts = y.astype(str).value_counts()
        result.class_balance = {str(k): int(v) for k, v in counts.items()}
    result.leakage_suspects = _leakage(sample_X, sample_y, result, task, seed)
    numeric = [c.name for c in result.columns if c.kind == "numeric"][:40]
    if len(numeric) >= 2:
        corr = sample_X[numeric].astype(float).corr().abs()
        pairs = corr.where(np.triu(np.ones(corr.shape, dtype=bool), 1)).stack().sort_values(ascending=False)
        result.top_correlations = [{"a": a, "b": b, "r": round(float(r), 4)} for (a, b), r in pairs.head(10).items()]
    return result


def _leakage(X: pd.DataFrame, y: pd.Series, profile: ProfileResult, task: str, seed: int) -> list[dict]:
    suspects = []
    if len(X) > LEAK_SAMPLE:
        idx = np.sort(np.random.default_rng(seed + 1).choice(len(X), LEAK_SAMPLE, replace=False))
        X, y = X.iloc[idx], y.iloc[idx]
    ranked = sorted(profile.columns, key=lambda c: -(c.target_association or 0))
    candidates = [c for c in ranked if c.kind in ("numeric", "boolean", "categorical")][:60]
    candidates += [c for c in profile.columns if c.kind == "id"]
    for cp in candidates:
        score = _single_column_score(X[cp.name], y, cp.kind, task, seed)
        if score is not None and score >= LEAK_SCORE:
            what = "an ID that" if cp.kind == "id" else "a single column that"
            label = "R²" if task == "regression" else "balanced accuracy"
            suspects.append({"column": cp.name, "score": round(score, 4),
                             "reason": f"{what} alone predicts the target with CV {label} {score:.3f}."})
    return suspects


def run(state: RunState, ctx: PhaseContext) -> ProfileResult:
    split = ctx.split
    profile = profile_frame(split.X_train, split.y_train, state.config.target or "", state.profile.task or "",
                            state.config.seed)
    profile.n_rows = len(split.X_train) + len(split.X_holdout)
    profile.findings_md = ctx.brain.profile_summary(profile, state.objective)
    profile.summary = (f"{profile.n_rows:,} rows ({len(split.X_train):,} for training and CV, "
                       f"{len(split.X_holdout):,} locked as holdout), {profile.n_cols} columns.")
    return profile

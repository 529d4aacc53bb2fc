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
from scipy.stats import rankdata

from pipeline.ml.leak_notes import excluded, leakage_note, leakage_summary
from pipeline.ml.leakage import find_leaks
from pipeline.run.context import PhaseContext
from pipeline.state import ColumnProfile, ProfileResult, RunState

PROFILE_SAMPLE = 100_000
PROFILE_SHARE = 0.08  # the per-column checks may use this much of the run's budget
PROFILE_MIN_SECONDS = 2.0
RARE_LEVEL_ROWS = 5  # categories with fewer rows are one group when measuring association
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
    if (
        sample.str.match(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}").mean() > 0.8
        or sample.str.match(r"^\s*\d{4}-\d{2}-\d{2}[T ]").mean() > 0.8
    ):
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


def _association(x: pd.Series, y: pd.Series, kind: str, task: str, y_order: np.ndarray | None = None) -> float | None:
    """|Spearman| for numeric pairs, correlation ratio (eta) or Cramér's V otherwise; 0..1.

    `y_order`: what a numeric column is correlated with, computed once for the whole target (its ranks for
    regression, its class codes otherwise; used for columns without missing values). A pandas rank and corr per
    column cost ~70 ms at 100,000 rows, most of the profile of a 36-column table."""
    try:
        mask = x.notna() & y.notna()
        kept = int(mask.sum())
        if kept < 10:
            return None
        whole = kept == len(x)
        if not whole:
            x, y = x[mask], y[mask]
        if kind in ("numeric", "boolean"):
            xn = x.to_numpy(dtype=float, na_value=np.nan)
            if task == "multiclass":
                codes = y_order if whole and y_order is not None else pd.factorize(y.astype(str))[0]
                return _eta(codes, xn)
            if whole and y_order is not None:
                other = y_order
            elif task == "regression":
                other = rankdata(y.to_numpy(dtype=float))
            else:
                other = pd.factorize(y)[0].astype(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                return float(abs(np.corrcoef(rankdata(xn), other)[0, 1]))
        if kind == "categorical":
            x = _rare_levels_grouped(x.astype(str))
            if task == "regression":
                return _eta(pd.factorize(x)[0], y.to_numpy(dtype=float))
            table = pd.crosstab(x, y.astype(str))
            if min(table.shape) < 2:
                return 0.0
            observed = table.to_numpy(dtype=float)
            expected = observed.sum(1, keepdims=True) * observed.sum(0, keepdims=True) / observed.sum()
            chi2 = ((observed - expected) ** 2 / np.where(expected == 0, 1, expected)).sum()
            return float(np.sqrt(chi2 / observed.sum() / (min(table.shape) - 1)))
    except (ValueError, TypeError):
        return None
    return None


def _target_order(y: pd.Series, task: str) -> np.ndarray | None:
    """The target as `_association` correlates with it, for the rows where it is present throughout."""
    try:
        if task == "regression":
            return rankdata(y.to_numpy(dtype=float))
        if task == "multiclass":
            return pd.factorize(y.astype(str))[0]
        return pd.factorize(y)[0].astype(float)
    except (ValueError, TypeError):
        return None


def _rare_levels_grouped(x: pd.Series) -> pd.Series:
    """Levels seen fewer than RARE_LEVEL_ROWS times merged into one. A level with one row "predicts" its own
    target exactly, so a mostly-unique column (film titles) scored 0.99, top of the predictors, while it tells
    nothing about a new row: the model codes those levels as one group too."""
    counts = x.value_counts()
    rare = counts.index[counts < RARE_LEVEL_ROWS]
    return x.where(~x.isin(rare), "\0rare") if len(rare) else x


def _eta(groups: np.ndarray, values: np.ndarray) -> float:
    """Correlation ratio of `values` over integer group codes, with numpy's bincount."""
    v = np.asarray(values, dtype=float)
    overall = v.mean()
    total = ((v - overall) ** 2).sum()
    if total == 0:
        return 0.0
    counts = np.bincount(groups)
    present = counts > 0
    means = np.bincount(groups, weights=v)[present] / counts[present]
    return float(np.sqrt(((means - overall) ** 2 * counts[present]).sum() / total))


def profile_frame(
    X: pd.DataFrame,
    y: pd.Series,
    target: str,
    task: str,
    seed: int = 0,
    deadline: float | None = None,
    keep: list[str] | None = None,
) -> ProfileResult:
    """Profile the training features and target (pure function; the phase wraps it).

    Past `deadline` (time.monotonic), the per-column association and leakage checks stop and the
    result says for how many columns they ran. Leakage suspects named in `keep` are reported as kept by the
    user (pipeline.ml.leakage); the others are excluded from the features."""
    n = len(X)
    result = ProfileResult(n_rows=n, n_cols=X.shape[1] + 1, target=target, task=task)
    sample_X, sample_y = X, y
    if n > PROFILE_SAMPLE:
        idx = np.random.default_rng(seed).choice(n, PROFILE_SAMPLE, replace=False)
        sample_X, sample_y = X.iloc[np.sort(idx)], y.iloc[np.sort(idx)]
        result.sample_note = (
            f"Associations, duplicates and leakage checks use a uniform random sample of "
            f"{PROFILE_SAMPLE:,} of the {n:,} training rows (seed {seed})."
        )
    try:
        result.duplicates = int(sample_X.assign(__y=sample_y.to_numpy()).duplicated().sum())
    except TypeError:
        result.duplicates = 0
    missing_counts, sample_missing, uniques = X.isna().sum(), sample_X.isna().sum(), sample_X.nunique()
    kinds = {
        col: _kind(sample_X[col], int(uniques[col]), len(sample_X) - int(sample_missing[col])) for col in X.columns
    }
    stats = _numeric_stats(sample_X[[c for c, k in kinds.items() if k == "numeric"]])
    y_order = _target_order(sample_y, task) if sample_y.notna().all() else None
    for col in X.columns:
        kind, missing = kinds[col], int(missing_counts[col])
        cp = ColumnProfile(
            name=col,
            dtype=str(X[col].dtype),
            kind=kind,
            missing=missing,
            missing_pct=round(100.0 * missing / max(n, 1), 2),
            unique=int(uniques[col]),
            sample_values=_first_values(X[col], sample_X[col]),
            stats=stats.get(col, {}),
        )
        if kind in ("numeric", "boolean", "categorical") and not _past(deadline):
            assoc = _association(sample_X[col], sample_y, kind, task, y_order)
            cp.target_association = None if assoc is None or np.isnan(assoc) else round(float(assoc), 4)
        result.columns.append(cp)
        {
            "constant": result.constant_columns,
            "id": result.id_like_columns,
            "datetime": result.date_columns,
            "text": result.text_columns,
        }.get(kind, []).append(col)
    if task != "regression":
        counts = y.astype(str).value_counts()
        result.class_balance = {str(k): int(v) for k, v in counts.items()}
    leaks = find_leaks(sample_X, sample_y, result.columns, task, seed, deadline, keep)
    result.leakage_suspects, result.leakage_note = leaks.suspects, leakage_note(leaks.suspects)
    short = []
    if leaks.checked < leaks.total:
        short.append(f"the leakage checks for {leaks.checked} of {leaks.total} candidate columns")
    if leaks.not_compared:
        short.append(
            f"no comparison with the other columns for {leaks.not_compared} strong column"
            + ("s" if leaks.not_compared > 1 else "")
        )
    if short:
        result.sample_note = (result.sample_note + " " if result.sample_note else "") + (
            f"The time budget allowed {' and '.join(short)}."
        )
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


def run(state: RunState, ctx: PhaseContext) -> ProfileResult:
    split = ctx.split
    deadline = ctx.budget.share_deadline(PROFILE_SHARE, PROFILE_MIN_SECONDS)
    wall, cpu = time.monotonic(), time.thread_time()
    keep = list(getattr(state.config, "keep_columns", None) or [])
    profile = profile_frame(
        split.X_train,
        split.y_train,
        state.config.target or "",
        state.profile.task or "",
        state.config.seed,
        deadline,
        keep,
    )
    ctx.budget.observe_cpu(time.thread_time() - cpu, time.monotonic() - wall)  # single-threaded numpy/pandas work
    if ctx.budget.slowdown > 1.0:
        state.notes.append(
            f"The machine was busy: profiling got about {1 / ctx.budget.slowdown:.0%} of a CPU, so "
            f"{ctx.budget.finish_reserve():.0f} s of the time budget are kept for the final "
            "evaluation and export instead of the usual "
            f"{ctx.budget.idle_reserve():.0f} s."
        )
    profile.n_rows = len(split.X_train) + len(split.X_holdout)
    findings = ctx.brain.profile_summary(profile, state.objective)
    # the leakage warning leads the findings whatever the brain wrote
    profile.findings_md = f"{profile.leakage_note}\n\n{findings}" if profile.leakage_note else findings
    profile.summary = (
        f"{profile.n_rows:,} rows ({len(split.X_train):,} for training and CV, "
        f"{len(split.X_holdout):,} locked as holdout), {profile.n_cols} columns."
    )
    said = leakage_summary(profile.leakage_suspects)
    if said:
        profile.summary += " " + said
        state.notes.append(
            said
            + (
                " See the data profile for why; keep a column with --keep-columns if it is known before the outcome."
                if excluded(profile.leakage_suspects)
                else ""
            )
        )
    unknown = [c for c in keep if c not in split.X_train.columns]
    if unknown:
        state.notes.append(
            f"Asked to keep column(s) {', '.join(unknown)}, which the table does not have (as a "
            "feature); nothing to keep there."
        )
    return profile

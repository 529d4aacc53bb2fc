"""Before the first phase: read the table, check the target can be learned, lock the holdout, pick the brain."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import heap
from pipeline.brains import make_brain
from pipeline.brains.base import Brain
from pipeline.ml.cv import make_folds
from pipeline.ml.objective import finalise_objective
from pipeline.run.context import DataSplit
from pipeline.run.store import new_run_id
from pipeline.state import RunConfig, RunState
from pipeline.tables.reader import (
    DataError,
    feature_frame,
    infer_target,
    infer_task,
    read_table,
    validate_target,
)

POSITIVE_WORDS = {"1", "true", "yes", "y", "positive", "pos", "churn", "churned", "fraud", "default", "spam", "1.0"}


@dataclasses.dataclass
class PreparedRun:
    """Everything decided before the first phase: the data is readable and the target is learnable."""

    state: RunState
    split: DataSplit
    brain: Brain
    start: str = "profiler"  # where the graph walk begins ("end": straight to finalize, on resume)
    budget_s: float | None = None  # a resumed run gets what is left of its budget
    started_at: float | None = None  # time.monotonic() the budget counts from (the CLI: process start)


def _normalise_types(X: pd.DataFrame) -> pd.DataFrame:
    """Object columns with mixed Python types become text so Parquet and encoders accept them."""
    for col in X.columns:
        if X[col].dtype == object:
            kinds = {type(v) for v in X[col].dropna().head(5000)}
            if len(kinds) > 1 or (kinds and not kinds <= {str}):
                X[col] = X[col].map(lambda v: v if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    return X


def _labels(y: pd.Series, task: str) -> pd.Series:
    if task == "regression":
        return pd.to_numeric(y, errors="coerce").astype(float)
    kinds = {type(v) for v in y.head(5000)}
    if pd.api.types.is_float_dtype(y) and np.all(np.mod(y.to_numpy(dtype=float), 1) == 0):
        return y.astype(np.int64)
    if len(kinds) > 1 or pd.api.types.is_string_dtype(y):
        return y.astype(str).astype(object)
    return y


def _positive_index(classes: list[Any], y: pd.Series, named: str | None) -> int:
    if len(classes) != 2:
        return 1
    words = [str(c).strip().lower() for c in classes]
    if named and named.lower() in words:
        return words.index(named.lower())
    for i, w in enumerate(words):
        if w in POSITIVE_WORDS:
            return i
    counts = y.value_counts()
    return classes.index(counts.idxmin())


def prepare(config: RunConfig, secrets: dict[str, str] | None = None, run_id: str | None = None) -> PreparedRun:
    """Read and check the data, resolve target/task/metric, and lock the holdout. Raises DataError."""
    df = read_table(config.data_path)
    if len(df) < 2:
        raise DataError("The table has a single data row; at least 20 rows are needed to learn anything.")
    brain = make_brain(config, secrets or {})
    objective = brain.read_objective(config.objective, [str(c) for c in df.columns])
    target = infer_target(df, config.target or objective.target)
    before = len(df)
    df = df[df[target].notna()].reset_index(drop=True)
    task = infer_task(df[target], config.task)
    validate_target(df, target, task)
    objective = finalise_objective(objective, task)
    X = _normalise_types(feature_frame(df, target))
    y = _labels(df[target], task)
    holdout = min(max(config.holdout_fraction, 0.05), 0.5)
    rng = np.random.default_rng(config.seed)
    if task == "regression":
        order = rng.permutation(len(df))
        n_hold = max(1, int(round(holdout * len(df))))
        hold_idx, train_idx = np.sort(order[:n_hold]), np.sort(order[n_hold:])
    else:
        from sklearn.model_selection import train_test_split

        train_idx, hold_idx = train_test_split(
            np.arange(len(df)), test_size=holdout, random_state=config.seed, stratify=y.astype(str)
        )
        train_idx, hold_idx = np.sort(train_idx), np.sort(hold_idx)
    X_train, y_train = X.iloc[train_idx].reset_index(drop=True), y.iloc[train_idx].reset_index(drop=True)
    X_hold, y_hold = X.iloc[hold_idx].reset_index(drop=True), y.iloc[hold_idx].reset_index(drop=True)
    classes = None if task == "regression" else sorted(pd.unique(y), key=lambda v: (str(type(v)), v))
    classes = [c.item() if isinstance(c, np.generic) else c for c in classes] if classes is not None else None
    split = DataSplit(
        X_train=X_train,
        y_train=y_train,
        X_holdout=X_hold,
        y_holdout=y_hold,
        folds=make_folds(y_train, task, config.cv_folds, config.seed),
        classes=classes,
        positive_index=_positive_index(classes, y_train, objective.positive_class) if classes else 1,
        raw_dtypes={c: str(t) for c, t in X.dtypes.items()},
    )
    requested = config.brain
    config = dataclasses.replace(
        config,
        target=target,
        task=task,
        dataset_name=config.dataset_name or Path(config.data_path).name,
        brain=brain.name,
        model=brain.model,
    )
    state = RunState(run_id=run_id or new_run_id(), config=config, objective=objective)
    state.profile.target, state.profile.task = target, task
    if before != len(df):
        state.notes.append(f"{before - len(df):,} rows without a target value were left out.")
    if brain.name != requested:
        why = brain.unavailable_reason
        state.notes.append(f"Brain: {brain.name}" + (f" ({requested} requested: {why})." if why else "."))
    del df, X, y
    heap.give_back_free_memory()  # parsing a 228 MB CSV leaves ~580 MB of free heap pages behind until a trim
    return PreparedRun(state=state, split=split, brain=brain)

"""Score new data with a finished run's model; the feature code runs in the sandbox, like in training."""

from __future__ import annotations

import tempfile
from pathlib import Path

import joblib
import pandas as pd

import sandbox
from pipeline.ml.runtime import MissingColumnsError, TabularModel
from pipeline.tables.reader import DataError, read_table

PREDICT_HARNESS = """
import pandas as pd
frame = pd.read_parquet("input.parquet")
out = user["transform"](frame.copy())
if not isinstance(out, pd.DataFrame) or len(out) != len(frame):
    raise ValueError("the feature code did not return one row per input row")
out = out.reset_index(drop=True)
out.columns = [str(c) for c in out.columns]
out.to_parquet("features.parquet")
"""


def load_model(run_dir: str | Path) -> TabularModel:
    path = Path(run_dir) / "model.joblib"
    if not path.is_file():
        raise DataError(f"{run_dir} holds no finished model (model.joblib is missing).")
    return joblib.load(path)


def sandboxed_features(code: str, frame: pd.DataFrame, timeout_s: float = 300) -> pd.DataFrame:
    """Run feature code on `frame` in a fresh sandbox child and read the result back. Success is what this process
    verifies itself (a readable table with one row per input row), not what the child says; the workdir is
    removed however the child left it."""
    work = Path(tempfile.mkdtemp(prefix="mlp-predict-"))
    try:
        frame.to_parquet(work / "input.parquet")
        result = sandbox.Executor(work, timeout_s=timeout_s).run(code, harness=PREDICT_HARNESS)
        if not result.ok:
            raise DataError(f"The feature code failed on this data: {result.error_type}: {result.error}")
        try:
            features = pd.read_parquet(work / "features.parquet")
        except (OSError, ValueError) as exc:
            raise DataError(f"The feature code left no readable features: {exc}") from None
        if len(features) != len(frame):
            raise DataError(f"The feature code returned {len(features):,} rows for {len(frame):,} input rows.")
        return features
    finally:
        sandbox.remove_tree(work)


def predict_frame(model: TabularModel, frame: pd.DataFrame) -> pd.DataFrame:
    """`prediction` (+ `proba_<class>`) for every input row, in input order."""
    try:
        aligned = model.align(frame)
    except MissingColumnsError as exc:
        raise DataError(str(exc)) from None
    features = sandboxed_features(model.feature_code, aligned) if model.feature_code.strip() else aligned
    return model.prediction_frame(features)


def predict_file(run_dir: str | Path, data_path: str | Path) -> pd.DataFrame:
    model = load_model(run_dir)
    frame = read_table(data_path)
    if model.target in frame.columns:
        frame = frame.drop(columns=[model.target])
    return predict_frame(model, frame)

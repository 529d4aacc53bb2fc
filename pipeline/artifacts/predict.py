"""Score new data with a finished run's model; the feature code runs in the sandbox, like in training."""

from __future__ import annotations

from pathlib import Path

import joblib
import pandas as pd

from pipeline.ml.runtime import FeatureCodeError, MissingColumnsError, TabularModel
from pipeline.tables.reader import DataError, read_table


def load_model(run_dir: str | Path) -> TabularModel:
    path = Path(run_dir) / "model.joblib"
    if not path.is_file():
        raise DataError(f"{run_dir} holds no finished model (model.joblib is missing).")
    return joblib.load(path)


def predict_frame(model: TabularModel, frame: pd.DataFrame) -> pd.DataFrame:
    """`prediction` (+ `proba_<class>`) for every input row, in input order."""
    try:
        features = model.features(frame)
    except (MissingColumnsError, FeatureCodeError) as exc:
        raise DataError(str(exc)) from None
    return model.prediction_frame(features)


def predict_file(run_dir: str | Path, data_path: str | Path) -> pd.DataFrame:
    model = load_model(run_dir)
    frame = read_table(data_path)
    if model.target in frame.columns:
        frame = frame.drop(columns=[model.target])
    return predict_frame(model, frame)

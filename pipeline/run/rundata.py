"""The run's artefacts that run.json cannot hold: the feature frames in force, each iteration's fitted model and
holdout predictions. One owner keeps them in memory for the phases and on disk for a resume; phases hand them
over (`keep_*`) and read them here, and nothing else writes or reads their files."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from pipeline.files import write_json
from pipeline.state import RunState


@dataclass
class FeatureSet:
    """The engineered frames currently in force, with the code that made them."""

    code: str
    train: pd.DataFrame
    holdout: pd.DataFrame
    required_columns: list[str]
    quick_cv: float | None = None
    quick_cost: float | None = None  # seconds per row of the quick CV: the trainer sizes its screening from it


class RunData:
    """In memory: `features`, `models` and `holdout_predictions` by iteration. On disk, under the run directory:
    data/features_{train,holdout}.parquet + features_meta.json, models/iterN.joblib, data/holdout_predictions_iterN.parquet.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.features: FeatureSet | None = None
        self.models: dict[int, Any] = {}
        self.holdout_predictions: dict[int, pd.DataFrame] = {}
        self._saved_features: FeatureSet | None = None

    def keep_features(self, features: FeatureSet) -> None:
        """The feature set now in force (saved at the next checkpoint)."""
        self.features = features

    def keep_model(self, iteration: int, model: Any) -> str:
        """The iteration's fitted model, saved at once; returns its path relative to the run directory."""
        path = self.run_dir / "models" / f"iter{iteration}.joblib"
        path.parent.mkdir(exist_ok=True)
        joblib.dump(model, path)
        self.models[iteration] = model
        return str(path.relative_to(self.run_dir))

    def keep_holdout_predictions(self, iteration: int, frame: pd.DataFrame) -> None:
        """The iteration's holdout predictions (saved at the next checkpoint): finalize writes the chosen one."""
        self.holdout_predictions[iteration] = frame

    def release(self, iteration: int, model: Any) -> None:
        """Drop everything but `model` (the delivered iteration's): its refit on every row needs the memory."""
        self.features, self._saved_features = None, None
        self.models = {iteration: model}

    def persist(self) -> None:
        """Write what a resume needs and is not on disk yet; called at every checkpoint. A frame parquet cannot hold
        is left out (the resume then re-runs the phase that made it)."""
        data = self.run_dir / "data"
        try:
            if self.features is not None and self._saved_features is not self.features:
                self.features.train.to_parquet(data / ".features_train.tmp")
                self.features.holdout.to_parquet(data / ".features_holdout.tmp")
                meta = {
                    "code": self.features.code,
                    "quick_cv": self.features.quick_cv,
                    "required_columns": self.features.required_columns,
                }
                write_json(data / ".features_meta.tmp", meta)
                for name in ("features_train", "features_holdout"):
                    os.replace(data / f".{name}.tmp", data / f"{name}.parquet")
                os.replace(data / ".features_meta.tmp", data / "features_meta.json")
                self._saved_features = self.features
        except Exception:
            (data / "features_meta.json").unlink(missing_ok=True)
        for it, frame in self.holdout_predictions.items():
            path = data / f"holdout_predictions_iter{it}.parquet"
            if not path.exists():
                try:
                    frame.to_parquet(path)
                except Exception:
                    path.unlink(missing_ok=True)

    def restore(self, state: RunState) -> None:
        """Read back what `persist` and `keep_model` wrote for the iterations `state` knows."""
        data = self.run_dir / "data"
        meta_path = data / "features_meta.json"
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
            self.features = FeatureSet(
                code=meta["code"],
                train=pd.read_parquet(data / "features_train.parquet"),
                holdout=pd.read_parquet(data / "features_holdout.parquet"),
                required_columns=list(meta["required_columns"]),
                quick_cv=meta.get("quick_cv"),
            )
            self._saved_features = self.features
        paths = {s.iteration: s.model_path for s in state.iterations if s.model_path}
        if state.training.model_path:
            paths.setdefault(state.iteration, state.training.model_path)
        for it, rel in paths.items():
            if (self.run_dir / rel).is_file():
                self.models[it] = joblib.load(self.run_dir / rel)  # our own trainer's file, in our own run directory
        for it in {s.iteration for s in state.iterations}:
            path = data / f"holdout_predictions_iter{it}.parquet"
            if path.exists():
                self.holdout_predictions[it] = pd.read_parquet(path)

"""How the Model Trainer scores out-of-fold predictions: the run's metric, with the decision threshold tuned when
the objective asks, exactly as tune-workers score their trials (pipeline.ml.tuning)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from pipeline.brains.base import CandidateSpec, ModelPlan
from pipeline.ml.tuning import TuningJob, score_oof
from pipeline.run.context import PhaseContext
from pipeline.state import RunState


def tuning_job(
    state: RunState,
    ctx: PhaseContext,
    spec: CandidateSpec | None = None,
    plan: ModelPlan | None = None,
    seconds: float = 0.0,
) -> TuningJob:
    """The run's tuning facts in the form tune-workers read (ml.tuning): task, metric, classes, deadline."""
    split, obj = ctx.split, state.objective
    return TuningJob(
        study_name=f"{state.run_id}-it{state.iteration}",
        family=spec.family if spec else "",
        base_params=dict(spec.params) if spec else {},
        search_space=dict(spec.search_space) if spec else {},
        class_weight=plan.class_weight if plan else None,
        seed=state.config.seed,
        task=state.profile.task,
        metric=obj.metric,
        greater_is_better=obj.greater_is_better,
        tune_threshold=obj.tune_threshold,
        classes=split.classes,
        positive_index=split.positive_index,
        deadline_unix=time.time() + seconds,
        max_trials=state.config.max_trials,
    )


def cv_scores(
    y: pd.Series, oof: np.ndarray, state: RunState, ctx: PhaseContext, rows: np.ndarray | None = None
) -> tuple[dict[str, float], float | None]:
    """Metrics of out-of-fold predictions, and the decision threshold tuned on them when the objective asks."""
    return score_oof(tuning_job(state, ctx), y, oof, rows)

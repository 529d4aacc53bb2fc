"""Pick an interrupted run up where it stopped: what a resume needs beyond run.json is saved after every phase
and read back here, and the data is split again exactly as before."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from pipeline.engine import graph
from pipeline.engine.prepare import PreparedRun, prepare
from pipeline.files import write_json
from pipeline.run.context import PhaseContext
from pipeline.run.delivery import refit_estimate
from pipeline.state import CANCELLED, FAILED, INTERRUPTED, LIVE_STATUSES, RunState
from pipeline.tables.reader import DataError

RESUMABLE = (INTERRUPTED, *LIVE_STATUSES, CANCELLED, FAILED)


PER_ITERATION_FRAMES = ("holdout_predictions",)   # what finalize reads per iteration


def persist_context(ctx: PhaseContext, run_dir: Path) -> None:
    """What a resume needs beyond run.json: the feature set in force and each iteration's holdout predictions
    (the models are already saved as models/iterN.joblib by the trainer). Written after every phase."""
    data = run_dir / "data"
    try:
        if ctx.features is not None and getattr(ctx, "_saved_features", None) is not ctx.features:
            ctx.features.train.to_parquet(data / ".features_train.tmp")
            ctx.features.holdout.to_parquet(data / ".features_holdout.tmp")
            write_json(data / ".features_meta.tmp", {"code": ctx.features.code, "quick_cv": ctx.features.quick_cv,
                                                    "required_columns": ctx.features.required_columns})
            for name in ("features_train", "features_holdout"):
                os.replace(data / f".{name}.tmp", data / f"{name}.parquet")
            os.replace(data / ".features_meta.tmp", data / "features_meta.json")
            ctx._saved_features = ctx.features
    except Exception:  # a feature frame parquet cannot hold: the resume re-runs the features phase instead
        (data / "features_meta.json").unlink(missing_ok=True)
    for attr in PER_ITERATION_FRAMES:
        for it, frame in (getattr(ctx, attr, None) or {}).items():
            path = data / f"{attr}_iter{it}.parquet"
            if not path.exists():
                try:
                    frame.to_parquet(path)
                except Exception:
                    path.unlink(missing_ok=True)


def restore_context(ctx: PhaseContext, state: RunState, run_dir: Path) -> None:
    import joblib

    from pipeline.run.context import FeatureSet

    data = run_dir / "data"
    meta_path = data / "features_meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        ctx.features = FeatureSet(code=meta["code"], train=pd.read_parquet(data / "features_train.parquet"),
                                  holdout=pd.read_parquet(data / "features_holdout.parquet"),
                                  required_columns=list(meta["required_columns"]), quick_cv=meta.get("quick_cv"))
        ctx._saved_features = ctx.features
    paths = {s.iteration: s.model_path for s in state.iterations if s.model_path}
    if state.training.model_path:
        paths.setdefault(state.iteration, state.training.model_path)
    for it, rel in paths.items():
        if (run_dir / rel).is_file():
            ctx.models[it] = joblib.load(run_dir / rel)   # our own trainer's file, in our own run directory
    n_all = len(ctx.split.X_train) + len(ctx.split.X_holdout)
    estimates = [refit_estimate(s.refit_seconds, s.refit_rows, n_all) for s in state.iterations if s.refit_rows]
    if state.config.refit_full and estimates:   # the delivered model's refit keeps its time after a resume too
        ctx.budget.final_refit_s = max(estimates)
    for attr in PER_ITERATION_FRAMES:
        frames = getattr(ctx, attr, None)
        for it in {s.iteration for s in state.iterations}:
            path = data / f"{attr}_iter{it}.parquet"
            if frames is not None and path.exists():
                frames[it] = pd.read_parquet(path)


def prepare_resume(run_dir: str | Path, secrets: dict[str, str] | None = None) -> PreparedRun:
    """Pick an interrupted run up at its last completed phase. Raises DataError when it cannot be resumed.

    The data is read again from the recorded file and split with the recorded seed; the split must match
    the saved train_X.parquet exactly, so the locked holdout is the same one."""
    from pipeline.run.store import load_state

    run_dir = Path(run_dir)
    try:
        saved = load_state(run_dir)
    except (OSError, ValueError, KeyError):
        raise DataError(f"{run_dir} is not a run directory (no readable run.json).") from None
    if saved.status not in RESUMABLE:
        raise DataError(f"Run {saved.run_id} is {saved.status}; only interrupted, cancelled or failed runs can be resumed.")
    if not Path(saved.config.data_path).is_file():
        raise DataError(f"The run's data file {saved.config.data_path} is gone, so the run cannot be resumed.")
    fresh = prepare(saved.config, secrets, run_id=saved.run_id)
    try:
        train_X = pd.read_parquet(run_dir / "data" / "train_X.parquet")
    except Exception:
        raise DataError("The run stopped before its data split was saved; start it again instead.") from None
    if list(train_X.columns) != list(fresh.split.X_train.columns) or len(train_X) != len(fresh.split.X_train):
        raise DataError("The data file changed since the run started; start a new run instead.")
    state = saved
    start, done_s = "profiler", 0.0
    for record in state.history:
        if record.status == "done":
            done_s += record.duration_s or 0.0
    if state.history:
        last = state.history[-1]
        if last.status == "done":
            start = graph.next_phase(last.phase, state)
            if last.phase == "critic" and start != graph.END and state.iteration == last.iteration:
                state.iteration += 1      # the process died between the decision and its checkpoint
        else:
            start = last.phase
            state.iteration = last.iteration
            state.history.pop()
    if start in ("evaluator", "critic") and not state.training.model_path:
        start = "trainer"
    where = "finalize" if start == graph.END else f"{start} (iteration {state.iteration})"
    budget = max(saved.config.time_budget_s - done_s, 0.3 * saved.config.time_budget_s, 10.0)
    state.status, state.error, state.error_detail, state.finished_at = "running", "", "", None
    state.notes.append(f"Resumed at {where} after the run was {saved.status}; {budget:.0f} s of budget given.")
    return PreparedRun(state=state, split=fresh.split, brain=fresh.brain, start=start, budget_s=budget)

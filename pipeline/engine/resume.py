"""Pick an interrupted run up where it stopped: what a resume needs beyond run.json is saved after every phase
and read back here, and the data is split again exactly as before."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.engine import graph
from pipeline.engine.prepare import PreparedRun, prepare
from pipeline.run.context import PhaseContext
from pipeline.run.delivery import refit_estimate
from pipeline.state import CANCELLED, FAILED, INTERRUPTED, LIVE_STATUSES, RunState
from pipeline.tables.reader import DataError

RESUMABLE = (INTERRUPTED, *LIVE_STATUSES, CANCELLED, FAILED)


def restore_context(ctx: PhaseContext, state: RunState) -> None:
    """The run data saved before the stop, and the delivered model's refit time measured then."""
    ctx.data.restore(state)
    n_all = len(ctx.split.X_train) + len(ctx.split.X_holdout)
    estimates = [refit_estimate(s.refit_seconds, s.refit_rows, n_all) for s in state.iterations if s.refit_rows]
    if state.config.refit_full and estimates:  # the delivered model's refit keeps its time after a resume too
        ctx.budget.final_refit_s = max(estimates)


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
        raise DataError(
            f"Run {saved.run_id} is {saved.status}; only interrupted, cancelled or failed runs can be resumed."
        )
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
                state.iteration += 1  # the process died between the decision and its checkpoint
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

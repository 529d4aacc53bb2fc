"""Run the graph: synchronously for the CLI, or in a background thread behind a `RunHandle` for the app.

The worker thread owns the live `RunState`; readers only ever get deep copies published under a
lock (`RunHandle.snapshot`), so a UI can poll from its own thread without seeing torn state.
"""
from __future__ import annotations

import copy
import dataclasses
import os
import shutil
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

import sandbox
from pipeline import graph
from pipeline.brains import make_brain
from pipeline.brains.offline import OfflineBrain
from pipeline.codegen import SNIPPET_TIMEOUT_S, CodeRunner
from pipeline.context import Budget, Cancelled, DataSplit, PhaseContext
from pipeline.cv import make_folds
from pipeline.data import DataError, feature_frame, infer_target, infer_task, read_table, validate_target
from pipeline.finalize import finalize
from pipeline.objective import finalise_objective
from pipeline.state import Event, RunConfig, RunState
from pipeline.store import RunStore, StoreError, default_home, new_run_id, write_json

POSITIVE_WORDS = {"1", "true", "yes", "y", "positive", "pos", "churn", "churned", "fraud", "default", "spam", "1.0"}
Listener = Callable[[Event, RunState], None]


@dataclasses.dataclass
class PreparedRun:
    """Everything decided before the first phase: the data is readable and the target is learnable."""

    state: RunState
    split: DataSplit
    brain: Any


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

        train_idx, hold_idx = train_test_split(np.arange(len(df)), test_size=holdout, random_state=config.seed,
                                               stratify=y.astype(str))
        train_idx, hold_idx = np.sort(train_idx), np.sort(hold_idx)
    X_train, y_train = X.iloc[train_idx].reset_index(drop=True), y.iloc[train_idx].reset_index(drop=True)
    X_hold, y_hold = X.iloc[hold_idx].reset_index(drop=True), y.iloc[hold_idx].reset_index(drop=True)
    classes = None if task == "regression" else sorted(pd.unique(y), key=lambda v: (str(type(v)), v))
    classes = [c.item() if isinstance(c, np.generic) else c for c in classes] if classes is not None else None
    split = DataSplit(X_train=X_train, y_train=y_train, X_holdout=X_hold, y_holdout=y_hold,
                      folds=make_folds(y_train, task, config.cv_folds, config.seed), classes=classes,
                      positive_index=_positive_index(classes, y_train, objective.positive_class) if classes else 1,
                      raw_dtypes={c: str(t) for c, t in X.dtypes.items()})
    requested = config.brain
    config = dataclasses.replace(config, target=target, task=task,
                                 dataset_name=config.dataset_name or Path(config.data_path).name,
                                 brain=brain.name, model=getattr(brain, "model", None))
    state = RunState(run_id=run_id or new_run_id(), config=config, objective=objective)
    state.profile.target, state.profile.task = target, task
    if before != len(df):
        state.notes.append(f"{before - len(df):,} rows without a target value were left out.")
    if brain.name != requested:
        why = getattr(brain, "unavailable_reason", "")
        state.notes.append(f"Brain: {brain.name}" + (f" ({requested} requested: {why})." if why else "."))
    return PreparedRun(state=state, split=split, brain=brain)


def checkpoint(state: RunState, run_dir: Path, store: RunStore | None) -> None:
    """Persist the state after every phase: run.json atomically, then the store row."""
    write_json(run_dir / "run.json", {"run_id": state.run_id, "status": state.status, "state": state.to_dict()})
    if store is not None:
        store.upsert(state, run_dir)


def execute(prepared: PreparedRun, run_dir: Path, store: RunStore | None = None, listener: Listener | None = None,
            cancel_event: threading.Event | None = None, publish: Callable[[RunState], None] | None = None) -> RunState:
    """Run the whole graph and finalize. Never raises for a failed or cancelled run: the state says so."""
    state, split = prepared.state, prepared.split
    cancel_event = cancel_event or threading.Event()
    run_dir = Path(run_dir)
    (run_dir / "data").mkdir(parents=True, exist_ok=True)
    split.X_train.to_parquet(run_dir / "data" / "train_X.parquet")
    split.X_holdout.to_parquet(run_dir / "data" / "holdout_X.parquet")
    state.status = "running"
    budget = Budget(state.config.time_budget_s)
    if hasattr(prepared.brain, "set_deadline"):   # LLM calls must not outlive the run's budget
        prepared.brain.set_deadline(budget.deadline)
    threading.Thread(target=sandbox.prewarm, daemon=True).start()  # zygote start-up overlaps profiling

    def emit(kind: str, phase: str = "", message: str = "", duration_s: float | None = None) -> None:
        event = Event(kind=kind, phase=phase, iteration=state.iteration, message=message, duration_s=duration_s)
        if listener is not None:
            listener(event, state)

    def publish_state() -> None:
        if publish is not None:
            publish(state)

    def record_code(entry: dict[str, Any]) -> None:
        state.code_log.append(entry)

    code_runner = CodeRunner(run_dir, record_code, timeout_s=_snippet_timeout())
    finished = threading.Event()
    watcher = threading.Thread(target=_cancel_watch, args=(cancel_event, finished, code_runner), daemon=True)
    watcher.start()
    ctx = PhaseContext(run_dir=run_dir, brain=prepared.brain, fallback=OfflineBrain(), code=code_runner, split=split,
                       budget=budget, emit=emit, publish=lambda: (_checkpoint_quietly(state, run_dir, store), publish_state()),
                       cancel_event=cancel_event, repair_attempts=getattr(prepared.brain, "repair_attempts", 2))
    emit("run_started", "", f"Run {state.run_id}: target {state.profile.target} ({state.profile.task}), "
                            f"metric {state.objective.metric}, budget {state.config.time_budget_s:.0f} s")
    try:
        checkpoint(state, run_dir, store)
        graph.walk(state, ctx)
        ctx.check_cancelled()
        finalize(state, ctx)
        state.status = "finished"
    except Cancelled:
        state.status, state.error = "cancelled", "Cancelled by the user."
    except StoreError as exc:
        state.status, state.error = "failed", str(exc)
    except Exception as exc:
        state.status = "failed"
        state.error = _plain_reason(exc)
        state.error_detail = traceback.format_exc(limit=8)[-4000:]
    finally:
        finished.set()
        state.finished_at = time.time()
        state.current_phase = ""
        state.usage = prepared.brain.usage()
        if state.status != "finished":
            for name in ("model.joblib", "metrics.json"):
                (run_dir / name).unlink(missing_ok=True)
        _checkpoint_quietly(state, run_dir, store)
        shutil.rmtree(run_dir / "work", ignore_errors=True)
        kind = {"finished": "run_finished", "cancelled": "run_cancelled"}.get(state.status, "run_failed")
        emit(kind, "", state.error or "Finished")
        publish_state()
    return state


def _snippet_timeout() -> float:
    """The cap on one generated snippet's wall clock (PIPELINE_SNIPPET_TIMEOUT_S lowers it, e.g. in tests)."""
    try:
        value = float(os.environ.get("PIPELINE_SNIPPET_TIMEOUT_S") or SNIPPET_TIMEOUT_S)
    except ValueError:
        value = SNIPPET_TIMEOUT_S
    return value if value > 0 else SNIPPET_TIMEOUT_S


def _cancel_watch(cancel: threading.Event, finished: threading.Event, code_runner: CodeRunner) -> None:
    """Kill the running sandbox child as soon as Stop is pressed (phases also check between steps)."""
    while not finished.is_set():
        if cancel.wait(0.2):
            code_runner.cancel()
            return


def _checkpoint_quietly(state: RunState, run_dir: Path, store: RunStore | None) -> None:
    try:
        checkpoint(state, run_dir, store)
    except (OSError, StoreError) as exc:
        note = f"Could not save progress: {exc}"
        if note not in state.notes:
            state.notes.append(note)


def _plain_reason(exc: Exception) -> str:
    if isinstance(exc, DataError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "The run ran out of memory; try a smaller file or a shorter time budget."
    return f"{type(exc).__name__}: {exc}"[:300]


class RunHandle:
    """A run seen from other threads: lock-protected snapshot, event list, cancel, queue position."""

    def __init__(self, run_id: str, run_dir: Path, state: RunState | None = None) -> None:
        self.run_id = run_id
        self.run_dir = run_dir
        self._lock = threading.Lock()
        self._state = copy.deepcopy(state) if state is not None else None
        self._events: list[Event] = []
        self.cancel_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.queue_position = 0

    def publish(self, state: RunState) -> None:
        snap = copy.deepcopy(state)
        with self._lock:
            self._state = snap

    def add_event(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def snapshot(self) -> RunState | None:
        with self._lock:
            return self._state

    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def done(self) -> bool:
        snap = self.snapshot()
        return snap is not None and snap.status in ("finished", "failed", "cancelled", "interrupted")


class Runner:
    """Process-wide registry of runs with a limit on how many run at once (the rest wait in order)."""

    def __init__(self, home: Path | None = None, max_concurrent: int = 2, store: RunStore | None = None) -> None:
        self.home = Path(home) if home else default_home()
        self.store = store or RunStore(self.home / "store.sqlite")
        self.store.mark_interrupted()
        self._slots = threading.Semaphore(max_concurrent)
        self._lock = threading.Lock()
        self._handles: dict[str, RunHandle] = {}
        self._queue: list[str] = []

    def start(self, prepared: PreparedRun) -> RunHandle:
        state = prepared.state
        run_dir = self.home / "runs" / state.run_id
        handle = RunHandle(state.run_id, run_dir, state)
        with self._lock:
            self._handles[state.run_id] = handle
            self._queue.append(state.run_id)
            self._update_positions()
        handle.thread = threading.Thread(target=self._work, args=(handle, prepared), name=f"run-{state.run_id}",
                                         daemon=True)
        handle.thread.start()
        return handle

    def _update_positions(self) -> None:
        for i, rid in enumerate(self._queue):
            self._handles[rid].queue_position = i + 1

    def _work(self, handle: RunHandle, prepared: PreparedRun) -> None:
        while not self._slots.acquire(timeout=0.2):
            if handle.cancel_event.is_set():
                prepared.state.status, prepared.state.error = "cancelled", "Cancelled before it started."
                prepared.state.finished_at = time.time()
                handle.publish(prepared.state)
                self._dequeue(handle)
                return
        self._dequeue(handle)
        try:
            def listener(event: Event, state: RunState) -> None:
                handle.add_event(event)
            execute(prepared, handle.run_dir, self.store, listener, handle.cancel_event, handle.publish)
        finally:
            self._slots.release()

    def _dequeue(self, handle: RunHandle) -> None:
        with self._lock:
            if handle.run_id in self._queue:
                self._queue.remove(handle.run_id)
            handle.queue_position = 0
            self._update_positions()

    def get(self, run_id: str) -> RunHandle | None:
        with self._lock:
            return self._handles.get(run_id)

    def running(self) -> list[RunHandle]:
        with self._lock:
            return [h for h in self._handles.values() if not h.done]

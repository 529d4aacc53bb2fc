"""Run the graph: synchronously for the CLI, or in a background thread behind a `RunHandle` for the app.

The worker thread owns the live `RunState`; readers only ever get deep copies published under a
lock (`RunHandle.snapshot`), so a UI can poll from its own thread without seeing torn state.
"""
from __future__ import annotations

import copy
import errno
import dataclasses
import json
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
from pipeline import graph, heap
from pipeline.brains import make_brain
from pipeline.brains.offline import OfflineBrain
from pipeline.codegen import SNIPPET_TIMEOUT_S, CodeRunner
from pipeline.context import Budget, Cancelled, DataSplit, PhaseContext
from pipeline.delivery import refit_estimate
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
    start: str = "profiler"          # where the graph walk begins ("end": straight to finalize, on resume)
    budget_s: float | None = None    # a resumed run gets what is left of its budget
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
    del df, X, y
    heap.give_back_free_memory()   # parsing a 228 MB CSV leaves ~580 MB of free heap pages behind until a trim
    return PreparedRun(state=state, split=split, brain=brain)


def checkpoint(state: RunState, run_dir: Path, store: RunStore | None) -> None:
    """Persist the state after every phase: run.json atomically, then the store row."""
    write_json(run_dir / "run.json", {"run_id": state.run_id, "status": state.status, "state": state.to_dict()})
    if store is not None:
        store.upsert(state, run_dir)


def execute(prepared: PreparedRun, run_dir: Path, store: RunStore | None = None, listener: Listener | None = None,
            cancel_event: threading.Event | None = None, publish: Callable[[RunState], None] | None = None,
            decide: Callable[..., Any] | None = None) -> RunState:
    """Run the whole graph and finalize. Never raises for a failed or cancelled run: the state says so.

    `decide(gate) -> (approve, feedback, by)` answers the approval gates in `state.config.gates` (blocking);
    without it they are approved automatically."""
    state, split = prepared.state, prepared.split
    cancel_event = cancel_event or threading.Event()
    run_dir = Path(run_dir)
    (run_dir / "data").mkdir(parents=True, exist_ok=True)
    split.X_train.to_parquet(run_dir / "data" / "train_X.parquet")
    split.X_holdout.to_parquet(run_dir / "data" / "holdout_X.parquet")
    state.status = "running"
    state.pending_gate = None        # a gate left open by a dead process is asked again when its phase re-runs
    budget = Budget(prepared.budget_s or state.config.time_budget_s, prepared.started_at)
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
                       budget=budget, emit=emit, publish=lambda: (_persist_context(ctx, run_dir),
                                                                  _checkpoint_quietly(state, run_dir, store), publish_state()),
                       cancel_event=cancel_event, repair_attempts=getattr(prepared.brain, "repair_attempts", 2),
                       decide=decide)
    if prepared.start != "profiler":
        _restore_context(ctx, state, run_dir)
    emit("run_started", "", f"Run {state.run_id}: target {state.profile.target} ({state.profile.task}), "
                            f"metric {state.objective.metric}, budget {state.config.time_budget_s:.0f} s")
    try:
        checkpoint(state, run_dir, store)
        if prepared.start != graph.END:
            graph.walk(state, ctx, start=prepared.start)
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


RESUMABLE = ("interrupted", "running", "queued", "cancelled", "failed")
PER_ITERATION_FRAMES = ("holdout_predictions",)   # what finalize reads per iteration


def _persist_context(ctx: PhaseContext, run_dir: Path) -> None:
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


def _restore_context(ctx: PhaseContext, state: RunState, run_dir: Path) -> None:
    import joblib

    from pipeline.context import FeatureSet

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
    from pipeline.store import load_state

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
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return ("The disk is full (or a file-size quota was reached) while writing the run's files; "
                "free some space and start the run again.")
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
        return f"The run's files cannot be written ({exc.strerror}); check the runs folder's permissions."
    return f"{type(exc).__name__}: {exc}"[:300]


class RunHandle:
    """A run seen from other threads: lock-protected snapshot, event list, cancel, queue position."""

    def __init__(self, run_id: str, run_dir: Path, state: RunState | None = None) -> None:
        self.run_id = run_id
        self.run_dir = run_dir
        self._lock = threading.Lock()
        self._state = copy.deepcopy(state) if state is not None else None
        self._version = 0                  # how many snapshots were published: pages redraw details on change
        self._events: list[Event] = []
        self.cancel_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.queue_position = 0
        self._gate_cond = threading.Condition()
        self._gate_answers: dict[str, tuple[bool, str]] = {}

    @property
    def pending_gate(self):
        snap = self.snapshot()
        return snap.pending_gate if snap is not None else None

    def answer_gate(self, gate_id: str, approve: bool, feedback: str = "") -> bool:
        """Approve or reject the gate the run waits at (from any thread); False when that gate is not open."""
        gate = self.pending_gate
        if gate is None or gate.id != gate_id or gate.status != "waiting":
            return False
        with self._gate_cond:
            self._gate_answers[gate_id] = (bool(approve), (feedback or "").strip())
            self._gate_cond.notify_all()
        return True

    def wait_gate(self, gate) -> tuple[bool, str, str]:
        """Called by the worker thread at a gate: block until `answer_gate` or Stop."""
        with self._gate_cond:
            while gate.id not in self._gate_answers:
                if self.cancel_event.is_set():
                    raise Cancelled()
                self._gate_cond.wait(0.2)
            approve, feedback = self._gate_answers.pop(gate.id)
        return approve, feedback, "user"

    def publish(self, state: RunState) -> None:
        snap = copy.deepcopy(state)
        with self._lock:
            self._state = snap
            self._version += 1

    def add_event(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def snapshot(self) -> RunState | None:
        with self._lock:
            return self._state

    def versioned_snapshot(self) -> tuple[RunState | None, int]:
        """The snapshot and how many were published before it, read together."""
        with self._lock:
            return self._state, self._version

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
        self._max = max(1, int(max_concurrent))
        self._lock = threading.Lock()
        self._turn = threading.Condition(self._lock)   # FIFO queue: only the head may take a free slot
        self._active = 0
        self._handles: dict[str, RunHandle] = {}
        self._queue: list[str] = []                    # waiting run ids in arrival (ticket) order

    def start(self, prepared: PreparedRun, run_dir: Path | None = None) -> RunHandle:
        """Queue a run (a resumed one keeps its own directory)."""
        state = prepared.state
        run_dir = Path(run_dir) if run_dir else self.home / "runs" / state.run_id
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
        if not self._wait_turn(handle):
            prepared.state.status, prepared.state.error = "cancelled", "Cancelled before it started."
            prepared.state.finished_at = time.time()
            handle.publish(prepared.state)
            return
        try:
            def listener(event: Event, state: RunState) -> None:
                handle.add_event(event)
            execute(prepared, handle.run_dir, self.store, listener, handle.cancel_event, handle.publish,
                    decide=handle.wait_gate)
        finally:
            with self._turn:
                self._active -= 1
                self._turn.notify_all()

    def _wait_turn(self, handle: RunHandle) -> bool:
        """Block until this run is first in line and a slot is free (True), or it is cancelled while queued.

        Strict FIFO: runs start in the order `start` queued them, whatever order their threads wake in."""
        with self._turn:
            while True:
                if handle.cancel_event.is_set():
                    self._dequeue_locked(handle)
                    self._turn.notify_all()
                    return False
                if self._queue and self._queue[0] == handle.run_id and self._active < self._max:
                    self._active += 1
                    self._dequeue_locked(handle)
                    self._turn.notify_all()      # the next in line may take a second free slot
                    return True
                self._turn.wait(0.2)             # Stop sets only the handle's event: look again soon

    def _dequeue_locked(self, handle: RunHandle) -> None:
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

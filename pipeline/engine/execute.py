"""One run, start to finish: walk the graph and finalize, checkpointing after every phase (the CLI calls it
directly; the app through `pipeline.engine.service`)."""

from __future__ import annotations

import errno
import os
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sandbox
from pipeline.engine import graph
from pipeline.engine.finalize import finalize
from pipeline.engine.prepare import PreparedRun
from pipeline.engine.resume import restore_context
from pipeline.files import parquet_atomic, write_json
from pipeline.run.codegen import SNIPPET_TIMEOUT_S, CodeRunner
from pipeline.run.context import Budget, Cancelled, PhaseContext
from pipeline.run.rundata import RunData
from pipeline.run.store import RunStore, StoreError
from pipeline.state import Event, RunState
from pipeline.tables.reader import DataError

Listener = Callable[[Event, RunState], None]


def checkpoint(state: RunState, run_dir: Path, store: RunStore | None) -> None:
    """Persist the state after every phase: run.json atomically, then the store row."""
    write_json(run_dir / "run.json", {"run_id": state.run_id, "status": state.status, "state": state.to_dict()})
    if store is not None:
        store.upsert(state, run_dir)


def execute(
    prepared: PreparedRun,
    run_dir: Path,
    store: RunStore | None = None,
    listener: Listener | None = None,
    cancel_event: threading.Event | None = None,
    publish: Callable[[RunState], None] | None = None,
    decide: Callable[..., Any] | None = None,
) -> RunState:
    """Run the whole graph and finalize. Never raises for a failed or cancelled run: the state says so.

    `decide(gate) -> (approve, feedback, by)` answers the approval gates in `state.config.gates` (blocking);
    without it they are approved automatically."""
    state, split = prepared.state, prepared.split
    cancel_event = cancel_event or threading.Event()
    run_dir = Path(run_dir)
    state.status = "running"
    state.pending_gate = None  # a gate left open by a dead process is asked again when its phase re-runs
    budget = Budget(prepared.budget_s or state.config.time_budget_s, prepared.started_at)
    prepared.brain.set_deadline(budget.deadline)  # LLM calls must not outlive the run's budget
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
    ctx = PhaseContext(
        run_dir=run_dir,
        brain=prepared.brain,
        code=code_runner,
        split=split,
        budget=budget,
        emit=emit,
        publish=lambda: (ctx.data.persist(), _checkpoint_quietly(state, run_dir, store), publish_state()),
        cancel_event=cancel_event,
        data=RunData(run_dir),
        decide=decide,
    )
    if prepared.start != "profiler":
        restore_context(ctx, state)
    emit(
        "run_started",
        "",
        f"Run {state.run_id}: target {state.profile.target} ({state.profile.task}), "
        f"metric {state.objective.metric}, budget {state.config.time_budget_s:.0f} s",
    )
    try:
        parquet_atomic(run_dir / "data" / "train_X.parquet", split.X_train)
        parquet_atomic(run_dir / "data" / "holdout_X.parquet", split.X_holdout)
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
        sandbox.remove_tree(run_dir / "work")
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
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return (
            "The disk is full (or a file-size quota was reached) while writing the run's files; "
            "free some space and start the run again."
        )
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
        return f"The run's files cannot be written ({exc.strerror}); check the runs folder's permissions."
    return f"{type(exc).__name__}: {exc}"[:300]

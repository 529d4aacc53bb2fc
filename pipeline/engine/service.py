"""Runs behind a thread for the app: a `RunHandle` per run (lock-protected snapshots, events, gate answers,
Stop) and a `Runner` that starts them in order with a limit on how many run at once.

The worker thread owns the live `RunState`; readers only ever get deep copies published under a lock
(`RunHandle.snapshot`), so a UI can poll from its own thread without seeing torn state."""

from __future__ import annotations

import copy
import threading
import time
from pathlib import Path

from pipeline.engine.execute import execute
from pipeline.engine.prepare import PreparedRun
from pipeline.run.context import Cancelled
from pipeline.run.store import RunStore, default_home
from pipeline.state import TERMINAL_STATUSES, Event, RunState


class RunHandle:
    """A run seen from other threads: lock-protected snapshot, event list, cancel, queue position."""

    def __init__(self, run_id: str, run_dir: Path, state: RunState | None = None) -> None:
        self.run_id = run_id
        self.run_dir = run_dir
        self._lock = threading.Lock()
        self._state = copy.deepcopy(state) if state is not None else None
        self._version = 0  # how many snapshots were published: pages redraw details on change
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
        return snap is not None and snap.status in TERMINAL_STATUSES


class Runner:
    """Process-wide registry of runs with a limit on how many run at once (the rest wait in order)."""

    def __init__(self, home: Path | None = None, max_concurrent: int = 2, store: RunStore | None = None) -> None:
        self.home = Path(home) if home else default_home()
        self.store = store or RunStore(self.home / "store.sqlite")
        self.store.mark_interrupted()
        self._max = max(1, int(max_concurrent))
        self._lock = threading.Lock()
        self._turn = threading.Condition(self._lock)  # FIFO queue: only the head may take a free slot
        self._active = 0
        self._handles: dict[str, RunHandle] = {}
        self._queue: list[str] = []  # waiting run ids in arrival (ticket) order

    def start(self, prepared: PreparedRun, run_dir: Path | None = None) -> RunHandle:
        """Queue a run (a resumed one keeps its own directory)."""
        state = prepared.state
        run_dir = Path(run_dir) if run_dir else self.home / "runs" / state.run_id
        handle = RunHandle(state.run_id, run_dir, state)
        with self._lock:
            self._handles[state.run_id] = handle
            self._queue.append(state.run_id)
            self._update_positions()
        handle.thread = threading.Thread(
            target=self._work, args=(handle, prepared), name=f"run-{state.run_id}", daemon=True
        )
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

            execute(
                prepared,
                handle.run_dir,
                self.store,
                listener,
                handle.cancel_event,
                handle.publish,
                decide=handle.wait_gate,
            )
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
                    self._turn.notify_all()  # the next in line may take a second free slot
                    return True
                self._turn.wait(0.2)  # Stop sets only the handle's event: look again soon

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

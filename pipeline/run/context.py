"""What a phase gets besides the state: the data split, the brain, the sandbox runner, the clock.

The holdout lives here too, but only the evaluator reads it; nothing that fits or chooses does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.brains.base import Brain
from pipeline.run.codegen import CodeRunner
from pipeline.run.rundata import RunData


class Cancelled(Exception):
    """The user pressed Stop; the run ends as cancelled."""


@dataclass
class DataSplit:
    """The locked split. Row order of the train part defines the CV folds."""

    X_train: pd.DataFrame
    y_train: pd.Series
    X_holdout: pd.DataFrame
    y_holdout: pd.Series
    folds: list[tuple[np.ndarray, np.ndarray]]
    classes: list[Any] | None
    positive_index: int = 1
    raw_dtypes: dict[str, str] = field(default_factory=dict)


class Budget:
    """Wall-clock budget for the whole run; phases ask it how long they may take."""

    BUSY_SHARE = 0.6  # a single-threaded step getting less of a CPU than this: the machine is busy
    MAX_SLOWDOWN = 8.0
    MIN_PROBE_S = 0.3  # shorter steps say little about the CPU share
    RESERVE_CAP = 0.3  # of the budget, however slow the machine
    FINISH_S = 1.5  # evaluation, report and export on an idle machine, besides the refit's share
    EXPORT_S = 1.0  # writing the model, report and export after the delivered model's refit (a few tenths of a
    # second on an idle machine; the CLI's process then ends at once, see pipeline/__main__.py)
    REFIT_SHARE = 0.04
    MIN_LOOP_S = 8.0  # the critic sends work back only if at least this much is left for the loop
    LOOP_COST_SHARE = 0.75  # a loop re-runs its phases at about this share of this iteration's time (later
    # loops re-screen fewer candidates)

    def __init__(self, seconds: float, start: float | None = None) -> None:
        self.seconds = float(seconds)
        self.start = start if start is not None else time.monotonic()
        self.deadline = self.start + self.seconds
        self.slowdown = 1.0  # how many times longer fixed-cost steps take here than on an idle machine
        self.final_refit_s = 0.0  # the delivered model's refit on every row, once a trainer has measured one

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def exclude(self, seconds: float) -> None:
        """Take a pause out of the clock (time spent waiting at an approval gate does not count)."""
        self.start += max(0.0, seconds)
        self.deadline += max(0.0, seconds)

    def share_deadline(self, share: float, minimum_s: float) -> float:
        """time.monotonic() at which a step that may use `share` of the whole budget (at least `minimum_s`) stops,
        so that fixed-cost steps on a slow machine leave the trainer its time."""
        return time.monotonic() + max(minimum_s, share * self.seconds)

    def observe_cpu(self, cpu_s: float, wall_s: float) -> None:
        """Learn the CPU share this run gets from a single-threaded step (its thread's CPU time over its wall
        time). On a busy machine the evaluation, report and export at the end take that many times longer
        than their usual couple of seconds, and the reserve kept for them has to grow with it."""
        if wall_s < self.MIN_PROBE_S:
            return
        share = cpu_s / wall_s
        self.slowdown = 1.0 if share >= self.BUSY_SHARE else min(self.MAX_SLOWDOWN, 1.0 / max(share, 1e-3))

    def idle_reserve(self) -> float:
        return self.FINISH_S + self.REFIT_SHARE * self.seconds

    def export_reserve(self) -> float:
        """Time kept back once the delivered model is fitted: writing the model, report and export (a few tenths of
        a second on an idle machine) and the end of the process."""
        return min(self.EXPORT_S * self.slowdown, max(self.EXPORT_S, self.RESERVE_CAP * self.seconds))

    def finish_reserve(self) -> float:
        """Time kept back for the iteration's refit and evaluation, the delivered model's refit on every row,
        report and export. Until a refit has been measured, the iteration's refit is guessed as a share of the
        budget; after that, both refits are about the measured one (the delivered model's is on more rows, the
        iteration's on fewer): a 0.1 s refit no longer keeps 2.4 s of a 60 s budget from use."""
        fixed = min(self.FINISH_S * self.slowdown, max(self.FINISH_S, self.RESERVE_CAP * self.seconds))
        if self.final_refit_s > 0:
            return fixed + 2 * self.final_refit_s
        return fixed + self.REFIT_SHARE * self.seconds


@dataclass
class PhaseContext:
    run_dir: Path
    brain: Brain  # the one brain (an LLM inside its offline fallback, or the offline one)
    code: CodeRunner
    split: DataSplit
    budget: Budget
    emit: Callable[..., None]  # emit(kind, phase, message): an event for listeners
    publish: Callable[[], None]  # hand the current state to readers (UI snapshot)
    cancel_event: threading.Event
    data: RunData  # feature frames, models, holdout predictions: kept and saved there
    screened: dict[tuple, Any] = field(default_factory=dict)  # screening CVs already run (trainer_screen.Screened)
    refits: dict[tuple[str, int], float] = field(default_factory=dict)  # measured refit seconds per row, by
    # (candidate name, feature count): later loops' estimates start from them instead of from CV fold fits
    decide: Callable[..., Any] | None = None  # approval gates: decide(gate) -> (approve, feedback, by); blocks

    def check_cancelled(self) -> None:
        if self.cancel_event.is_set():
            raise Cancelled()

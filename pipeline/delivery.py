"""The delivered model: once the locked holdout has been scored, the chosen recipe refit on every row.

The holdout's one job is an honest score for the model fitted without it; once that score is recorded, its rows
are worth more inside the model (scikit-learn's `refit=True`, AutoGluon's `refit_full`). The recipe is what CV
chose: feature code, families, hyperparameters, blend weights and threshold. Time the run has left after that
refit goes into more copies of the recipe with other seeds (a seed bag, averaged), never past the budget.
"""
from __future__ import annotations

import copy
import shutil
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline.codegen import feature_harness
from pipeline.context import PhaseContext
from pipeline.export import model_members
from pipeline.fitclock import fitting
from pipeline.models import OutOfTime, abort_after, bag_params, fit_pipeline
from pipeline.runtime import BlendedModel, compact_floats
from pipeline.state import IterationSummary, RunState

MAX_BAGS = 12         # past a handful of copies the average barely moves, and every copy slows prediction
REFIT_FLOOR_S = 1.0   # a refit expected to take less than this is done even on a run already at its budget
ESTIMATE_SLACK = 1.15
BAG_SLACK = 1.1       # a further copy starts only if one more copy's measured time fits with this margin


@dataclass
class Delivery:
    """The model to save, export and serve, and how it was made."""

    model: Any
    rows: int            # rows it was fitted on
    bags: int            # copies of each seed-dependent member (1: no bag)
    seconds: float
    note: str = ""

    @property
    def refit(self) -> bool:
        return self.seconds > 0


def refit_estimate(seconds: float, rows: int, all_rows: int) -> float:
    """Seconds a refit on `all_rows` will take, from one that took `seconds` on `rows` (fits grow about linearly)."""
    return seconds * all_rows / max(rows, 1) * ESTIMATE_SLACK


def deliver(state: RunState, ctx: PhaseContext, best: IterationSummary) -> Delivery:
    """The chosen iteration's model refit on training + holdout rows, bagged as far as the time left allows; the
    iteration's own model (trained on the training part) when refitting is switched off or would overrun."""
    model = ctx.models[best.iteration]
    n_train, split = len(ctx.split.X_train), ctx.split
    n_all = n_train + len(split.X_holdout)
    trained_on = best.refit_rows or n_train
    if not state.config.refit_full:
        return Delivery(model, trained_on, 1, 0.0)
    started = time.monotonic()
    estimate = refit_estimate(best.refit_seconds, trained_on, n_all)
    deadline = started + max(ctx.budget.remaining() - ctx.budget.export_reserve(), REFIT_FLOOR_S)
    if estimate > deadline - started:
        return Delivery(model, trained_on, 1, 0.0,
                        f"The delivered model was not refit on all {n_all:,} rows: that would take about {estimate:.0f} s "
                        f"and {max(0.0, deadline - started):.0f} s of the time budget were left; it is the model trained "
                        f"on {trained_on:,} training rows that the holdout scored.")
    features = _all_rows_features(ctx, model, best.iteration)
    if features is None:
        return Delivery(model, trained_on, 1, 0.0,
                        "The feature code could not be run again on all rows, so the delivered model is the one trained "
                        "on the training part.")
    y = pd.concat([split.y_train, split.y_holdout], ignore_index=True)
    fitted, bags = _fit_bags(state, ctx, model, features, y, deadline)
    if not fitted:
        return Delivery(model, trained_on, 1, 0.0,
                        f"Refitting on all {n_all:,} rows did not finish within the time budget, so the delivered model "
                        "is the one trained on the training part.")
    delivered = copy.copy(model)
    pipelines, weights = zip(*fitted)
    delivered.pipeline = pipelines[0] if len(pipelines) == 1 else BlendedModel(list(pipelines), list(weights), model.task)
    seconds = time.monotonic() - started
    note = (f"The delivered model was refit on all {n_all:,} rows (training and holdout) with the recipe chosen by CV"
            + (f", as a bag of {bags} copies with different seeds" if bags > 1 else "")
            + f" ({seconds:.1f} s). Its holdout figures are those of the same recipe fitted on the {trained_on:,} "
              "training rows before the holdout was scored: the delivered model saw the holdout, so it cannot be "
              "scored on it.")
    return Delivery(delivered, n_all, bags, seconds, note)


def _fit_bags(state: RunState, ctx: PhaseContext, model: Any, features: pd.DataFrame, y: pd.Series,
              deadline: float) -> tuple[list[tuple[Any, float]], int]:
    """Copies of every member on all rows, one bag at a time while the next one fits before `deadline`; each
    member's blend weight is shared among its copies. A first bag that would overrun is given up."""
    members, task, seed = model_members(model), state.profile.task, state.config.seed
    copies: list[list[tuple[int, Any]]] = []
    bag_seconds = 0.0
    while len(copies) < MAX_BAGS:
        ctx.check_cancelled()
        began = time.monotonic()
        if copies and began + BAG_SLACK * bag_seconds > deadline:
            break
        bag: list[tuple[int, Any]] = []
        try:
            with fitting(), abort_after(deadline):
                for index, member in enumerate(members):
                    params = bag_params(member["family"], member["params"], len(copies))
                    if params is not None:
                        bag.append((index, fit_pipeline(member["family"], task, params, features, y,
                                                        member["class_weight"], seed)))
        except OutOfTime:
            break
        if not bag:
            break
        copies.append(bag)
        bag_seconds = time.monotonic() - began
    counts = [sum(1 for bag in copies for index, _ in bag if index == i) for i in range(len(members))]
    fitted = [(pipe, members[index]["weight"] / counts[index]) for bag in copies for index, pipe in bag]
    return fitted, len(copies)


def _all_rows_features(ctx: PhaseContext, model: Any, iteration: int) -> pd.DataFrame | None:
    """Training + holdout features of the chosen feature code: the frames in memory when that code is the one in
    force, otherwise the code run again in the sandbox on every raw row (as it ran at training time)."""
    if ctx.features is not None and ctx.features.code == model.feature_code:
        return pd.concat([ctx.features.train, ctx.features.holdout], ignore_index=True)
    workdir = ctx.run_dir / "work" / "delivery"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    pd.concat([ctx.split.X_train, ctx.split.X_holdout], ignore_index=True).to_parquet(workdir / "train_X.parquet")
    result, _ = ctx.code.execute("features", iteration, 1, "delivery", model.feature_code, feature_harness([]), workdir,
                                 timeout_s=max(5.0, ctx.budget.remaining()))
    if result is None or not result.ok or not (workdir / "features_train.parquet").exists():
        return None
    return compact_floats(pd.read_parquet(workdir / "features_train.parquet"))

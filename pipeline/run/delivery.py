"""The delivered model: once the locked holdout has been scored, the chosen recipe refit on every row.

The holdout's one job is an honest score for the model fitted without it; once that score is recorded, its rows
are worth more inside the model (scikit-learn's `refit=True`, AutoGluon's `refit_full`). The recipe is what CV
chose: feature code, families, hyperparameters, blend weights and threshold. Time the run has left after that
refit goes into more copies of the boosted members with other seeds (a seed bag, averaged), one copy at a time,
never past the budget. Anything that goes wrong here leaves the recipe's own model, which the holdout scored, as the delivery.
"""

from __future__ import annotations

import copy
import pickle
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

import sandbox
from pipeline import heap
from pipeline.ml.estimators import OutOfTime, abort_after, abortable
from pipeline.ml.fitclock import fitting
from pipeline.ml.models import bag_params, fit_pipeline, model_members
from pipeline.ml.runtime import BlendedModel, compact_floats
from pipeline.run.codegen import feature_harness
from pipeline.run.context import Cancelled, PhaseContext
from pipeline.state import IterationSummary, RunState

MAX_BAGS = 12  # past a dozen copies the average barely moves, and every copy slows prediction
MAX_MODEL_BYTES = 200 * 2**20  # nor may the copies make the saved model larger than this
WRITE_BYTES_PER_S = 100 * 2**20  # pickling, fsync and the export's copy, on a slow disk
ESTIMATE_SLACK = 1.15
BAG_SLACK = 1.1  # a further copy starts only if one more copy's measured time fits with this margin
UNSTOPPABLE_SLACK = 1.5  # the margin for a copy whose fit cannot be given up at the deadline once started
REFIT_FLOOR_S = 1.0  # a refit expected to take less than this is done even on a run already at its budget


@dataclass
class Delivery:
    """The model to save, export and serve, and how it was made."""

    model: Any
    rows: int  # rows it was fitted on
    bags: int  # most copies of any seed-dependent member (1: no bag)
    seconds: float
    note: str = ""
    copies: tuple[int, ...] = ()  # copies of each member, in the recipe's member order (empty: one each)

    @property
    def refit(self) -> bool:
        return self.seconds > 0

    def summary(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "bags": self.bags,
            "copies": list(self.copies),
            "refit_on_all_rows": self.refit,
            "seconds": round(self.seconds, 3),
        }


def refit_estimate(seconds: float, rows: int, all_rows: int) -> float:
    """Seconds a refit on `all_rows` will take, from one that took `seconds` on `rows` (fits grow about linearly)."""
    return seconds * all_rows / max(rows, 1) * ESTIMATE_SLACK


def deliver(state: RunState, ctx: PhaseContext, best: IterationSummary) -> Delivery:
    """The chosen iteration's model refit on training + holdout rows, bagged as far as the time left allows; the
    iteration's own model (trained on the training part) when refitting is switched off, would overrun or fails."""
    model = ctx.data.models[best.iteration]
    trained_on = best.refit_rows or len(ctx.split.X_train)
    if not state.config.refit_full:
        return Delivery(model, trained_on, 1, 0.0)
    kept = Delivery(model, trained_on, 1, 0.0)
    try:
        return _refit(state, ctx, best, model) or kept
    except (Cancelled, KeyboardInterrupt):
        raise
    except Exception as exc:  # the recipe's model is a sound delivery whatever broke in the refit
        kept.note = (
            f"Refitting on all rows failed ({type(exc).__name__}: {str(exc)[:200]}), so the delivered model "
            "is the one trained on the training part."
        )
        return kept


def _refit(state: RunState, ctx: PhaseContext, best: IterationSummary, model: Any) -> Delivery | None:
    split = ctx.split
    n_all = len(split.X_train) + len(split.X_holdout)
    trained_on = best.refit_rows or len(split.X_train)
    if not best.refit_rows:  # a run recorded before refits were measured: no estimate, no refit
        return Delivery(
            model,
            trained_on,
            1,
            0.0,
            "The delivered model is the one trained on the training part: this "
            "run has no measured refit time to plan a refit on all rows with.",
        )
    started = time.monotonic()
    estimate = refit_estimate(best.refit_seconds, trained_on, n_all)
    if estimate > _time_left(ctx):
        return _skipped(model, trained_on, n_all, estimate, _time_left(ctx))
    features = _all_rows_features(ctx, model, best.iteration)
    ctx.check_cancelled()
    if features is None:
        return Delivery(
            model,
            trained_on,
            1,
            0.0,
            "The feature code could not be run again on all rows, so the "
            "delivered model is the one trained on the training part.",
        )
    left = _time_left(ctx)
    if estimate > left:  # re-running the feature code took the time
        return _skipped(model, trained_on, n_all, estimate, left)
    # what the refit needs in memory is the features of every row; the other iterations' models and screening
    # predictions are done with (at a million rows the frames are hundreds of megabytes)
    ctx.data.release(best.iteration, model)
    ctx.screened = {}
    heap.give_back_free_memory()
    y = pd.concat([split.y_train, split.y_holdout], ignore_index=True)
    fitted, copies = _fit_bags(state, ctx, model, features, y, time.monotonic() + left)
    bags = max(copies, default=0)
    if not fitted:
        return Delivery(
            model,
            trained_on,
            1,
            0.0,
            f"Refitting on all {n_all:,} rows did not finish within the time "
            "budget, so the delivered model is the one trained on the training "
            "part.",
        )
    delivered = copy.copy(model)
    pipelines, weights = zip(*fitted)
    delivered.pipeline = (
        pipelines[0] if len(pipelines) == 1 else BlendedModel(list(pipelines), list(weights), model.task)
    )
    seconds = time.monotonic() - started
    note = (
        f"The delivered model was refit on all {n_all:,} rows (training and holdout) with the recipe chosen by CV"
        + (f", with up to {bags} copies of each seed-dependent member (other seeds, averaged)" if bags > 1 else "")
        + f" ({seconds:.1f} s). Its holdout figures are those of the same recipe fitted on the {trained_on:,} "
        "training rows before the holdout was scored: the delivered model saw the holdout, so it cannot be "
        "scored on it."
    )
    return Delivery(delivered, n_all, bags, seconds, note, tuple(copies))


def _time_left(ctx: PhaseContext) -> float:
    """Seconds the refit may take: all but the export's reserve, at least REFIT_FLOOR_S."""
    return max(ctx.budget.remaining() - ctx.budget.export_reserve(), REFIT_FLOOR_S)


def _skipped(model: Any, trained_on: int, n_all: int, estimate: float, left: float) -> Delivery:
    return Delivery(
        model,
        trained_on,
        1,
        0.0,
        f"The delivered model was not refit on all {n_all:,} rows: that would take about {estimate:.0f} s "
        f"and {max(0.0, left):.0f} s of the time budget were left; it is the model trained on "
        f"{trained_on:,} training rows that the holdout scored.",
    )


def _fit_bags(
    state: RunState, ctx: PhaseContext, model: Any, features: pd.DataFrame, y: pd.Series, deadline: float
) -> tuple[list[tuple[Any, float]], list[int]]:
    """Every member fitted on all rows, then further seed copies of the seed-dependent members, one copy at a time
    (the member with the fewest copies first) while that copy's measured time and saving the model (pickling, as
    measured on the first copies, and writing) fit before `deadline` and the model stays under MAX_MODEL_BYTES;
    each member's blend weight is shared among its copies.
    Copies go member by member rather than a whole bag at a time so that the time left at the end is at most one
    member's fit, not one bag's. A first fit of the members that would overrun is given up."""
    members, task, seed = model_members(model), state.profile.task, state.config.seed

    def fit(index: int, copy_number: int) -> Any | None:
        member = members[index]
        params = bag_params(member["family"], member["params"], copy_number)
        if params is None:
            return None
        return fit_pipeline(member["family"], task, params, features, y, member["class_weight"], seed)

    fitted: dict[int, list[Any]] = {}
    seconds: dict[int, float] = {}
    sizes: dict[int, int] = {}
    saving: dict[int, float] = {}  # seconds to pickle one copy (LightGBM writes its trees out as text: 0.2 s a copy)
    try:
        with fitting(), abort_after(deadline):
            for index in range(len(members)):
                ctx.check_cancelled()
                began = time.monotonic()
                fitted[index] = [fit(index, 0)]
                seconds[index] = time.monotonic() - began
                began = time.monotonic()
                sizes[index] = len(pickle.dumps(fitted[index][0], protocol=pickle.HIGHEST_PROTOCOL))
                saving[index] = time.monotonic() - began
    except OutOfTime:
        return [], []
    bagged = [i for i in fitted if bag_params(members[i]["family"], members[i]["params"], 1) is not None]
    while bagged:
        ctx.check_cancelled()
        total = sum(sizes[i] * len(fitted[i]) for i in fitted)
        write_s = sum(saving[i] * len(fitted[i]) for i in fitted) + total / WRITE_BYTES_PER_S
        fits = [
            i
            for i in sorted(bagged, key=lambda i: (len(fitted[i]), i))
            if len(fitted[i]) < MAX_BAGS
            and total + sizes[i] <= MAX_MODEL_BYTES
            and time.monotonic()
            + _slack(members[i]["family"]) * seconds[i]
            + ESTIMATE_SLACK * (write_s + saving[i] + sizes[i] / WRITE_BYTES_PER_S)
            <= deadline
        ]
        if not fits:
            break
        index, began = fits[0], time.monotonic()
        try:
            with fitting(), abort_after(deadline):
                pipe = fit(index, len(fitted[index]))
        except OutOfTime:
            break
        fitted[index].append(pipe)
        seconds[index] = time.monotonic() - began
    pairs = [(pipe, members[i]["weight"] / len(pipes)) for i, pipes in fitted.items() for pipe in pipes]
    return pairs, [len(fitted[i]) for i in range(len(members))]


def _slack(family: str) -> float:
    return BAG_SLACK if abortable(family) else UNSTOPPABLE_SLACK


def _all_rows_features(ctx: PhaseContext, model: Any, iteration: int) -> pd.DataFrame | None:
    """Training + holdout features of the chosen feature code: the frames in memory when that code is the one in
    force, otherwise the code run again in the sandbox on every raw row (as it ran at training time)."""
    if ctx.data.features is not None and ctx.data.features.code == model.feature_code:
        return pd.concat([ctx.data.features.train, ctx.data.features.holdout], ignore_index=True)
    workdir = ctx.run_dir / "work" / "delivery"
    sandbox.remove_tree(workdir)
    workdir.mkdir(parents=True)
    pd.concat([ctx.split.X_train, ctx.split.X_holdout], ignore_index=True).to_parquet(workdir / "train_X.parquet")
    result, _ = ctx.code.execute(
        "delivery",
        iteration,
        1,
        "delivery",
        model.feature_code,
        feature_harness([], find_required=False),
        workdir,
        timeout_s=max(5.0, ctx.budget.remaining()),
    )
    if result is None or not result.ok or not (workdir / "features_train.parquet").exists():
        return None
    return compact_floats(pd.read_parquet(workdir / "features_train.parquet"))

"""Model Trainer, step 1: screen the plan's candidate families by cross-validation with their default parameters.

Screening runs on a uniform sample when the table is large (sized from the Feature Engineer's measured quick-CV
cost); a screening CV is kept for later loops, which reuse it when features, rows and parameters are the same.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.brains.base import CandidateSpec, ModelPlan
from pipeline.ml.cv import OutOfTime, make_folds, oof_predictions
from pipeline.ml.estimators import boosting_stops
from pipeline.ml.families import relative_cost
from pipeline.ml.models import make_pipeline
from pipeline.phases.trainer_refit import REFIT_FLOOR_S
from pipeline.phases.trainer_score import cv_scores
from pipeline.run.context import PhaseContext
from pipeline.state import CandidateResult, RunState, TrainResult

SCREEN_ROWS = 50_000
SCREEN_MIN_ROWS = 5_000
SCREEN_FLOOR_ROWS = 1_000  # fewer rows than this say too little to choose a model family
FIRST_SCREEN_SHARE = 0.5  # of the run's time left: the first family's screening CV must fit in it
QUICK_TO_SCREEN = 1.1  # a screening fit (300 trees) costs about 1.1 quick-CV fits (150 trees) per row
SCREEN_SHARE = 0.45
EXTRA_SCREEN_SHARE = 0.2
MIN_CANDIDATES = 3  # the first this many families are compared unless they would not fit the run at all
MEASURED_SLACK = 1.2  # a refit measured earlier in the run, as an estimate of the next one
ENSEMBLE_MEMBERS = 3  # the tuned family and at most this many less one of the next best may form a blend


@dataclass
class Screened:
    """A screening CV kept for later loops: its out-of-fold predictions, what it cost, on how many rows."""

    oof: np.ndarray
    fit_seconds: float
    rows: int


@dataclass
class Screening:
    """The training features, the rows and folds screening ran on, and each screened family's out-of-fold
    predictions (by candidate name)."""

    X: pd.DataFrame
    y: pd.Series
    Xs: pd.DataFrame
    ys: pd.Series
    folds: list[tuple[np.ndarray, np.ndarray]]
    oofs: dict[str, np.ndarray]
    kept: set[str] = field(default_factory=set)  # candidates whose CV is kept in ctx.screened for later loops
    measured: dict[str, float] = field(default_factory=dict)  # refit seconds per row measured on these features

    def refit_seconds(self, cand: CandidateResult) -> float:
        """Expected seconds to refit a candidate on every training row: from a refit measured earlier in the run
        on the same features, else from its per-row screening cost (a fold fit also predicts and scores, so
        this errs long: 2-3 times a small table's real refit)."""
        if cand.name in self.measured:
            return self.measured[cand.name] * MEASURED_SLACK * len(self.X)
        return cand.fit_seconds / max(len(self.folds), 1) / max(len(self.Xs), 1) * 1.3 * len(self.X)


def screen_rows(
    n: int,
    budget: float,
    quick_cost: float | None,
    families: list[str],
    folds: int,
    share: float = SCREEN_SHARE,
    run_left: float | None = None,
) -> int:
    """Rows to screen candidates on: as many as let the first families' CV fit in SCREEN_SHARE of the
    trainer's time (from the Feature Engineer's measured quick-CV cost), between SCREEN_MIN_ROWS and SCREEN_ROWS.

    The SCREEN_MIN_ROWS floor gives way (down to SCREEN_FLOOR_ROWS) when even the first family's CV on it
    would not fit in half of what the run has left (`run_left` seconds): a wide table on a short budget."""
    cap = min(n, SCREEN_ROWS)
    if not quick_cost:
        return cap
    per_fold_row = quick_cost * QUICK_TO_SCREEN * (folds - 1) / 2
    per_row = per_fold_row * sum(relative_cost(f) for f in families[:MIN_CANDIDATES])
    floor = min(n, SCREEN_MIN_ROWS)
    if run_left is not None and families:
        first = per_fold_row * relative_cost(families[0])
        floor = min(floor, max(min(n, SCREEN_FLOOR_ROWS), int(FIRST_SCREEN_SHARE * run_left / first)))
    return int(min(cap, max(floor, share * budget / per_row)))


def screen(
    state: RunState,
    ctx: PhaseContext,
    plan: ModelPlan,
    result: TrainResult,
    budget: float,
    started: float,
    extra: bool,
) -> Screening:
    """Screen every candidate of `plan` in turn, appending each one's result to `result.candidates` as it
    finishes; a family that would not fit what is left is skipped, one that fails is recorded with its error."""
    split, task, seed = ctx.split, state.profile.task, state.config.seed
    X, y = ctx.data.features.train, split.y_train.reset_index(drop=True)
    screening = _screening_rows(state, ctx, plan, X, y, budget, extra)
    screening.measured = {name: s for (name, width), s in ctx.refits.items() if width == X.shape[1]}
    n_screen = len(screening.Xs)
    screen_deadline = started + SCREEN_SHARE * budget
    first_seconds = None
    for index, spec in enumerate(plan.candidates):
        ctx.check_cancelled()
        key = screen_key(ctx, X, seed, spec, plan)
        cached = ctx.screened.get(key)
        if cached is not None and cached.rows == n_screen:  # the same CV on the same rows ran in an earlier loop
            cand = _candidate(state, ctx, spec, screening.ys, cached.oof, cached.fit_seconds)
            screening.oofs[spec.name] = cached.oof
            screening.kept.add(spec.name)
            first_seconds = first_seconds or cand.fit_seconds / relative_cost(spec.family)
            result.candidates.append(cand)
            ctx.emit(
                "candidate",
                "trainer",
                f"{cand.name}: CV {state.objective.metric} {cand.cv_score:.4f} (screened before)",
            )
            continue
        estimate = (first_seconds or 0.0) * relative_cost(spec.family)
        run_ends = time.monotonic() + ctx.budget.remaining() - ctx.budget.finish_reserve()
        # a later family given up at its deadline must still leave the best one's refit its floor
        deadline = max(started + budget, run_ends) - REFIT_FLOOR_S if index < MIN_CANDIDATES else screen_deadline
        if result.candidates and time.monotonic() + estimate > deadline:
            result.candidates.append(
                CandidateResult(
                    spec.name,
                    spec.family,
                    spec.params,
                    iteration=state.iteration,
                    error="skipped: screening time budget used up",
                )
            )
            continue
        t0 = time.monotonic()
        stops = boosting_stops()
        try:  # the first family is needed whatever it costs: its boosting, not the CV, is cut short if need be
            first_by = None if result.candidates else t0 + FIRST_SCREEN_SHARE * max(0.0, run_ends - t0)
            oof = oof_predictions(
                lambda Xt, s=spec: make_pipeline(s.family, task, s.params, Xt, plan.class_weight, seed),
                screening.Xs,
                screening.ys,
                screening.folds,
                task,
                split.classes,
                deadline=deadline if result.candidates else None,
                fit_deadline=first_by,
            )
            if boosting_stops() > stops:
                state.notes.append(
                    f"{spec.name} stopped adding trees in {boosting_stops() - stops} of "
                    f"{len(screening.folds)} screening folds when its share of the time budget ran out."
                )
            cand = _candidate(state, ctx, spec, screening.ys, oof, round(time.monotonic() - t0, 3))
            screening.oofs[spec.name] = oof
            if boosting_stops() == stops:  # a CV cut short by the clock is not the family's score to reuse
                ctx.screened[key] = Screened(oof, cand.fit_seconds, n_screen)
                screening.kept.add(spec.name)
            if first_seconds is None:
                first_seconds = (time.monotonic() - t0) / relative_cost(spec.family)
        except OutOfTime:
            cand = CandidateResult(
                spec.name,
                spec.family,
                spec.params,
                iteration=state.iteration,
                fit_seconds=round(time.monotonic() - t0, 3),
                error="stopped: screening time budget used up",
            )
        except Exception as exc:  # one failing family must not sink the run
            cand = CandidateResult(
                spec.name,
                spec.family,
                spec.params,
                iteration=state.iteration,
                fit_seconds=round(time.monotonic() - t0, 3),
                error=f"{type(exc).__name__}: {exc}"[:300],
            )
        result.candidates.append(cand)
        shown = f"CV {state.objective.metric} {cand.cv_score:.4f}" if cand.cv_score is not None else cand.error
        ctx.emit("candidate", "trainer", f"{cand.name}: {shown}")
        ctx.publish()
    return screening


def _candidate(
    state: RunState, ctx: PhaseContext, spec: CandidateSpec, y: pd.Series, oof: np.ndarray, seconds: float
) -> CandidateResult:
    """A screened family's result, scored anew (a cached CV's objective may have changed since)."""
    metrics, _ = cv_scores(y, oof, state, ctx)
    return CandidateResult(
        spec.name, spec.family, spec.params, metrics, metrics.get(state.objective.metric), seconds, state.iteration
    )


def _screening_rows(
    state: RunState,
    ctx: PhaseContext,
    plan: ModelPlan,
    X: pd.DataFrame,
    y: pd.Series,
    budget: float,
    extra: bool,
) -> Screening:
    """All training rows and the run's folds, or a uniform sample with its own (at most three) folds."""
    split, task, seed, n = ctx.split, state.profile.task, state.config.seed, len(X)
    families = [c.family for c in plan.candidates]
    share = EXTRA_SCREEN_SHARE if extra else SCREEN_SHARE  # extra tuning: most of the time goes to Optuna
    run_left = ctx.budget.remaining() - ctx.budget.finish_reserve()
    quick_cost, k = ctx.data.features.quick_cost, min(state.config.cv_folds, 3)
    n_screen = screen_rows(n, budget, quick_cost, families, len(split.folds), share, run_left)
    if n_screen < n:
        n_screen = screen_rows(n, budget, quick_cost, families, k, share, run_left)
    keys = (screen_key(ctx, X, seed, spec, plan) for spec in plan.candidates)
    earlier = {ctx.screened[key].rows for key in keys if key in ctx.screened}
    if extra and len(earlier) == 1:  # spare-time tuning: the same rows and folds as the screening it reuses
        n_screen = earlier.pop()
    if n_screen >= n:
        return Screening(X, y, X, y, split.folds, {})
    rows = np.sort(np.random.default_rng(seed).choice(n, n_screen, replace=False))
    Xs, ys = X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)
    state.notes.append(
        f"Candidates were screened on a uniform sample of {n_screen:,} of {n:,} training rows"
        + (" (the time left allowed no more)." if n_screen < min(n, SCREEN_MIN_ROWS) else ".")
    )
    return Screening(X, y, Xs, ys, make_folds(ys, task, k, seed), {})


def screen_key(ctx: PhaseContext, X: pd.DataFrame, seed: int, spec: CandidateSpec, plan: ModelPlan) -> tuple:
    """What a screening CV depends on besides its rows: features, seed (sample and folds), family, parameters
    (regularisation included) and class weights."""
    return (ctx.data.features.code, X.shape, seed, spec.family, repr(sorted(spec.params.items())), plan.class_weight)

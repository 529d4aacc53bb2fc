"""Model Trainer, step 2: tune the best screened family with Optuna, then the next ones while time is left.

Tuning runs on as many rows as let about TARGET_TRIALS trials fit in the time left (at least the screening
sample, at most TUNE_ROWS), with per-fold pruning; with OPTUNA_STORAGE set, tune-workers join the same study.
A search stops once it has gone PATIENCE_PER_DIM trials per hyperparameter without a better score: past that,
more trials of the same family mostly fit the CV's noise (a one-parameter linear model reached 568 trials in
130 s of a 300 s run); gains below PROGRESS_TOLERANCE of the score are kept but do not count as progress.
On the screening rows, the time it leaves goes to tuning the next best families (as
FLAML spreads its time over estimators), which then join the blend tuned.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd

from pipeline.brains.base import CandidateSpec, ModelPlan
from pipeline.ml.cv import make_folds
from pipeline.ml.fitclock import fitting
from pipeline.ml.metrics import is_better
from pipeline.ml.models import single_threaded
from pipeline.ml.tuning import (
    create_study,
    cv_params,
    finish_job,
    make_objective,
    publish_job,
    score_oof,
    trial_cap,
)
from pipeline.phases.trainer_refit import REFIT_FLOOR_S
from pipeline.phases.trainer_score import tuning_job
from pipeline.phases.trainer_screen import ENSEMBLE_MEMBERS, Screening
from pipeline.run.context import PhaseContext
from pipeline.state import CandidateResult, RunState, TrainResult

TUNE_ROWS = 200_000
MIN_TRIAL_SECONDS = 0.5
TARGET_TRIALS = 8
TRIAL_MARGIN = 1.2  # a search starts only with room for this many trials' time (a fold that cannot end by the
# search's deadline is not started, so a short search costs its seconds and no more)
REFIT_SLACK = 1.5  # tuning may pick a configuration this many times slower to refit than the defaults
TUNE_THREADS = 2  # trials at a time when each fit keeps to one core
BLEND_SHARE = 0.25  # tuning on more rows than screening: blend there too if it costs at most this of tuning
PATIENCE_PER_DIM = 15  # a search stops after this many trials per hyperparameter without a better score
MIN_PATIENCE = 30
REFIT_FIXED_S = 0.1  # a refit's cost besides its rows' (the per-row cost, from fold fits, carries most of it)
PROGRESS_TOLERANCE = 1e-4  # a gain smaller than this share of the score is kept but is not progress: TPE
# otherwise keeps finding 1e-5 AUC "gains" on a saturated one-parameter search, far below any CV's noise


@dataclass
class Tuned:
    """What tuning chose and the rows its CV ran on (the blend scores its members on the same rows)."""

    X: pd.DataFrame
    y: pd.Series
    folds: list[tuple[np.ndarray, np.ndarray]]
    params: dict[str, Any]
    oof: np.ndarray
    blend_here: bool  # tuned on more rows than screening, and the other families may join a blend on them
    refit_best: float  # estimated seconds to refit the tuned family on every training row
    score: float | None = None  # the CV score of `oof`, when known
    others: dict[str, tuple[dict[str, Any], np.ndarray]] = field(default_factory=dict)  # further families tuned
    # on the same rows and folds in the time the best one's search left: name -> (params, out-of-fold predictions)


def tune_best(
    state: RunState,
    ctx: PhaseContext,
    plan: ModelPlan,
    screening: Screening,
    best: CandidateResult,
    others: list[CandidateResult],
    result: TrainResult,
    budget: float,
    started: float,
) -> Tuned:
    """Draw the tuning rows, keep time for the refit (and the blend's members), and tune the best family."""
    X, y, Xs, n = screening.X, screening.y, screening.Xs, len(screening.X)
    spec = next(s for s in plan.candidates if s.name == best.name)
    per_row = best.fit_seconds / max(len(screening.folds), 1) / max(len(Xs), 1)  # seconds per row per fold
    refit_best = screening.refit_seconds(best) + REFIT_FIXED_S
    time_left = budget - (time.monotonic() - started) - refit_best
    tune_k = min(state.config.cv_folds, 3)
    affordable = int(time_left / max(TARGET_TRIALS * tune_k * per_row, 1e-9))
    if len(Xs) == n or affordable <= len(Xs):
        Xt, yt, folds = Xs, screening.ys, screening.folds
    else:
        rows = np.random.default_rng(state.config.seed + 1).choice(n, min(n, affordable, TUNE_ROWS), replace=False)
        rows = np.sort(rows)
        Xt, yt = X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)
        folds = make_folds(yt, state.profile.task, tune_k, state.config.seed)
    members = others[: ENSEMBLE_MEMBERS - 1]
    refit_kept = refit_allowance(refit_best)
    refit_estimate = refit_kept + (sum(screening.refit_seconds(c) for c in members) if Xt is Xs else 0.0)
    tune_time = budget - (time.monotonic() - started) - refit_estimate
    trial_seconds = per_row * len(Xt) * len(folds)
    blend_here = False
    if Xt is not Xs:  # the other families can join a blend on the tuning rows if that costs little of the tuning time
        scale = len(Xt) / len(Xs) * len(folds) / max(len(screening.folds), 1)
        blend_cost = sum(
            c.fit_seconds * scale + screening.refit_seconds(c) for c in members if c.name in screening.oofs
        )
        if 0 < blend_cost <= BLEND_SHARE * tune_time:
            tune_time, blend_here = tune_time - blend_cost, True
    params, score, oof = dict(spec.params), None, None
    if Xt is Xs:  # screening already scored the default parameters on exactly these rows
        oof, score = screening.oofs[best.name], best.cv_score
    studies: dict[str, optuna.Study] = {}
    if spec.search_space and tuning_fits(tune_time, trial_seconds):
        params, score, oof = _search(
            state,
            ctx,
            spec,
            plan,
            Xt,
            yt,
            folds,
            tune_time,
            (params, score, oof),
            result,
            refit_allowance=refit_kept,
            refit_scale=n / len(Xt),
            fold_seconds=trial_seconds / max(len(folds), 1),
            studies=studies,
        )
    ctx.check_cancelled()
    if oof is None:  # tuning rows were drawn but no trial finished: fall back to the screening CV
        Xt, yt, folds, oof = Xs, screening.ys, screening.folds, screening.oofs[best.name]
        params, score = dict(spec.params), best.cv_score
    tuned = Tuned(Xt, yt, folds, params, oof, blend_here, refit_best, score)
    if Xt is Xs and not state.config.max_trials and not os.environ.get("OPTUNA_STORAGE"):
        ends = started + budget - refit_estimate
        _tune_others(state, ctx, plan, screening, others, result, tuned, best, ends, studies)
    return tuned


def _tune_others(
    state: RunState,
    ctx: PhaseContext,
    plan: ModelPlan,
    screening: Screening,
    others: list[CandidateResult],
    result: TrainResult,
    tuned: Tuned,
    best: CandidateResult,
    ends: float,
    studies: dict[str, optuna.Study],
) -> None:
    """Tune the other screened families in turn (best screening score first) on the screening rows and folds, each
    from its screened defaults, while a trial still fits before `ends`; a family whose search finds better
    parameters joins the blend's pool with them. Time left after every search has stopped goes to further
    passes over all of them, the best family included, each going on with its own study (TPE keeps what it has
    learnt) from its best so far and twice as patient."""
    specs = {s.name: s for s in plan.candidates}
    found: dict[str, tuple[dict[str, Any], float | None, np.ndarray]] = {}
    cost = {best.name: best.fit_seconds}
    if specs[best.name].search_space:
        found[best.name] = (tuned.params, tuned.score, tuned.oof)
    for cand in others:
        spec = specs.get(cand.name)
        if spec is not None and spec.search_space and cand.name in screening.oofs:
            found[cand.name] = (dict(spec.params), cand.cv_score, screening.oofs[cand.name])
            cost[cand.name] = cand.fit_seconds
    first_pass, patience = True, 1
    while True:
        searched = False
        for name, (params, score, oof) in list(found.items()):
            if first_pass and name == best.name:  # tune_best has just searched it
                continue
            seconds = ends - time.monotonic()
            if not tuning_fits(seconds, cost[name]):
                continue
            ctx.check_cancelled()
            cand = next(c for c in [best, *others] if c.name == name)
            found[name] = _search(
                state,
                ctx,
                specs[name],
                plan,
                screening.Xs,
                screening.ys,
                screening.folds,
                seconds,
                (params, score, oof),
                result,
                refit_allowance=refit_allowance(screening.refit_seconds(cand)),
                refit_scale=len(screening.X) / len(screening.Xs),
                fold_seconds=cost[name] / max(len(screening.folds), 1),
                patience_scale=patience,
                studies=studies,
            )
            searched = True
        if not searched:
            break
        first_pass, patience = False, patience * 2
    for name, (params, _, oof) in found.items():
        if name == best.name:
            if params != tuned.params:
                tuned.params, tuned.oof, tuned.score = params, oof, found[name][1]
        elif params != specs[name].params and oof is not None:
            tuned.others[name] = (params, oof)


def tuning_fits(seconds: float, trial_seconds: float) -> bool:
    """Whether a search of `seconds` can expect to finish a trial that takes `trial_seconds`: the one answer the
    tuning step and the critic's spare-time round both go by."""
    return seconds > max(TRIAL_MARGIN * trial_seconds, MIN_TRIAL_SECONDS * 2)


def refit_allowance(refit_seconds: float) -> float:
    """Seconds a search keeps back for refitting what it chooses (it may choose a slower configuration)."""
    return REFIT_SLACK * refit_seconds


def _search(
    state: RunState,
    ctx: PhaseContext,
    spec: CandidateSpec,
    plan: ModelPlan,
    X: pd.DataFrame,
    y: pd.Series,
    folds: list[tuple[np.ndarray, np.ndarray]],
    seconds: float,
    start: tuple[dict[str, Any], float | None, np.ndarray | None],
    result: TrainResult,
    refit_allowance: float,
    refit_scale: float,
    fold_seconds: float,
    patience_scale: int = 1,
    studies: dict[str, optuna.Study] | None = None,
) -> tuple[dict[str, Any], float | None, np.ndarray | None]:
    """Optuna TPE search with median pruning from `start` (params, score, oof); the best that beats it and whose
    refit fits the time kept for it."""
    obj = state.objective
    job = tuning_job(state, ctx, spec, plan, seconds)
    storage = os.environ.get("OPTUNA_STORAGE") or None
    if studies is not None and spec.name in studies:  # a further pass: TPE goes on from what it has learnt
        study = studies[spec.name]
    else:
        study = create_study(job, storage)
        if studies is not None:
            studies[spec.name] = study
    before = len(result.trials)
    if storage:
        publish_job(ctx.run_dir, job, X, y, folds)
    if start[1] is None:  # the defaults' score is not known on these rows yet: start from them
        study.enqueue_trial({k: v for k, v in spec.params.items() if k in spec.search_space})
    holder: dict[str, Any] = {"params": start[0], "score": start[1], "oof": start[2], "stale": 0, "mark": start[1]}
    patience = patience_scale * max(MIN_PATIENCE, PATIENCE_PER_DIM * len(spec.search_space))

    def refit_fits(trial_seconds: float) -> bool:
        """A configuration is only worth choosing if refitting it on every row fits the time kept for that."""
        return trial_seconds / max(len(folds), 1) * 1.3 * refit_scale <= max(refit_allowance, REFIT_FLOOR_S)

    def keep_if_better(params: dict[str, Any], score: float, oof: np.ndarray, seconds: float) -> None:
        if is_better(score, holder["score"], obj.greater_is_better) and refit_fits(seconds):
            holder.update(params=params, score=score, oof=oof)
            mark = holder["mark"]
            if mark is None or is_better(score, mark, obj.greater_is_better, PROGRESS_TOLERANCE * abs(mark)):
                holder.update(mark=score, stale=-1)  # record() counts this trial next

    def record(study_: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        result.trials.append(
            {
                "number": trial.number,
                "value": trial.value,
                "state": trial.state.name,
                "params": trial.params,
                "iteration": state.iteration,
                "worker": trial.user_attrs.get("worker", ""),
                "family": spec.name,
            }
        )
        holder["stale"] += 1
        if holder["stale"] >= patience and not storage:
            study_.stop()
        ctx.publish()

    # fits that keep to one core run two trials at a time on the machine's two cores; a trial cap asks for
    # reproducible trials: one at a time
    threads = 1
    if single_threaded(spec.family, len(X)) and not state.config.max_trials:
        threads = min(TUNE_THREADS, len(os.sched_getaffinity(0)))
    guard = threading.Lock()

    def one_at_a_time(callback):
        def locked(*args):
            with guard:
                return callback(*args)

        return locked

    objective = make_objective(
        job,
        X,
        y,
        folds,
        ctx.cancel_event.is_set,
        one_at_a_time(keep_if_better),
        fold_estimate=fold_seconds,
    )
    try:
        with fitting():  # the worker threads' fits are this thread's wall time spent fitting
            study.optimize(
                objective,
                timeout=seconds,
                n_jobs=threads,
                callbacks=[one_at_a_time(record), *trial_cap(job)],
                catch=(ValueError, np.linalg.LinAlgError),
                gc_after_trial=False,
            )
    finally:
        if storage:
            finish_job(ctx.run_dir, job)
    mine = result.trials[before:]
    shared = len(study.trials) - len(mine)
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if storage and complete:
        best = study.best_trial
        params = {**spec.params, **best.params}
        took = best.duration.total_seconds() if best.duration else 0.0
        if (
            params != holder["params"]
            and is_better(best.value, holder["score"], obj.greater_is_better)
            and refit_fits(took)
        ):
            oof = cv_params(job, params, X, y, folds)
            holder.update(params=params, score=score_oof(job, y, oof)[0][obj.metric], oof=oof)
            state.notes.append(f"The best trial came from tune-worker {best.user_attrs.get('worker', '?')}.")
    done = sum(1 for t in mine if t["state"] == "COMPLETE")
    pruned = sum(1 for t in mine if t["state"] == "PRUNED")
    state.notes.append(
        f"Optuna tuned {spec.name}: {len(mine)} trials here ({done} complete, {pruned} pruned)"
        + (f" and {shared} by tune-workers on the shared study" if storage else "")
        + f" in a {seconds:.0f} s budget"
        + (
            f", stopped after {patience} trials without a better score."
            if holder["stale"] >= patience and not storage
            else "."
        )
    )
    return holder["params"], holder["score"], holder["oof"]

"""Model Trainer: screen candidate families by CV, tune the best with Optuna, refit on the training part.

Screening runs on a sample when the table is large; tuning runs on (up to) the full training part
with per-fold pruning; the final refit uses every training row. The holdout is never touched here.
"""
from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np
import optuna
import pandas as pd

from pipeline.brains.base import CandidateSpec, ModelPlan, ModelRequest
from pipeline.ml.cv import OutOfTime, make_folds, metrics_from_oof, oof_predictions
from pipeline.ml.families import relative_cost
from pipeline.ml.fitclock import fitting
from pipeline.ml.metrics import is_better
from pipeline.ml.models import (
    LINEAR_MAX_ROWS,
    boosting_deadline,
    boosting_stops,
    feature_importance,
    fit_pipeline,
    fit_rows,
    make_pipeline,
    single_threaded,
)
from pipeline.ml.runtime import BlendedModel, TabularModel
from pipeline.ml.tuning import (
    TuningJob,
    create_study,
    cv_params,
    finish_job,
    make_objective,
    publish_job,
    score_oof,
    trial_cap,
)
from pipeline.phases.trainer_plan import ask_plan, review_plan
from pipeline.run import delivery
from pipeline.run.context import Budget, PhaseContext
from pipeline.state import CandidateResult, RunState, TrainResult

SCREEN_ROWS = 50_000
SCREEN_MIN_ROWS = 5_000
SCREEN_FLOOR_ROWS = 1_000   # fewer rows than this say too little to choose a model family
FIRST_SCREEN_SHARE = 0.5    # of the run's time left: the first family's screening CV must fit in it
QUICK_TO_SCREEN = 1.1    # a screening fit (300 trees) costs about 1.1 quick-CV fits (150 trees) per row
TUNE_ROWS = 200_000
MIN_TRIAL_SECONDS = 0.5
SCREEN_SHARE = 0.45
EXTRA_SCREEN_SHARE = 0.2
MIN_CANDIDATES = 3
ENSEMBLE_MEMBERS = 3
TARGET_TRIALS = 8
TRAIN_SCORE_ROWS = 50_000
REFIT_SLACK = 1.5
REFIT_FLOOR_S = 3.0      # a refit this short always fits (the finish reserve absorbs it), however slow its trial ran
EVALUATION_SLACK = 1.5   # spare-time tuning leaves this many times the last evaluation's duration for the next
CRITIC_S = 0.5
TUNE_THREADS = 2         # trials at a time when each fit keeps to one core
BLEND_SHARE = 0.25       # tuning on more rows than screening: blend there too if it costs at most this of tuning


def trainer_budget(state: RunState, ctx: PhaseContext) -> float:
    """Seconds this trainer run may use: most of what is left on the last loop, about half before.

    Half is kept back only when it could pay for another loop (the critic's estimate of a retrain is
    three quarters of this one); otherwise it would be left unused at the end of the run.
    """
    if extra_tuning(state):   # spare time: all of it but the next evaluation, the delivered refit and the export
        evaluated = [r.duration_s or 0.0 for r in state.history if r.phase == "evaluator"]
        spare = ctx.budget.remaining() - ctx.budget.export_reserve() - ctx.budget.final_refit_s
        return max(1.0, spare - EVALUATION_SLACK * (evaluated[-1] if evaluated else 0.0) - CRITIC_S)
    remaining = ctx.budget.remaining() - ctx.budget.finish_reserve()
    loops_left = state.config.max_loops - (state.iteration - 1)
    another_loop_fits = 0.5 * remaining >= Budget.MIN_LOOP_S + Budget.LOOP_COST_SHARE * 0.5 * remaining
    share = 0.5 if loops_left > 0 and another_loop_fits else 0.8  # the rest pays for evaluation and the critic
    return max(1.0, remaining * share)


def extra_tuning(state: RunState) -> bool:
    """Whether this trainer run spends time the critic left over (one family, the rest of the budget)."""
    return bool(state.decisions and state.decisions[-1].action == "retrain_model" and state.decisions[-1].extra_tuning)


def screen_rows(n: int, budget: float, quick_cost: float | None, families: list[str], folds: int,
                share: float = SCREEN_SHARE, run_left: float | None = None) -> int:
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


def _job(state: RunState, ctx: PhaseContext, spec: CandidateSpec | None = None, plan: ModelPlan | None = None,
         seconds: float = 0.0) -> TuningJob:
    split, obj = ctx.split, state.objective
    return TuningJob(study_name=f"{state.run_id}-it{state.iteration}", family=spec.family if spec else "",
                     base_params=dict(spec.params) if spec else {}, search_space=dict(spec.search_space) if spec else {},
                     class_weight=plan.class_weight if plan else None, seed=state.config.seed, task=state.profile.task,
                     metric=obj.metric, greater_is_better=obj.greater_is_better, tune_threshold=obj.tune_threshold,
                     classes=split.classes, positive_index=split.positive_index, deadline_unix=time.time() + seconds,
                     max_trials=state.config.max_trials)


def _score(y: pd.Series, oof: np.ndarray, state: RunState, ctx: PhaseContext, rows: np.ndarray | None = None
           ) -> tuple[dict[str, float], float | None]:
    return score_oof(_job(state, ctx), y, oof, rows)


def run(state: RunState, ctx: PhaseContext) -> TrainResult:
    split, obj, task, seed = ctx.split, state.objective, state.profile.task, state.config.seed
    started = time.monotonic()
    budget = trainer_budget(state, ctx)
    X, y = ctx.features.train, split.y_train.reset_index(drop=True)
    previous = state.training if state.training.best else None
    extra = extra_tuning(state)
    regularisation = (previous.regularisation if previous else 0) + (
        1 if state.decisions and state.decisions[-1].action == "retrain_model" and not extra else 0)
    if previous:
        previous = TrainResult(**{**previous.__dict__, "regularisation": regularisation})
    request = ModelRequest(profile=state.profile, objective=obj, n_rows=len(X), n_features=X.shape[1],
                           iteration=state.iteration,
                           critic_feedback=state.decisions[-1].reason if state.decisions else "",
                           previous=previous or TrainResult(regularisation=regularisation),
                           user_feedback=state.user_feedback.get("training", ""))
    plan = ask_plan(state, ctx, request)
    if previous and previous.candidates:  # later loops re-screen only the families that did best
        ranked = sorted((c for c in previous.candidates if c.cv_score is not None),
                        key=lambda c: -c.cv_score if obj.greater_is_better else c.cv_score)
        keep = {c.family for c in ranked[:1 if extra else 2]}
        plan = ModelPlan([c for c in plan.candidates if c.family in keep] or plan.candidates, plan.class_weight,
                         plan.reasoning)
    plan, waited = review_plan(state, ctx, request, plan)   # user's family wishes; the optional training gate
    started += waited                                            # time at the gate is not the trainer's
    result = TrainResult(metric=obj.metric, regularisation=regularisation)
    state.training = result
    ctx.publish()

    # 1. screening (on a sample for large tables)
    n = len(X)
    families = [c.family for c in plan.candidates]
    share = EXTRA_SCREEN_SHARE if extra else SCREEN_SHARE   # extra tuning: most of the time goes to Optuna
    run_left = ctx.budget.remaining() - ctx.budget.finish_reserve()
    full_rows = screen_rows(n, budget, ctx.features.quick_cost, families, len(split.folds), share, run_left)
    n_screen = full_rows if full_rows >= n else screen_rows(n, budget, ctx.features.quick_cost, families,
                                                            min(state.config.cv_folds, 3), share, run_left)
    earlier = {ctx.screened[k].rows for k in (_screen_key(ctx, X, seed, spec, plan) for spec in plan.candidates)
               if k in ctx.screened}
    if extra and len(earlier) == 1:   # spare-time tuning: the same rows and folds as the screening it reuses
        n_screen = earlier.pop()
    if n_screen < n:
        rows = np.sort(np.random.default_rng(seed).choice(n, n_screen, replace=False))
        Xs, ys = X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)
        screen_folds = make_folds(ys, task, min(state.config.cv_folds, 3), seed)
        state.notes.append(f"Candidates were screened on a uniform sample of {n_screen:,} of {n:,} training rows"
                           + (" (the time left allowed no more)." if n_screen < min(n, SCREEN_MIN_ROWS) else "."))
    else:
        Xs, ys, screen_folds = X, y, split.folds
    oofs: dict[str, np.ndarray] = {}
    screen_deadline = started + SCREEN_SHARE * budget
    first_seconds = None
    for index, spec in enumerate(plan.candidates):
        ctx.check_cancelled()
        key = _screen_key(ctx, X, seed, spec, plan)
        cached = ctx.screened.get(key)
        if cached is not None and cached.rows == n_screen:   # the same CV on the same rows ran in an earlier loop
            metrics, _ = _score(ys, cached.oof, state, ctx)   # scored anew: the objective may have changed since
            cand = CandidateResult(spec.name, spec.family, spec.params, metrics, metrics.get(obj.metric),
                                   cached.fit_seconds, state.iteration)
            oofs[spec.name] = cached.oof
            first_seconds = first_seconds or cand.fit_seconds / relative_cost(spec.family)
            result.candidates.append(cand)
            ctx.emit("candidate", "trainer", f"{cand.name}: CV {obj.metric} {cand.cv_score:.4f} (screened before)")
            continue
        estimate = (first_seconds or 0.0) * relative_cost(spec.family)
        # the first MIN_CANDIDATES families are always compared unless they would not fit what is left of the run
        run_ends = time.monotonic() + ctx.budget.remaining() - ctx.budget.finish_reserve()
        # a later family given up at its deadline must still leave the best one's refit its floor
        deadline = max(started + budget, run_ends) - REFIT_FLOOR_S if index < MIN_CANDIDATES else screen_deadline
        if result.candidates and time.monotonic() + estimate > deadline:
            result.candidates.append(CandidateResult(spec.name, spec.family, spec.params, iteration=state.iteration,
                                                     error="skipped: screening time budget used up"))
            continue
        t0 = time.monotonic()
        stops = boosting_stops()
        try:   # the first family is needed whatever it costs: its boosting, not the CV, is cut short if need be
            first_by = None if result.candidates else t0 + FIRST_SCREEN_SHARE * max(0.0, run_ends - t0)
            oof = oof_predictions(lambda Xt, s=spec: make_pipeline(s.family, task, s.params, Xt, plan.class_weight, seed),
                                  Xs, ys, screen_folds, task, split.classes,
                                  deadline=deadline if result.candidates else None, fit_deadline=first_by)
            if boosting_stops() > stops:
                state.notes.append(f"{spec.name} stopped adding trees in {boosting_stops() - stops} of "
                                   f"{len(screen_folds)} screening folds when its share of the time budget ran out.")
            metrics, _ = _score(ys, oof, state, ctx)
            cand = CandidateResult(spec.name, spec.family, spec.params, metrics, metrics.get(obj.metric),
                                   round(time.monotonic() - t0, 3), state.iteration)
            oofs[spec.name] = oof
            if boosting_stops() == stops:   # a CV cut short by the clock is not the family's score to reuse
                ctx.screened[key] = Screened(oof, cand.fit_seconds, n_screen)
            if first_seconds is None:
                first_seconds = (time.monotonic() - t0) / relative_cost(spec.family)
        except OutOfTime:
            cand = CandidateResult(spec.name, spec.family, spec.params, iteration=state.iteration,
                                   fit_seconds=round(time.monotonic() - t0, 3), error="stopped: screening time budget used up")
        except Exception as exc:  # one failing family must not sink the run
            cand = CandidateResult(spec.name, spec.family, spec.params, iteration=state.iteration,
                                   fit_seconds=round(time.monotonic() - t0, 3), error=f"{type(exc).__name__}: {exc}"[:300])
        result.candidates.append(cand)
        ctx.emit("candidate", "trainer", f"{cand.name}: " + (f"CV {obj.metric} {cand.cv_score:.4f}" if cand.cv_score is not None
                                                              else cand.error))
        ctx.publish()
    scored = [c for c in result.candidates if c.cv_score is not None and not math.isnan(c.cv_score)]
    if not scored:
        raise RuntimeError("every candidate model failed: " + "; ".join(c.error for c in result.candidates)[:500])
    best_cand = max(scored, key=lambda c: c.cv_score if obj.greater_is_better else -c.cv_score)
    best_spec = next(s for s in plan.candidates if s.name == best_cand.name)

    # 2. tuning rows: as many as let about TARGET_TRIALS trials fit in the time left (at least the screening
    #    sample, at most TUNE_ROWS), then Optuna with per-fold pruning
    per_row = best_cand.fit_seconds / max(len(screen_folds), 1) / max(len(Xs), 1)  # seconds per row per fold
    refit_best = per_row * 1.3 * len(X) + 0.5
    time_left = budget - (time.monotonic() - started) - refit_best
    tune_k = min(state.config.cv_folds, 3)
    affordable = int(time_left / max(TARGET_TRIALS * tune_k * per_row, 1e-9))
    if len(Xs) == n or affordable <= len(Xs):
        Xt, yt, tune_folds = Xs, ys, screen_folds
    else:
        rows = np.sort(np.random.default_rng(seed + 1).choice(n, min(n, affordable, TUNE_ROWS), replace=False))
        Xt, yt = X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)
        tune_folds = make_folds(yt, task, tune_k, seed)
    others = sorted((c for c in scored if c is not best_cand), key=lambda c: -c.cv_score if obj.greater_is_better else c.cv_score)
    refit_allowance = REFIT_SLACK * refit_best  # tuning may pick a slower configuration, up to this
    refit_estimate = refit_allowance + (sum(_refit_seconds(c, len(screen_folds), len(Xs), n)
                                            for c in others[:ENSEMBLE_MEMBERS - 1]) if Xt is Xs else 0.0)
    tune_time = budget - (time.monotonic() - started) - refit_estimate
    trial_seconds = per_row * len(Xt) * len(tune_folds)
    blend_on_tune_rows = False
    if Xt is not Xs:  # the other families can join a blend on the tuning rows if that costs little of the tuning time
        scale = len(Xt) / len(Xs) * len(tune_folds) / max(len(screen_folds), 1)
        blend_cost = sum(c.fit_seconds * scale + _refit_seconds(c, len(screen_folds), len(Xs), n)
                         for c in others[:ENSEMBLE_MEMBERS - 1] if c.name in oofs)
        if 0 < blend_cost <= BLEND_SHARE * tune_time:
            tune_time, blend_on_tune_rows = tune_time - blend_cost, True
    best_params, best_score, best_oof = dict(best_spec.params), None, None
    if Xt is Xs:  # screening already scored the default parameters on exactly these rows
        best_oof, best_score = oofs[best_cand.name], best_cand.cv_score
    if best_spec.search_space and tune_time > max(1.5 * trial_seconds, MIN_TRIAL_SECONDS * 4):
        best_params, best_score, best_oof = _tune(state, ctx, best_spec, plan, Xt, yt, tune_folds, tune_time,
                                                  best_params, best_score, best_oof, result,
                                                  refit_allowance=refit_allowance, refit_scale=n / len(Xt))
    ctx.check_cancelled()
    if best_oof is None:  # tuning rows were drawn but no trial finished: fall back to the screening CV
        Xt, yt, best_oof = Xs, ys, oofs[best_cand.name]
        best_params = dict(best_spec.params)
    members = [(best_spec.family, best_params, best_spec.name)]
    weights = [1.0]
    if (Xt is Xs or blend_on_tune_rows) and len(oofs) > 1:
        pool = {best_spec.name + " (tuned)": best_oof}
        # Members join only if their refit still fits: in this trainer's share, or else in what the whole run has
        # left (tuning may overrun its share by a trial, and a blend dropped for that can leave a bigger budget
        # scoring below a smaller one).
        run_left = ctx.budget.remaining() - ctx.budget.finish_reserve()
        left = max(budget - (time.monotonic() - started), run_left) - refit_best
        for cand in others[:ENSEMBLE_MEMBERS - 1]:
            cost = _refit_seconds(cand, len(screen_folds), len(Xs), n)
            if cand.name not in oofs or cost > left:
                continue
            if Xt is Xs:
                pool[cand.name], left = oofs[cand.name], left - cost
                continue
            spec = next(s for s in plan.candidates if s.name == cand.name)
            try:   # the member's out-of-fold predictions on the tuning rows, stopped if its refit would not fit
                pool[cand.name] = oof_predictions(
                    lambda Xf, s=spec: make_pipeline(s.family, task, s.params, Xf, plan.class_weight, seed),
                    Xt, yt, tune_folds, task, split.classes, deadline=started + budget - refit_best - cost)
                left = budget - (time.monotonic() - started) - refit_best - cost
            except OutOfTime:
                break
        chosen = _greedy_blend(pool, yt, state, ctx)
        if len(chosen) > 1:
            specs = {c.name: c for c in plan.candidates}
            members, weights = [], []
            for name, w in chosen.items():
                base = name.removesuffix(" (tuned)")
                params = best_params if name.endswith(" (tuned)") else specs[base].params
                members.append((specs[base].family, params, name))
                weights.append(w)
            best_oof = sum(pool[name] * w for name, w in chosen.items()) / sum(chosen.values())
            total = sum(weights)
            state.notes.append("Blended " + ", ".join(f"{m[2]} ×{w / total:.2f}" for m, w in zip(members, weights))
                               + " (greedy ensemble selection on out-of-fold predictions).")
    metrics, threshold = _score(yt, best_oof, state, ctx)
    result.best = best_spec.name if len(members) == 1 else "Blend: " + " + ".join(m[2] for m in members)
    result.best_params = best_params
    result.cv_metrics = metrics
    result.cv_score = metrics.get(obj.metric)
    result.threshold = threshold
    np.save(ctx.run_dir / "data" / f"oof_it{state.iteration}.npy", best_oof)

    # 3. refit on every training row, or on as many as the run has time for
    ctx.check_cancelled()
    member_costs = {cand.name: _refit_seconds(cand, len(screen_folds), len(Xs), n) for cand in others}
    refit_cost = refit_best + sum(member_costs.get(m[2], 0.0) for m in members[1:])
    Xr, yr = _refit_rows(X, y, refit_cost, ctx.budget.remaining() - ctx.budget.finish_reserve(), len(Xs), seed)
    if len(Xt) < n:
        state.notes.append(f"CV metrics of the selected model come from a uniform sample of {len(Xt):,} of the "
                           f"{n:,} training rows; the final model is refit on "
                           + ("all of them." if len(Xr) == n else f"{len(Xr):,} of them."))
    if len(Xr) < n:
        state.notes.append(f"The final model was refit on a uniform sample of {len(Xr):,} of the {n:,} training rows: "
                           f"refitting on all of them (~{refit_cost:.0f} s) would have overrun the time budget. "
                           "Its holdout metrics are measured on the locked holdout as usual.")
    fitted = []
    stops = boosting_stops()
    refit_started = time.monotonic()
    refit_by = refit_started + max(REFIT_FLOOR_S, ctx.budget.remaining() - ctx.budget.finish_reserve())
    for family, params, name in members:
        with fitting(), boosting_deadline(refit_by):
            fitted.append(fit_pipeline(family, task, params, Xr, yr, plan.class_weight, seed))
        if boosting_stops() > stops:
            stops = boosting_stops()
            state.notes.append(f"The final {name} stopped adding trees when the time budget ran out.")
        if fit_rows(family, yr, seed, classify=task != "regression") is not None:
            state.notes.append(f"{name} was refit on a uniform sample of {LINEAR_MAX_ROWS:,} of the {len(Xr):,} training "
                               "rows: a linear model needs no more, and its one-hot matrix for all of them would "
                               "not fit in memory.")
        ctx.check_cancelled()
    result.refit_seconds, result.refit_rows = round(time.monotonic() - refit_started, 3), len(Xr)
    if state.config.refit_full:   # the delivered model is refit on every row: keep the time it will take
        ctx.budget.final_refit_s = max(ctx.budget.final_refit_s, delivery.refit_estimate(
            result.refit_seconds, len(Xr), n + len(split.X_holdout)))   # whichever iteration is delivered
    final = fitted[0] if len(fitted) == 1 else BlendedModel(fitted, weights, task)
    # in-sample score (for the overfitting gap) on at most TRAIN_SCORE_ROWS rows: predicting 1M rows costs minutes
    nr = len(Xr)
    rows = np.arange(nr) if nr <= TRAIN_SCORE_ROWS else np.sort(np.random.default_rng(seed + 2).choice(nr, TRAIN_SCORE_ROWS, replace=False))
    Xi, yi = Xr.iloc[rows], yr.iloc[rows].reset_index(drop=True)
    if task == "regression":
        with fitting():
            in_sample = final.predict(Xi)
        result.train_metrics = metrics_from_oof(yi, in_sample, task, None)
    else:
        aligned = np.zeros((len(Xi), len(split.classes)))
        with fitting():
            aligned[:, [split.classes.index(c) for c in final.classes_]] = final.predict_proba(Xi)
        result.train_metrics = metrics_from_oof(yi, aligned, task, split.classes, threshold, split.positive_index)
    result.feature_importance = feature_importance(fitted[0])
    model = TabularModel(feature_code=ctx.features.code, pipeline=final, task=task, target=state.profile.target,
                         raw_columns=list(split.X_train.columns), required_columns=ctx.features.required_columns,
                         raw_dtypes=split.raw_dtypes, classes=split.classes, threshold=threshold,
                         positive_index=split.positive_index, metric=obj.metric)
    models_dir = ctx.run_dir / "models"
    models_dir.mkdir(exist_ok=True)
    path = models_dir / f"iter{state.iteration}.joblib"
    joblib.dump(model, path)
    ctx.models[state.iteration] = model
    result.model_path = str(path.relative_to(ctx.run_dir))
    return result


@dataclass
class Screened:
    """A screening CV kept for later loops: its out-of-fold predictions, what it cost, on how many rows."""

    oof: np.ndarray
    fit_seconds: float
    rows: int


def _screen_key(ctx: PhaseContext, X: pd.DataFrame, seed: int, spec: CandidateSpec, plan: ModelPlan) -> tuple:
    """What a screening CV depends on besides its rows: features, seed (sample and folds), family, parameters
    (regularisation included) and class weights."""
    return (ctx.features.code, X.shape, seed, spec.family, repr(sorted(spec.params.items())), plan.class_weight)


def _refit_rows(X: pd.DataFrame, y: pd.Series, cost: float, seconds_left: float, min_rows: int, seed: int
                ) -> tuple[pd.DataFrame, pd.Series]:
    """All training rows if refitting on them (an estimated `cost` seconds) fits the run's time left (or is
    short anyway); otherwise a uniform sample sized to fit, never smaller than the screening sample."""
    n = len(X)
    if cost <= max(seconds_left, REFIT_FLOOR_S):
        return X, y
    keep = min(n, max(min_rows, int(n * max(seconds_left, REFIT_FLOOR_S) / cost)))
    if keep >= n:
        return X, y
    rows = np.sort(np.random.default_rng(seed + 3).choice(n, keep, replace=False))
    return X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)


def _refit_seconds(cand: CandidateResult, folds: int, screen_rows_: int, n: int) -> float:
    """Expected seconds to refit a screened candidate on all n training rows (from its per-row screening cost)."""
    return cand.fit_seconds / max(folds, 1) / max(screen_rows_, 1) * 1.3 * n


def _greedy_blend(pool: dict[str, np.ndarray], y: pd.Series, state: RunState, ctx: PhaseContext,
                  rounds: int = 15) -> dict[str, float]:
    """Caruana-style ensemble selection with replacement; returns member -> weight (count)."""
    gib, metric = state.objective.greater_is_better, state.objective.metric
    names = list(pool)
    counts = {names[0]: 1.0}
    acc = pool[names[0]].copy()
    best = _score(y, acc, state, ctx)[0][metric]
    for _ in range(rounds):
        k = sum(counts.values())
        trial = {name: _score(y, (acc + pool[name]) / (k + 1), state, ctx)[0][metric] for name in names}
        name = max(trial, key=lambda n: trial[n] if gib else -trial[n])
        if not is_better(trial[name], best, gib, 1e-6 * max(abs(best), 1.0)):
            break
        best = trial[name]
        counts[name] = counts.get(name, 0.0) + 1.0
        acc = acc + pool[name]
    return counts


def _tune(state: RunState, ctx: PhaseContext, spec: CandidateSpec, plan: ModelPlan, X: pd.DataFrame, y: pd.Series,
          folds, seconds: float, best_params: dict[str, Any], best_score: float | None, best_oof: np.ndarray | None,
          result: TrainResult, refit_allowance: float, refit_scale: float):
    """Optuna TPE search with median pruning; with OPTUNA_STORAGE set, tune-workers join the same study."""
    obj = state.objective
    job = _job(state, ctx, spec, plan, seconds)
    storage = os.environ.get("OPTUNA_STORAGE") or None
    study = create_study(job, storage)
    if storage:
        publish_job(ctx.run_dir, job, X, y, folds)
    if best_score is None:   # the defaults' score is not known on these rows yet: start from them
        study.enqueue_trial({k: v for k, v in spec.params.items() if k in spec.search_space})
    holder: dict[str, Any] = {"params": best_params, "score": best_score, "oof": best_oof}

    def refit_fits(trial_seconds: float) -> bool:
        """A configuration is only worth choosing if refitting it on every row fits the time kept for that."""
        return trial_seconds / max(len(folds), 1) * 1.3 * refit_scale <= max(refit_allowance, REFIT_FLOOR_S)

    def keep_if_better(params: dict[str, Any], score: float, oof: np.ndarray, seconds: float) -> None:
        if is_better(score, holder["score"], obj.greater_is_better) and refit_fits(seconds):
            holder.update(params=params, score=score, oof=oof)

    def record(study_: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        result.trials.append({"number": trial.number, "value": trial.value, "state": trial.state.name,
                              "params": trial.params, "iteration": state.iteration,
                              "worker": trial.user_attrs.get("worker", "")})
        ctx.publish()

    # fits that keep to one core run two trials at a time on the machine's two cores
    threads = (min(TUNE_THREADS, len(os.sched_getaffinity(0))) if single_threaded(spec.family, len(X))
               and not state.config.max_trials else 1)   # a trial cap asks for reproducible trials: one at a time
    guard = threading.Lock()

    def one_at_a_time(callback):
        def locked(*args):
            with guard:
                return callback(*args)
        return locked

    objective = make_objective(job, X, y, folds, ctx.cancel_event.is_set, one_at_a_time(keep_if_better))
    try:
        with fitting():   # the worker threads' fits are this thread's wall time spent fitting
            study.optimize(objective, timeout=seconds, n_jobs=threads, callbacks=[one_at_a_time(record), *trial_cap(job)],
                           catch=(ValueError, np.linalg.LinAlgError), gc_after_trial=False)
    finally:
        if storage:
            finish_job(ctx.run_dir, job)
    shared = len(study.trials) - len(result.trials)
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if storage and complete:
        best = study.best_trial
        params = {**spec.params, **best.params}
        took = best.duration.total_seconds() if best.duration else 0.0
        if (params != holder["params"] and is_better(best.value, holder["score"], obj.greater_is_better)
                and refit_fits(took)):
            oof = cv_params(job, params, X, y, folds)
            holder.update(params=params, score=score_oof(job, y, oof)[0][obj.metric], oof=oof)
            state.notes.append(f"The best trial came from tune-worker {best.user_attrs.get('worker', '?')}.")
    done = [t for t in result.trials if t["state"] == "COMPLETE"]
    state.notes.append(f"Optuna tuned {spec.name}: {len(result.trials)} trials here "
                       f"({len(done)} complete, {sum(1 for t in result.trials if t['state'] == 'PRUNED')} pruned)"
                       + (f" and {shared} by tune-workers on the shared study" if storage else "")
                       + f" in a {seconds:.0f} s budget.")
    return holder["params"], holder["score"], holder["oof"]

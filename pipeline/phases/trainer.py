"""Model Trainer: screen candidate families by CV, tune the best with Optuna, blend, refit on the training part.

Each step has its own module: trainer_plan (which families, the user's wishes, the training gate),
trainer_screen, trainer_tune, trainer_blend and trainer_refit. The holdout is never touched here.
"""

from __future__ import annotations

import math
import time

import numpy as np

from pipeline.brains.base import ModelPlan, ModelRequest
from pipeline.ml.models import feature_importance
from pipeline.ml.runtime import TabularModel
from pipeline.phases.trainer_blend import blend
from pipeline.phases.trainer_plan import ask_plan, review_plan
from pipeline.phases.trainer_refit import TUNED, in_sample_metrics, refit, refit_rows
from pipeline.phases.trainer_score import cv_scores
from pipeline.phases.trainer_screen import ENSEMBLE_MEMBERS, screen, screen_key
from pipeline.phases.trainer_tune import REFIT_SLACK, refit_allowance, tune_best, tuning_fits
from pipeline.run.context import Budget, PhaseContext
from pipeline.state import RunState, TrainResult

EVALUATION_SLACK = 1.2  # spare-time tuning leaves this many times the last evaluation's duration for the next
CRITIC_S = 0.1  # the critic after a spare-time round: too little time is left for a loop, so it decides by rule
SPARE_START_S = 0.3  # a spare-time round's plan and reused screening, before it can tune


def trainer_budget(state: RunState, ctx: PhaseContext) -> float:
    """Seconds this trainer run may use: most of what is left on the last loop, about half before.

    Half is kept back only when it could pay for another loop (the critic's estimate of a retrain is
    three quarters of this one); otherwise it would be left unused at the end of the run.
    """
    if extra_tuning(state):
        return spare_budget(state, ctx)
    remaining = ctx.budget.remaining() - ctx.budget.finish_reserve()
    loops_left = state.config.max_loops - (state.iteration - 1)
    another_loop_fits = 0.5 * remaining >= Budget.MIN_LOOP_S + Budget.LOOP_COST_SHARE * 0.5 * remaining
    share = 0.5 if loops_left > 0 and another_loop_fits else 0.8  # the rest pays for evaluation and the critic
    return max(1.0, remaining * share)


def spare_budget(state: RunState, ctx: PhaseContext) -> float:
    """Seconds a spare-time round may use: all that is left but the next evaluation, the delivered refit and the
    export."""
    evaluated = [r.duration_s or 0.0 for r in state.history if r.phase == "evaluator"]
    spare = ctx.budget.remaining() - ctx.budget.export_reserve() - ctx.budget.final_refit_s
    return max(1.0, spare - EVALUATION_SLACK * (evaluated[-1] if evaluated else 0.0) - CRITIC_S)


def spare_tuning_pays(state: RunState, ctx: PhaseContext) -> bool:
    """Whether the time a loop cannot use buys tuning: the best family's screening CV is kept (the round reuses it
    instead of screening again), after keeping the refit tuning estimated for it the round has room for a trial
    of one of the families a blend may take (the best first; a trial costs about its screening CV) by the tuning
    step's own rule, and the last spare round did not end without a trial. Time this declines goes to the
    delivered model's seed bag."""
    training, last = state.training, state.decisions[-1] if state.decisions else None
    if state.config.max_trials:
        return False
    if not (training.spare_ready and ctx.screened):  # e.g. cut short by the clock, or after a resume
        return False
    if last is not None and last.extra_tuning and not any(t["state"] == "COMPLETE" for t in training.trials):
        return False
    scored = [c for c in training.candidates if c.cv_score is not None]
    if not scored:
        return False
    ranked = sorted(scored, key=lambda c: -c.cv_score if state.objective.greater_is_better else c.cv_score)
    seconds = spare_budget(state, ctx) - refit_allowance(training.spare_refit_s) - SPARE_START_S
    return tuning_fits(seconds, min(c.fit_seconds for c in ranked[:ENSEMBLE_MEMBERS]))


def extra_tuning(state: RunState) -> bool:
    """Whether this trainer run spends time the critic left over (one family, the rest of the budget)."""
    return bool(state.decisions and state.decisions[-1].action == "retrain_model" and state.decisions[-1].extra_tuning)


def run(state: RunState, ctx: PhaseContext) -> TrainResult:
    split, obj, task, seed = ctx.split, state.objective, state.profile.task, state.config.seed
    started = time.monotonic()
    budget = trainer_budget(state, ctx)
    extra = extra_tuning(state)
    plan, result, waited = _plan(state, ctx, extra)
    started += waited  # time at the gate is not the trainer's
    state.training = result
    ctx.publish()

    screening = screen(state, ctx, plan, result, budget, started, extra)
    scored = [c for c in result.candidates if c.cv_score is not None and not math.isnan(c.cv_score)]
    if not scored:
        raise RuntimeError("every candidate model failed: " + "; ".join(c.error for c in result.candidates)[:500])
    ranked = sorted(scored, key=lambda c: -c.cv_score if obj.greater_is_better else c.cv_score)
    best, others = ranked[0], ranked[1:]
    tuned = tune_best(state, ctx, plan, screening, best, others, result, budget, started)
    result.spare_refit_s, result.spare_ready = tuned.refit_best, best.name in screening.kept
    members, weights, oof = blend(state, ctx, plan, screening, tuned, best, others, budget, started)
    metrics, threshold = cv_scores(tuned.y, oof, state, ctx)
    result.best = members[0][2] if len(members) == 1 else "Blend: " + " + ".join(m[2] for m in members)
    result.best_params = members[0][1]  # the best member alone (the blend's first)
    result.cv_metrics = metrics
    result.cv_score = metrics.get(obj.metric)
    result.threshold = threshold
    np.save(ctx.run_dir / "data" / f"oof_it{state.iteration}.npy", oof)

    # the refit on every training row, or on as many as the run has time for
    ctx.check_cancelled()
    X, y, n = screening.X, screening.y, len(screening.X)
    costs = {cand.name: screening.refit_seconds(cand) for cand in others}
    costs.update({name + TUNED: REFIT_SLACK * costs[name] for name in tuned.others})  # tuning may pick slower ones
    costs[best.name] = costs[best.name + TUNED] = tuned.refit_best
    refit_cost = sum(costs.get(m[2], 0.0) for m in members)
    left = ctx.budget.remaining() - ctx.budget.finish_reserve()
    Xr, yr = refit_rows(X, y, refit_cost, left, len(screening.Xs), seed)
    if len(tuned.X) < n:
        state.notes.append(
            f"CV metrics of the selected model come from a uniform sample of {len(tuned.X):,} of the "
            f"{n:,} training rows; the final model is refit on "
            + ("all of them." if len(Xr) == n else f"{len(Xr):,} of them.")
        )
    if len(Xr) < n:
        state.notes.append(
            f"The final model was refit on a uniform sample of {len(Xr):,} of the {n:,} training rows: "
            f"refitting on all of them (~{refit_cost:.0f} s) would have overrun the time budget. "
            "Its holdout metrics are measured on the locked holdout as usual."
        )
    final = refit(state, ctx, result, members, weights, Xr, yr, plan.class_weight)
    result.train_metrics = in_sample_metrics(state, ctx, final, Xr, yr, threshold)
    result.feature_importance = feature_importance(final.members[0] if len(members) > 1 else final)
    model = TabularModel(
        feature_code=ctx.data.features.code,
        pipeline=final,
        task=task,
        target=state.profile.target,
        raw_columns=list(split.X_train.columns),
        required_columns=ctx.data.features.required_columns,
        raw_dtypes=split.raw_dtypes,
        classes=split.classes,
        threshold=threshold,
        positive_index=split.positive_index,
        metric=obj.metric,
    )
    result.model_path = ctx.data.keep_model(state.iteration, model)
    return result


def _plan(state: RunState, ctx: PhaseContext, extra: bool) -> tuple[ModelPlan, TrainResult, float]:
    """The brain's plan (later loops re-screen only the families that did best), reviewed against the user's
    wishes and the optional training gate; the fresh result, and the seconds spent waiting at the gate."""
    obj, X = state.objective, ctx.data.features.train
    previous = state.training if state.training.best else None
    retrained = bool(state.decisions and state.decisions[-1].action == "retrain_model" and not extra)
    regularisation = (previous.regularisation if previous else 0) + (1 if retrained else 0)
    if previous:
        previous = TrainResult(**{**previous.__dict__, "regularisation": regularisation})
    request = ModelRequest(
        profile=state.profile,
        objective=obj,
        n_rows=len(X),
        n_features=X.shape[1],
        iteration=state.iteration,
        critic_feedback=state.decisions[-1].reason if state.decisions else "",
        previous=previous or TrainResult(regularisation=regularisation),
        user_feedback=state.user_feedback.get("training", ""),
    )
    plan = ask_plan(state, ctx, request)
    if previous and previous.candidates:  # later loops re-screen only the families that did best
        ranked = sorted(
            (c for c in previous.candidates if c.cv_score is not None),
            key=lambda c: -c.cv_score if obj.greater_is_better else c.cv_score,
        )
        keep = {c.family for c in ranked[: ENSEMBLE_MEMBERS if extra else 2]}
        kept = [c for c in plan.candidates if c.family in keep] or plan.candidates
        if extra:  # spare time: the best family, and the next ones where their screening CV can be reused
            seed = state.config.seed
            kept = [
                c for c in kept if c.family == ranked[0].family or screen_key(ctx, X, seed, c, plan) in ctx.screened
            ]
        plan = ModelPlan(kept, plan.class_weight, plan.reasoning)
    plan, waited = review_plan(state, ctx, request, plan)  # user's family wishes; the optional training gate
    return plan, TrainResult(metric=obj.metric, regularisation=regularisation), waited

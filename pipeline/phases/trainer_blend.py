"""Model Trainer, step 3: blend the tuned family with the next best screened ones when their out-of-fold
predictions together score better (Caruana-style greedy ensemble selection, as AutoGluon's weighted ensemble)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from pipeline.brains.base import ModelPlan
from pipeline.ml.cv import OutOfTime, oof_predictions
from pipeline.ml.metrics import is_better
from pipeline.ml.models import make_pipeline
from pipeline.phases.trainer_refit import TUNED, Member
from pipeline.phases.trainer_score import cv_scores
from pipeline.phases.trainer_screen import ENSEMBLE_MEMBERS, Screening
from pipeline.phases.trainer_tune import REFIT_SLACK, Tuned
from pipeline.run.context import PhaseContext
from pipeline.state import CandidateResult, RunState


def blend(
    state: RunState,
    ctx: PhaseContext,
    plan: ModelPlan,
    screening: Screening,
    tuned: Tuned,
    best: CandidateResult,
    others: list[CandidateResult],
    budget: float,
    started: float,
) -> tuple[list[Member], list[float], np.ndarray]:
    """The members (family, params, name), their weights and the blend's out-of-fold predictions on the tuning
    rows; the tuned family alone when no blend scores better or the members' refits would not fit."""
    spec = next(s for s in plan.candidates if s.name == best.name)
    alone = ([(spec.family, tuned.params, spec.name)], [1.0], tuned.oof)
    on_screen_rows = tuned.X is screening.Xs
    if not (on_screen_rows or tuned.blend_here) or len(screening.oofs) <= 1:
        return alone
    pool = {spec.name + TUNED: tuned.oof}
    params_of = {spec.name + TUNED: tuned.params}
    # Members join only if their refit still fits: in this trainer's share, or else in what the whole run has
    # left (tuning may overrun its share by a trial, and a blend dropped for that can leave a bigger budget
    # scoring below a smaller one).
    run_left = ctx.budget.remaining() - ctx.budget.finish_reserve()
    left = max(budget - (time.monotonic() - started), run_left) - tuned.refit_best
    joining = [c for i, c in enumerate(others) if i < ENSEMBLE_MEMBERS - 1 or c.name in tuned.others]
    for cand in joining:
        cost = screening.refit_seconds(cand) * (REFIT_SLACK if cand.name in tuned.others else 1.0)
        if cand.name not in screening.oofs or cost > left:
            continue
        if on_screen_rows:
            if cand.name in tuned.others:  # tuned in the time the best family's search left
                params_of[cand.name + TUNED], pool[cand.name + TUNED] = tuned.others[cand.name]
            else:
                pool[cand.name] = screening.oofs[cand.name]
            left -= cost
            continue
        member = next(s for s in plan.candidates if s.name == cand.name)
        try:  # the member's out-of-fold predictions on the tuning rows, stopped if its refit would not fit
            pool[cand.name] = oof_predictions(
                lambda Xf, s=member: make_pipeline(
                    s.family, state.profile.task, s.params, Xf, plan.class_weight, state.config.seed
                ),
                tuned.X,
                tuned.y,
                tuned.folds,
                state.profile.task,
                ctx.split.classes,
                deadline=started + budget - tuned.refit_best - cost,
                fold_estimate=cand.fit_seconds / max(len(screening.folds), 1) * len(tuned.X) / len(screening.Xs),
            )
            left = budget - (time.monotonic() - started) - tuned.refit_best - cost
        except OutOfTime:
            break
    chosen = greedy_blend(pool, tuned.y, state, ctx)
    if list(chosen) == [spec.name + TUNED]:
        return alone
    specs = {c.name: c for c in plan.candidates}
    members = []
    for name in chosen:
        base = name.removesuffix(TUNED)
        members.append((specs[base].family, params_of.get(name, specs[base].params), name))
    total = sum(chosen.values())
    weights = list(chosen.values())
    if len(chosen) == 1:
        state.notes.append(f"{members[0][2]} alone scores best out of fold; it is the model.")
        return members, weights, pool[members[0][2]]
    state.notes.append(
        "Blended "
        + ", ".join(f"{name} ×{w / total:.2f}" for name, w in chosen.items())
        + " (greedy ensemble selection on out-of-fold predictions)."
    )
    return members, weights, sum(pool[name] * w for name, w in chosen.items()) / total


def greedy_blend(
    pool: dict[str, np.ndarray], y: pd.Series, state: RunState, ctx: PhaseContext, rounds: int = 15
) -> dict[str, float]:
    """Caruana-style ensemble selection with replacement, from the best member alone; returns member -> weight
    (count)."""
    gib, metric = state.objective.greater_is_better, state.objective.metric
    names = list(pool)
    alone = {name: cv_scores(y, pool[name], state, ctx)[0][metric] for name in names}
    first = max(names, key=lambda n: alone[n] if gib else -alone[n])  # the first listed wins ties
    counts = {first: 1.0}
    acc = pool[first].copy()
    best = alone[first]
    for _ in range(rounds):
        k = sum(counts.values())
        trial = {name: cv_scores(y, (acc + pool[name]) / (k + 1), state, ctx)[0][metric] for name in names}
        name = max(trial, key=lambda n: trial[n] if gib else -trial[n])
        if not is_better(trial[name], best, gib, 1e-6 * max(abs(best), 1.0)):
            break
        best = trial[name]
        counts[name] = counts.get(name, 0.0) + 1.0
        acc = acc + pool[name]
    return counts

"""The trainer's candidate plan: asked of the brain, completed from the offline plan, filtered by the user's
wishes about families, and reviewed at the training gate."""

from __future__ import annotations

import time
from typing import Any

from pipeline.brains.base import ModelPlan, ModelRequest
from pipeline.brains.offline import OfflineBrain
from pipeline.ml.families import FAMILIES, REQUIRED
from pipeline.run import gates
from pipeline.run.context import PhaseContext
from pipeline.run.feedback import filter_plan
from pipeline.state import RunState


def _ensure_plan(plan: ModelPlan | None, fallback: ModelPlan) -> ModelPlan:
    """Keep the brain's valid candidates; fill in the required families from the offline plan."""
    if plan is None or not plan.candidates:
        return fallback
    valid = [c for c in plan.candidates if c.family in FAMILIES]
    have = {c.family for c in valid}
    for spec in fallback.candidates:
        if spec.family not in have and spec.family in REQUIRED:
            valid.append(spec)
    return ModelPlan(candidates=valid[:6], class_weight=plan.class_weight, reasoning=plan.reasoning)


def ask_plan(state: RunState, ctx: PhaseContext, request: ModelRequest) -> ModelPlan:
    """The brain's candidate plan (the offline one when a language model cannot plan), completed with the
    families every plan screens."""
    return _ensure_plan(ctx.brain.model_plan(request), OfflineBrain().model_plan(request))


def review_plan(state: RunState, ctx: PhaseContext, request: Any, plan: Any) -> tuple[Any, float]:
    """The training gate; also keeps the user's family wishes ('do not use lightgbm') on every loop.
    Returns the plan and the seconds spent waiting at the gate."""
    t0 = time.monotonic()

    plan, note = filter_plan(plan, state.user_feedback.get("training", ""))
    if note and note not in state.notes:
        state.notes.append(note)
    while True:
        cands = [
            {"name": c.name, "family": c.family, "params": c.params, "search_space": c.search_space}
            for c in plan.candidates
        ]
        summary = (
            f"{len(cands)} candidate families will be screened by {state.config.cv_folds}-fold CV on "
            f"**{state.objective.metric}**; the best is tuned with Optuna in its search space. "
            f'{plan.reasoning} Rejecting sends your feedback (e.g. "do not use lightgbm", "only linear", '
            '"optimise recall") to the brain and plans again.'
        )
        approved, feedback = gates.ask(
            state,
            ctx,
            "training",
            summary,
            {
                "candidates": cands,
                "class_weight": plan.class_weight,
                "reasoning": plan.reasoning,
                "metric": state.objective.metric,
            },
        )
        if approved:
            return plan, gates.waited_at(state, "training", t0)
        ctx.check_cancelled()
        if feedback:
            state.user_feedback["training"] = gates.merge_feedback(state.user_feedback.get("training", ""), feedback)
            request.user_feedback = state.user_feedback["training"]
        plan = ask_plan(state, ctx, request)
        plan, note = filter_plan(plan, state.user_feedback.get("training", ""))
        if note:
            state.notes.append(note)

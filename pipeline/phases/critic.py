"""Critic: finalize, refine the features, or retrain the model, with a written reason.

The brain proposes; this phase enforces the loop bound and the time budget, and hides holdout
scores from the brain so that no decision is made on the holdout.
"""

from __future__ import annotations

import dataclasses

from pipeline.brains.base import CriticRequest
from pipeline.phases.trainer import spare_tuning_pays
from pipeline.run import gates
from pipeline.run.context import Budget, PhaseContext
from pipeline.run.feedback import feedback_route
from pipeline.state import PHASES, CriticDecision, RunState


def run(state: RunState, ctx: PhaseContext) -> CriticDecision:
    """The critic's decision, then the optional finalize gate (a rejection routes the work back)."""
    return review_decision(state, ctx, _decide(state, ctx))


def _decide(state: RunState, ctx: PhaseContext) -> CriticDecision:
    it = state.iteration
    loops_done = it - 1
    if loops_done >= state.config.max_loops:
        return CriticDecision(
            it,
            "finalize",
            f"Loop bound reached ({state.config.max_loops} loop(s)); keeping the best iteration by CV.",
            "rule",
        )
    left = ctx.budget.remaining() - ctx.budget.finish_reserve()
    if left < Budget.MIN_LOOP_S and not spare_tuning_pays(state, ctx):
        return CriticDecision(
            it,
            "finalize",
            f"Not enough of the time budget left for another loop ({ctx.budget.remaining():.0f} s left); finalizing.",
            "rule",
        )
    if left < Budget.MIN_LOOP_S:
        return CriticDecision(
            it,
            "retrain_model",
            f"{ctx.budget.remaining():.0f} s of the time budget are left: not "
            "enough for another loop, so they go to tuning the best model family "
            "further (the best iteration by CV is kept).",
            "rule",
            extra_tuning=True,
        )
    blind_eval = dataclasses.replace(state.evaluation, holdout_metrics={}, confusion={}, curves={}, summary_md="")
    request = CriticRequest(
        profile=state.profile,
        objective=state.objective,
        training=state.training,
        evaluation=blind_eval,
        iteration=it,
        max_loops=state.config.max_loops,
        cv_history=[s.cv_score for s in state.iterations],
        feature_history=[
            {"iteration": a.iteration, "kept": a.kept, "reason": a.reason} for a in state.features.attempts
        ],
    )
    decision = ctx.brain.critic_decision(request)  # a language model that cannot decide is answered for offline
    decision.iteration = it
    needed = loop_cost(state, decision.action)
    left = ctx.budget.remaining() - ctx.budget.finish_reserve()
    if decision.action == "refine_features" and left < needed and left >= loop_cost(state, "retrain_model"):
        return CriticDecision(
            it,
            "retrain_model",
            f"{decision.reason} — but a feature loop would take about "
            f"{needed:.0f} s and {left:.0f} s are left, so the time goes to "
            "another round of model search instead.",
            decision.source,
        )
    if decision.action != "finalize" and left < needed:
        decision = CriticDecision(
            it,
            "finalize",
            f"{decision.reason} — but another loop would take about {needed:.0f} s and only {left:.0f} s are left.",
            decision.source,
        )
    # time a loop cannot use goes to tuning the best family further: its screening CV is reused, so even a few
    # seconds buy trials (and what is left after that goes into the delivered model's seed bag)
    if decision.action == "finalize" and spare_tuning_pays(state, ctx):
        return CriticDecision(
            it,
            "retrain_model",
            f"{decision.reason} — {left:.0f} s of the time budget are left, so "
            "they go to tuning the best model family further (the best "
            "iteration by CV is kept).",
            decision.source,
            extra_tuning=True,
        )
    return decision


def loop_cost(state: RunState, action: str, share: float = Budget.LOOP_COST_SHARE) -> float:
    """Seconds the phases a route re-runs took in this iteration (gate waits excluded), scaled by `share`:
    later loops re-screen fewer candidates."""
    start = {"refine_features": "features", "retrain_model": "trainer"}.get(action)
    if start is None:
        return 0.0
    phases = set(PHASES[PHASES.index(start) : -1])
    spent = sum((r.duration_s or 0.0) for r in state.history if r.iteration == state.iteration and r.phase in phases)
    waited = sum(g.waited_s for g in state.gate_log if g.iteration == state.iteration)
    return max(Budget.MIN_LOOP_S, share * max(0.0, spent - waited))


def review_decision(state: RunState, ctx: PhaseContext, decision: CriticDecision) -> CriticDecision:
    """The finalize gate: a rejection sends the work back (refine features or retrain), within max_loops."""
    if decision.action != "finalize" or "finalize" not in (state.config.gates or []):
        return decision
    loops_done = state.iteration - 1
    bound = loops_done >= state.config.max_loops
    cv = [{"iteration": s.iteration, "model": s.model, "cv_score": s.cv_score} for s in state.iterations]
    summary = (
        f"The critic proposes to **finalize**: {decision.reason} Approving keeps the best iteration by CV "
        "and writes the report, model and export. "
        + (
            "The loop bound is reached, so a rejection cannot send the work back."
            if bound
            else 'Rejecting with feedback such as "refine features", "drop column X" or "retrain" / '
            '"optimise recall" sends the work back for another loop.'
        )
    )
    approved, feedback = gates.ask(
        state,
        ctx,
        "finalize",
        summary,
        {
            "action": decision.action,
            "reason": decision.reason,
            "source": decision.source,
            "iteration": state.iteration,
            "max_loops": state.config.max_loops,
            "cv_history": cv,
            "metric": state.objective.metric,
        },
    )
    if approved:
        return decision
    if bound:
        note = f"Finalizing was rejected, but the loop bound ({state.config.max_loops} loop(s)) is reached; finalizing."
        state.notes.append(note)
        decision.reason += " (Rejected by the user, but the loop bound is reached.)"
        return decision
    action = feedback_route(feedback)
    key = "features" if action == "refine_features" else "training"
    if feedback:
        state.user_feedback[key] = gates.merge_feedback(state.user_feedback.get(key, ""), feedback)
    return CriticDecision(
        decision.iteration,
        action,
        "The user rejected finalizing"
        + (f": {feedback}" if feedback else "")
        + (" — refining the features." if action == "refine_features" else " — retraining the model."),
        "user",
    )

"""Critic: finalize, refine the features, or retrain the model, with a written reason.

The brain proposes; this phase enforces the loop bound and the time budget, and hides holdout
scores from the brain so that no decision is made on the holdout.
"""
from __future__ import annotations

import dataclasses

from pipeline import gates
from pipeline.brains.base import CriticRequest
from pipeline.context import PhaseContext
from pipeline.state import CRITIC_ACTIONS, CriticDecision, RunState

MIN_LOOP_SECONDS = 8.0


def run(state: RunState, ctx: PhaseContext) -> CriticDecision:
    """The critic's decision, then the optional finalize gate (a rejection routes the work back)."""
    return gates.review_decision(state, ctx, _decide(state, ctx))


def _decide(state: RunState, ctx: PhaseContext) -> CriticDecision:
    it = state.iteration
    loops_done = it - 1
    if loops_done >= state.config.max_loops:
        return CriticDecision(it, "finalize", f"Loop bound reached ({state.config.max_loops} loop(s)); "
                                              "keeping the best iteration by CV.", "rule")
    last_trainer = next((r for r in reversed(state.history) if r.phase == "trainer" and r.duration_s), None)
    trained = (last_trainer.duration_s - sum(g.waited_s for g in state.gate_log if g.name == "training"
                                             and g.iteration == last_trainer.iteration)) if last_trainer else 0.0
    needed = max(MIN_LOOP_SECONDS, 0.6 * trained)   # time waiting at the training gate is not training time
    if ctx.budget.remaining() - ctx.budget.finish_reserve() < needed:
        return CriticDecision(it, "finalize", f"Not enough of the time budget left for another loop "
                                              f"({ctx.budget.remaining():.0f} s left); finalizing.", "rule")
    blind_eval = dataclasses.replace(state.evaluation, holdout_metrics={}, confusion={}, curves={}, summary_md="")
    request = CriticRequest(profile=state.profile, objective=state.objective, training=state.training,
                            evaluation=blind_eval, iteration=it, max_loops=state.config.max_loops,
                            cv_history=[s.cv_score for s in state.iterations],
                            feature_history=[{"iteration": a.iteration, "kept": a.kept, "reason": a.reason}
                                             for a in state.features.attempts])
    try:
        decision = ctx.brain.critic_decision(request)
    except Exception as exc:  # a brain that cannot decide hands over to the rules
        state.notes.append(f"Critic from {ctx.brain.name} failed ({type(exc).__name__}); the offline critic decided.")
        decision = ctx.fallback.critic_decision(request)
    if decision.action not in CRITIC_ACTIONS:
        decision = ctx.fallback.critic_decision(request)
    decision.iteration = it
    return decision

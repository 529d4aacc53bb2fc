"""The one fallback layer: a language-model brain answered for by the offline brain whenever it cannot answer.

The primary brain raises when it has no answer (provider down, budget or time spent, an answer invalid twice,
a bug); this wrapper then asks the offline brain and records the fallback with its reason in the run's ledger
(`usage()["fallbacks"]`). Code is the exception: codegen also falls back when the primary's code fails in the
sandbox, so for code the wrapper records and re-raises, and codegen runs `fallback`'s code next.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import Any

from pipeline.brains.base import (
    Brain,
    BrainUnavailable,
    CodeFailure,
    CriticRequest,
    FeatureRequest,
    ModelPlan,
    ModelRequest,
    PlotRequest,
)
from pipeline.brains.offline import OfflineBrain
from pipeline.state import CriticDecision, EvalResult, Objective, ProfileResult, TrainResult

FALLBACK_SOURCE = "offline-fallback"  # what a decision or code written by the fallback brain is labelled
MAX_REASON_CHARS = 500


class FallbackBrain:
    """A `Brain`: the primary's answers, or the offline brain's when the primary raises (see the module)."""

    def __init__(self, primary: Brain, scrub: Callable[[str], str], offline: OfflineBrain | None = None) -> None:
        self.primary = primary
        self.fallback = offline or OfflineBrain()
        self.scrub = scrub  # reasons can quote provider errors: keys are scrubbed before they are kept
        self.name = primary.name
        self.model = primary.model
        self.repair_attempts = primary.repair_attempts
        self.unavailable_reason = primary.unavailable_reason
        self._lock = threading.Lock()
        self._fallbacks: list[dict[str, Any]] = []

    def set_deadline(self, deadline: float | None) -> None:
        self.primary.set_deadline(deadline)

    def _record(self, phase: str, method: str, exc: BaseException) -> None:
        reason = str(exc) if isinstance(exc, BrainUnavailable) else f"internal error: {type(exc).__name__}: {exc}"
        entry = {"phase": phase, "method": method, "reason": self.scrub(reason)[:MAX_REASON_CHARS], "time": time.time()}
        with self._lock:
            self._fallbacks.append(entry)

    def _ask(self, phase: str, method: str, primary: Callable[[], Any], offline: Callable[[], Any]) -> Any:
        try:
            return primary()
        except Exception as exc:  # whatever the primary's failure, the run goes on with the offline answer
            self._record(phase, method, exc)
            return offline()

    def read_objective(self, text: str, columns: list[str]) -> Objective:
        return self._ask(
            "objective",
            "read_objective",
            lambda: self.primary.read_objective(text, columns),
            lambda: self.fallback.read_objective(text, columns),
        )

    def profile_summary(self, profile: ProfileResult, objective: Objective) -> str:
        return self._ask(
            "profiler",
            "profile_summary",
            lambda: self.primary.profile_summary(profile, objective),
            lambda: self.fallback.profile_summary(profile, objective),
        )

    def feature_code(self, request: FeatureRequest) -> str:
        try:
            return self.primary.feature_code(request)
        except Exception as exc:
            self._record("features", "feature_code", exc)
            raise

    def plot_code(self, request: PlotRequest) -> str:
        try:
            return self.primary.plot_code(request)
        except Exception as exc:
            self._record("visualizer", "plot_code", exc)
            raise

    def repair_code(self, failure: CodeFailure, request: Any) -> str | None:
        """The primary's fix, or None (recorded) when it has none: codegen then runs the fallback's code. A bug in
        the primary reaches codegen, which logs it with the attempt."""
        try:
            return self.primary.repair_code(failure, request)
        except BrainUnavailable as exc:
            self._record("features" if failure.kind == "features" else "visualizer", "repair_code", exc)
            return None

    def model_plan(self, request: ModelRequest) -> ModelPlan:
        return self._ask(
            "trainer",
            "model_plan",
            lambda: self.primary.model_plan(request),
            lambda: self.fallback.model_plan(request),
        )

    def evaluation_summary(self, training: TrainResult, evaluation: EvalResult, objective: Objective) -> str:
        return self._ask(
            "evaluator",
            "evaluation_summary",
            lambda: self.primary.evaluation_summary(training, evaluation, objective),
            lambda: self.fallback.evaluation_summary(training, evaluation, objective),
        )

    def critic_decision(self, request: CriticRequest) -> CriticDecision:
        def offline() -> CriticDecision:
            decision = self.fallback.critic_decision(request)
            decision.source = FALLBACK_SOURCE
            return decision

        return self._ask("critic", "critic_decision", lambda: self.primary.critic_decision(request), offline)

    def usage(self) -> dict[str, Any]:
        """The primary's ledger (calls, tokens, cost, repairs) with every fallback and its reason."""
        with self._lock:
            fallbacks = copy.deepcopy(self._fallbacks)
        return {**self.primary.usage(), "fallbacks": fallbacks}

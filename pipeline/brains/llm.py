"""The LLM brain: prompts -> provider -> parse -> validate -> (retry once), or BrainUnavailable.

Every `Brain` method is implemented. Code methods return source in the contract's shape (one
`transform(df)` or `make_plots(...)`), extracted tolerantly from fences or prose. Decision methods
return validated dataclasses: a JSON answer (tool call, JSON mode or JSON in prose) is checked against
a schema and an invalid one is sent back once with the problem. Whenever there is no usable answer (the
provider down or refusing, the cost or time budget spent, no code, invalid twice) a method raises
`BrainUnavailable` with the reason; `pipeline.brains.fallback.FallbackBrain` answers offline then.

`usage()` is the model's ledger: every call (phase, tokens, dollars, duration, HTTP requests, outcome),
per-phase and total sums, and every repair attempt.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from pipeline.brains import prompts
from pipeline.brains.answers import extract_code, extract_json, plan_from, schema_problem
from pipeline.brains.base import (
    BrainUnavailable,
    CodeFailure,
    CriticRequest,
    FeatureRequest,
    ModelPlan,
    ModelRequest,
    PlotRequest,
)
from pipeline.brains.offline import OfflineBrain
from pipeline.brains.providers import Completion, FunctionSpec, Provider, ProviderError, cost_of
from pipeline.ml.metrics import METRICS
from pipeline.state import CRITIC_ACTIONS, CriticDecision, EvalResult, Objective, ProfileResult, TrainResult

DEFAULT_REPAIR_ATTEMPTS = 2
DOWN_AFTER = 2  # consecutive calls that fail on transport (after the SDK's retries) = provider down
MAX_TEXT_CHARS = 6000
CODE_MAX_TOKENS = 4096
DECISION_MAX_TOKENS = 2048
TEXT_MAX_TOKENS = 1200
MIN_SECONDS_LEFT = 1.0  # no model calls when less of the run's budget is left
CALL_SHARE_OF_TIME_LEFT = 0.5  # one call (all its HTTP attempts) may use at most this share of what is left


class LLMBrain:
    """A `Brain` backed by a language model. It raises when it cannot answer; make_brain wraps it in the one
    fallback layer (brains.fallback.FallbackBrain). The offline brain inside only feeds prompts: the objective
    read by rules, the rule-based plan and findings that the model is asked to improve on."""

    def __init__(
        self, provider: Provider, settings: Mapping[str, str] | None = None, offline: OfflineBrain | None = None
    ) -> None:
        settings = settings or {}
        self.provider = provider
        self.name = provider.name
        self.unavailable_reason = ""
        self.fallback = None  # FallbackBrain, around this one, holds the offline brain
        self.model = provider.model
        self.offline = offline or OfflineBrain()
        self.repair_attempts = _int(settings.get("LLM_REPAIR_ATTEMPTS"), DEFAULT_REPAIR_ATTEMPTS)
        self.max_cost_usd = _float(settings.get("LLM_MAX_COST_USD"))
        self.down_after = max(1, _int(settings.get("LLM_DOWN_AFTER"), DOWN_AFTER))
        self._lock = threading.Lock()
        self._calls: list[dict[str, Any]] = []
        self._repairs: list[dict[str, Any]] = []
        self._consecutive_failures = 0
        self._down_reason = ""
        self._budget_reason = ""
        self._deadline: float | None = None  # time.monotonic() by which the run must finish

    def set_deadline(self, deadline: float | None) -> None:
        """The run's wall-clock deadline: calls get shorter timeouts near it and stop when it is too close."""
        self._deadline = deadline

    def _time_left(self) -> float | None:
        return None if self._deadline is None else self._deadline - time.monotonic()

    # --- transport and bookkeeping -----------------------------------------------------------
    def _unavailable(self) -> str:
        if self._down_reason:
            return self._down_reason
        left = self._time_left()
        if left is not None and left < MIN_SECONDS_LEFT:
            return f"the run's time budget is nearly spent ({max(0.0, left):.0f} s left)"
        if self.max_cost_usd is not None and self._spent() >= self.max_cost_usd:
            self._budget_reason = (
                f"the LLM_MAX_COST_USD budget of ${self.max_cost_usd:.4f} is spent (${self._spent():.4f} so far)"
            )
            return self._budget_reason
        return ""

    def _spent(self) -> float:
        return sum(c["cost_usd"] or 0.0 for c in self._calls)

    def _call(
        self,
        phase: str,
        purpose: str,
        messages: list[dict[str, str]],
        spec: FunctionSpec | None = None,
        max_tokens: int = CODE_MAX_TOKENS,
    ) -> tuple[Completion | None, dict[str, Any] | None, str]:
        """One model call, recorded. Returns (completion or None, its record, why there is no completion)."""
        reason = self._unavailable()
        if reason:
            return None, None, reason
        record: dict[str, Any] = {
            "seq": len(self._calls) + 1,
            "phase": phase,
            "purpose": purpose,
            "provider": self.provider.name,
            "model": self.model,
            "tokens_in": 0,
            "tokens_out": 0,
            "cost_usd": None,
            "duration_s": 0.0,
            "http_requests": 0,
            "statuses": [],
            "outcome": "",
            "error": "",
            "time": time.time(),
        }
        t0 = time.monotonic()
        try:
            left = self._time_left()
            timeout = (
                None
                if left is None
                else max(MIN_SECONDS_LEFT, CALL_SHARE_OF_TIME_LEFT * left / (self.provider.max_retries + 1))
            )
            completion = self.provider.complete(prompts.SYSTEM, messages, spec, max_tokens, timeout)
        except ProviderError as exc:
            record.update(
                outcome=exc.kind,
                error=self.provider.scrub(str(exc))[:600],
                http_requests=exc.http_requests,
                statuses=exc.statuses,
                duration_s=round(time.monotonic() - t0, 3),
            )
            with self._lock:
                self._calls.append(record)
                if exc.transient:
                    self._consecutive_failures += 1
                    if self._consecutive_failures >= self.down_after:
                        self._down_reason = (
                            f"the {self.provider.name} provider is unreachable or failing "
                            f"({self._consecutive_failures} calls in a row; last: {record['error'][:200]})"
                        )
                elif exc.status in (401, 403, 404):
                    self._down_reason = (
                        f"the {self.provider.name} provider refused the requests ({record['error'][:200]})"
                    )
            return None, record, f"{exc.kind}: {record['error'][:300]}"
        except Exception as exc:  # anything unexpected from an SDK: same treatment, scrubbed
            record.update(
                outcome="error",
                error=self.provider.scrub(f"{type(exc).__name__}: {exc}")[:600],
                duration_s=round(time.monotonic() - t0, 3),
            )
            with self._lock:
                self._calls.append(record)
            return None, record, record["error"]
        record.update(
            tokens_in=completion.tokens_in,
            tokens_out=completion.tokens_out,
            cost_usd=cost_of(self.provider.price, completion.tokens_in, completion.tokens_out),
            duration_s=completion.duration_s,
            http_requests=completion.http_requests,
            statuses=completion.statuses,
            outcome="ok",
            mode=completion.mode,
        )
        with self._lock:
            self._calls.append(record)
            self._consecutive_failures = 0
        return completion, record, ""

    # --- code ----------------------------------------------------------------------------------
    def _code(self, phase: str, purpose: str, prompt: str, function: str) -> str:
        messages = [{"role": "user", "content": prompt}]
        completion, record, reason = self._call(phase, purpose, messages)
        if completion is None:
            raise BrainUnavailable(f"{self.name} gave no code: {reason}")
        code = extract_code(completion.text, function)
        if code is None:
            record["outcome"] = "no_code"
            messages += [
                {"role": "assistant", "content": completion.text or "(empty)"},
                {"role": "user", "content": prompts.NO_CODE.format(function=function)},
            ]
            completion, record, reason = self._call(phase, purpose + "_retry", messages)
            if completion is None:
                raise BrainUnavailable(f"{self.name} gave no code: {reason}")
            code = extract_code(completion.text, function)
            if code is None:
                record["outcome"] = "no_code"
                raise BrainUnavailable(f"the model's answer contained no code defining {function}() (twice)")
        return code

    def feature_code(self, request: FeatureRequest) -> str:
        return self._code("features", "feature_code", prompts.features_prompt(request), "transform")

    def plot_code(self, request: PlotRequest) -> str:
        return self._code("visualizer", "plot_code", prompts.plots_prompt(request), "make_plots")

    def repair_code(self, failure: CodeFailure, request: Any) -> str | None:
        phase = "features" if failure.kind == "features" else "visualizer"
        function = "transform" if failure.kind == "features" else "make_plots"
        entry: dict[str, Any] = {
            "phase": phase,
            "kind": failure.kind,
            "stage": failure.stage,
            "error": self.provider.scrub(failure.error)[:500],
            "outcome": "",
            "time": time.time(),
        }
        with self._lock:
            self._repairs.append(entry)
        try:
            original = prompts.features_prompt(request) if failure.kind == "features" else prompts.plots_prompt(request)
        except Exception:
            original = "Write the code described by this contract: " + (failure.kind or "")
        messages = [
            {"role": "user", "content": original},
            {"role": "assistant", "content": "```python\n" + failure.code.rstrip() + "\n```"},
            {"role": "user", "content": prompts.repair_prompt(failure)},
        ]
        completion, record, reason = self._call(phase, "repair_code", messages)
        if completion is None:
            entry.update(outcome="unavailable", reason=reason[:300])
            raise BrainUnavailable(reason)
        code = extract_code(completion.text, function)
        if code is None:
            record["outcome"] = "no_code"
            entry.update(outcome="no_code")
            raise BrainUnavailable(f"the repair answer contained no code defining {function}()")
        entry.update(outcome="proposed", call=record["seq"])
        return code

    # --- decisions -------------------------------------------------------------------------------
    def _decide(
        self,
        phase: str,
        purpose: str,
        prompt: str,
        spec: FunctionSpec,
        check: Callable[[dict[str, Any]], tuple[Any, str | None]],
    ) -> Any:
        """The validated value, after at most one retry; BrainUnavailable with the reason otherwise."""
        messages = [{"role": "user", "content": prompt}]
        problem = ""
        for attempt in (1, 2):
            completion, record, reason = self._call(
                phase, purpose if attempt == 1 else purpose + "_retry", messages, spec, DECISION_MAX_TOKENS
            )
            if completion is None:
                raise BrainUnavailable(reason)
            raw = completion.data if isinstance(completion.data, dict) else extract_json(completion.text)
            problem = schema_problem(raw, spec.schema) or ""
            value = None
            if not problem:
                value, problem = check(raw)
                problem = problem or ""
            if not problem:
                return value
            record["outcome"] = "invalid"
            record["error"] = problem[:300]
            shown = json.dumps(raw)[:2000] if raw is not None else (completion.text or "(empty)")[:2000]
            retry = prompts.JSON_RETRY.format(problem=problem, schema=json.dumps(spec.schema))
            messages = [
                {
                    "role": "user",
                    "content": prompt
                    + "\n\nYour previous answer was:\n"
                    + prompts.data("previous_answer", shown)
                    + "\n\n"
                    + retry,
                }
            ]
        raise BrainUnavailable(f"the model's answer was invalid twice ({problem})")

    def read_objective(self, text: str, columns: list[str]) -> Objective:
        base = self.offline.read_objective(text, columns)
        if not (text or "").strip():
            return base

        def check(raw: dict[str, Any]) -> tuple[Any, str | None]:
            target = raw.get("target")
            if target is not None and target not in columns:
                return None, f"target {target!r} is not one of the column names"
            if raw.get("metric") is not None and raw["metric"] not in METRICS:
                return None, f"unknown metric {raw['metric']!r}"
            return raw, None

        raw = self._decide(
            "objective", "read_objective", prompts.objective_prompt(text, columns), prompts.OBJECTIVE_SPEC, check
        )
        objective = dataclasses.replace(base)
        if raw.get("metric"):
            objective.metric = raw["metric"]
        if raw.get("target"):
            objective.target = raw["target"]
        if raw.get("positive_class"):
            objective.positive_class = str(raw["positive_class"])
        if raw.get("explanation"):
            objective.explanation = str(raw["explanation"])[:500]
        return objective

    def model_plan(self, request: ModelRequest) -> ModelPlan:
        baseline = self.offline.model_plan(request)  # shown to the model as the plan to improve on
        return self._decide(
            "trainer",
            "model_plan",
            prompts.model_plan_prompt(request, _plan_dict(baseline)),
            prompts.MODEL_PLAN_SPEC,
            plan_from,
        )

    def critic_decision(self, request: CriticRequest) -> CriticDecision:
        def check(raw: dict[str, Any]) -> tuple[Any, str | None]:
            if raw.get("action") not in CRITIC_ACTIONS:
                return None, f"action must be one of {', '.join(CRITIC_ACTIONS)}"
            reason = str(raw.get("reason") or "").strip()
            if not reason:
                return None, "the reason is empty"
            return CriticDecision(request.iteration, raw["action"], reason[:800], self.name), None

        return self._decide("critic", "critic_decision", prompts.critic_prompt(request), prompts.CRITIC_SPEC, check)

    # --- text ----------------------------------------------------------------------------------
    def _text(self, phase: str, purpose: str, prompt: str) -> str:
        completion, record, reason = self._call(
            phase, purpose, [{"role": "user", "content": prompt}], max_tokens=TEXT_MAX_TOKENS
        )
        if completion is None:
            raise BrainUnavailable(reason)
        text = (completion.text or "").strip()
        fenced = re.fullmatch(r"```(?:markdown|md)?\s*\n(.*?)```", text, flags=re.S)
        if fenced:
            text = fenced.group(1).strip()
        if len(text) < 20:
            record["outcome"] = "invalid"
            raise BrainUnavailable("the model's answer was empty or too short")
        return text[:MAX_TEXT_CHARS]

    def profile_summary(self, profile: ProfileResult, objective: Objective) -> str:
        baseline = self.offline.profile_summary(profile, objective)  # the model rewrites the rule-based findings
        return self._text("profiler", "profile_summary", prompts.profile_prompt(profile, objective, baseline))

    def evaluation_summary(self, training: TrainResult, evaluation: EvalResult, objective: Objective) -> str:
        return self._text("evaluator", "evaluation_summary", prompts.evaluation_prompt(training, evaluation, objective))

    # --- the ledger ------------------------------------------------------------------------------
    def usage(self) -> dict[str, Any]:
        with self._lock:
            calls = copy.deepcopy(self._calls)
            repairs = copy.deepcopy(self._repairs)
        phases: dict[str, dict[str, Any]] = {}
        for call in calls:
            agg = phases.setdefault(
                call["phase"],
                {
                    "calls": 0,
                    "http_requests": 0,
                    "tokens_in": 0,
                    "tokens_out": 0,
                    "cost_usd": 0.0 if self.provider.price else None,
                    "failed": 0,
                },
            )
            agg["calls"] += 1
            agg["http_requests"] += call["http_requests"]
            agg["tokens_in"] += call["tokens_in"]
            agg["tokens_out"] += call["tokens_out"]
            agg["failed"] += call["outcome"] != "ok"
            if agg["cost_usd"] is not None and call["cost_usd"] is not None:
                agg["cost_usd"] = round(agg["cost_usd"] + call["cost_usd"], 8)
        tokens_in = sum(c["tokens_in"] for c in calls)
        tokens_out = sum(c["tokens_out"] for c in calls)
        cost = round(sum(c["cost_usd"] or 0.0 for c in calls), 8) if self.provider.price else None
        return {
            "brain": self.name,
            **self.provider.describe(),
            "repair_attempts": self.repair_attempts,
            "max_cost_usd": self.max_cost_usd,
            "cost_known": self.provider.price is not None,
            "calls": calls,
            "phases": phases,
            "total": {
                "calls": len(calls),
                "http_requests": sum(c["http_requests"] for c in calls),
                "tokens_in": tokens_in,
                "tokens_out": tokens_out,
                "tokens": tokens_in + tokens_out,
                "cost_usd": cost,
            },
            "repairs": repairs,
            "provider_down": self._down_reason,
            "budget_exhausted": self._budget_reason,
        }


def _plan_dict(plan: ModelPlan) -> dict[str, Any]:
    return {
        "candidates": [dataclasses.asdict(c) for c in plan.candidates],
        "class_weight": plan.class_weight,
        "reasoning": plan.reasoning,
    }


def _int(value: Any, default: int) -> int:
    try:
        return max(0, int(str(value))) if value not in (None, "") else default
    except ValueError:
        return default


def _float(value: Any) -> float | None:
    try:
        number = float(str(value)) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is not None and number >= 0 else None

"""The Brain protocol: everything a phase may ask for, and nothing else.

A brain either decides (returns dataclasses from `pipeline.state`) or writes code (returns a
source string in the exact shape the phase runs). The engine, not the brain, runs code: it goes
through `pipeline.run.codegen`, which checks it, executes it in the sandbox, validates the result and,
when it fails, asks `repair_code` for a fix before falling back to the offline brain.

A language-model brain raises (BrainUnavailable or anything else) when it cannot answer; the one fallback layer
is `pipeline.brains.fallback.FallbackBrain`, which answers with the offline brain instead and records why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pipeline.state import CriticDecision, EvalResult, Objective, ProfileResult, TrainResult

FEATURE_CONTRACT = (
    "Define `def transform(df):` taking a pandas DataFrame of raw feature columns (the target is NOT "
    "included) and returning a DataFrame with the same number of rows in the same order. Only "
    "pandas (pd), numpy (np), math and re may be used; no file, network or OS access."
)
PLOT_CONTRACT = (
    "Define `def make_plots(df, target, task):` that draws with matplotlib/seaborn and returns a list "
    "of (name, matplotlib Figure, one-sentence insight) tuples. Do not change themes or styles."
)


@dataclass
class FeatureRequest:
    """What the Feature Engineer tells the brain when it asks for a `transform(df)`."""

    profile: ProfileResult
    objective: Objective
    feature_columns: list[str]
    dtypes: dict[str, str]
    iteration: int
    previous_code: str = ""
    critic_feedback: str = ""
    user_feedback: str = ""
    sample_rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PlotRequest:
    profile: ProfileResult
    objective: Objective
    columns: list[str]
    top_features: list[str]
    new_features: list[str] = field(default_factory=list)  # later loops: plot only what the loop added


@dataclass
class CandidateSpec:
    """One model family to try, with the search space the tuner may explore.

    `search_space` maps a hyperparameter to ["int", low, high], ["float", low, high, "log"|"linear"]
    or ["cat", [choices...]]; names follow the estimator's own parameter names.
    """

    name: str
    family: str  # lightgbm, linear, hist_gb, random_forest, extra_trees
    params: dict[str, Any] = field(default_factory=dict)
    search_space: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class ModelPlan:
    candidates: list[CandidateSpec]
    class_weight: str | None = None  # "balanced" when the classes are imbalanced
    reasoning: str = ""


@dataclass
class ModelRequest:
    profile: ProfileResult
    objective: Objective
    n_rows: int
    n_features: int
    iteration: int
    critic_feedback: str = ""
    previous: TrainResult | None = None
    user_feedback: str = ""


@dataclass
class CriticRequest:
    profile: ProfileResult
    objective: Objective
    training: TrainResult
    evaluation: EvalResult
    iteration: int
    max_loops: int
    cv_history: list[float | None]
    feature_history: list[dict[str, Any]]


@dataclass
class CodeFailure:
    """Why generated code was refused, for the repair prompt."""

    kind: str  # "features" or "plots"
    code: str
    stage: str  # check, run, validate
    error: str


class BrainUnavailable(RuntimeError):
    """The brain could not answer (down, budget or time spent, no valid answer twice); the message says why."""


@runtime_checkable
class Brain(Protocol):
    name: str  # who answered: "offline", "anthropic", "openai"
    model: str | None  # the language model's name, None for the offline brain
    repair_attempts: int  # how often codegen may ask `repair_code` to fix failed code
    unavailable_reason: str  # why the brain asked for could not be used ("" when it could)
    fallback: Brain | None  # whose code replaces this one's when it fails in the sandbox

    def set_deadline(self, deadline: float | None) -> None:
        """The run's wall-clock deadline (time.monotonic()): calls must not outlive it."""

    def read_objective(self, text: str, columns: list[str]) -> Objective:
        """Turn the user's plain-English goal into a metric (and a target, if one is named)."""

    def profile_summary(self, profile: ProfileResult, objective: Objective) -> str:
        """Markdown key findings for the Data profile panel."""

    def feature_code(self, request: FeatureRequest) -> str:
        """Source defining `transform(df)`; see FEATURE_CONTRACT."""

    def plot_code(self, request: PlotRequest) -> str:
        """Source defining `make_plots(df, target, task)`; see PLOT_CONTRACT."""

    def repair_code(self, failure: CodeFailure, request: Any) -> str | None:
        """A fixed version of failed code, or None when this brain cannot repair."""

    def model_plan(self, request: ModelRequest) -> ModelPlan:
        """Candidate models and search spaces for the trainer."""

    def evaluation_summary(self, training: TrainResult, evaluation: EvalResult, objective: Objective) -> str:
        """Markdown summary of the holdout evaluation."""

    def critic_decision(self, request: CriticRequest) -> CriticDecision:
        """finalize / refine_features / retrain_model, with a short reason."""

    def usage(self) -> dict[str, Any]:
        """Tokens, cost and fallbacks so far (empty for the offline brain)."""

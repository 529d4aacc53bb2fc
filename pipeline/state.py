"""Typed run state: one dataclass group per phase, plus the phase history and events.

Everything here is plain data (JSON-serialisable through `to_dict`), so the runner can hand
snapshots to a UI thread and the store can persist them after every phase.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

PHASES: tuple[str, ...] = ("profiler", "features", "visualizer", "trainer", "evaluator", "critic")
PHASE_TITLES: dict[str, str] = {
    "profiler": "Data Profiler",
    "features": "Feature Engineer",
    "visualizer": "Visualizer",
    "trainer": "Model Trainer",
    "evaluator": "Evaluator",
    "critic": "Critic",
}
CRITIC_ACTIONS: tuple[str, ...] = ("finalize", "refine_features", "retrain_model")
GATES: tuple[str, ...] = ("features", "training", "finalize")  # optional human approval checkpoints

# A run's status. A run whose record says it is live (queued or running) while no process works on it was cut
# off (the server stopped): it is interrupted, which `as_found` applies to a recorded state and the store to
# its rows at start-up.
QUEUED, RUNNING, FINISHED, FAILED, CANCELLED, INTERRUPTED = (
    "queued",
    "running",
    "finished",
    "failed",
    "cancelled",
    "interrupted",
)
LIVE_STATUSES: tuple[str, ...] = (QUEUED, RUNNING)
TERMINAL_STATUSES: tuple[str, ...] = (FINISHED, FAILED, CANCELLED, INTERRUPTED)
INTERRUPTED_ERROR = "The server stopped while this run was in progress; start it again to finish it."


@dataclass
class RunConfig:
    """What the user asked for. Never holds secrets: API keys travel beside it, not inside it."""

    data_path: str
    target: str | None = None
    objective: str = ""
    task: str = "auto"
    brain: str = "offline"
    model: str | None = None
    time_budget_s: float = 120.0
    max_loops: int = 3
    holdout_fraction: float = 0.2
    cv_folds: int = 5
    max_trials: int | None = None  # cap on Optuna trials per tuning (None: as many as the budget allows)
    seed: int = 42
    dataset_name: str = ""
    owner: str = ""
    gates: list[str] = field(default_factory=list)  # approval checkpoints switched on (subset of GATES)
    keep_columns: list[str] = field(default_factory=list)  # leakage suspects the user keeps as features anyway
    refit_full: bool = True  # the delivered model is refit on training + holdout rows once the holdout is scored


@dataclass
class Objective:
    """The user's plain-English goal turned into something a trainer can optimise."""

    metric: str = ""  # e.g. roc_auc, f2, recall, balanced_accuracy, rmse, mae, r2
    greater_is_better: bool = True
    target: str | None = None  # a target named in the text, if any
    positive_class: str | None = None
    tune_threshold: bool = False  # binary: choose the decision threshold by CV for the metric
    explanation: str = ""


@dataclass
class ColumnProfile:
    name: str
    dtype: str
    kind: str  # numeric, categorical, boolean, datetime, text, id, constant
    missing: int
    missing_pct: float
    unique: int
    sample_values: list[str] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)
    target_association: float | None = None


@dataclass
class ProfileResult:
    n_rows: int = 0
    n_cols: int = 0
    target: str = ""
    task: str = ""
    columns: list[ColumnProfile] = field(default_factory=list)
    duplicates: int = 0
    constant_columns: list[str] = field(default_factory=list)
    id_like_columns: list[str] = field(default_factory=list)
    date_columns: list[str] = field(default_factory=list)
    text_columns: list[str] = field(default_factory=list)
    class_balance: dict[str, int] = field(default_factory=dict)
    leakage_suspects: list[dict[str, Any]] = field(default_factory=list)  # column, rule, reason, score, kept
    leakage_note: str = ""  # markdown warning about them, for the top of the profile, report and app
    top_correlations: list[dict[str, Any]] = field(default_factory=list)
    findings_md: str = ""
    summary: str = ""
    sample_note: str = ""


@dataclass
class FeatureAttempt:
    """One generated feature set: its code, where it came from, and what it did."""

    iteration: int
    code: str
    source: str  # brain name that wrote it, or "offline-fallback"
    kept: bool = False
    reason: str = ""
    new_columns: list[str] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)
    shape_before: list[int] = field(default_factory=list)
    shape_after: list[int] = field(default_factory=list)
    cv_before: float | None = None
    cv_after: float | None = None


@dataclass
class FeatureResult:
    code: str = ""  # the feature code currently in force ("" = identity)
    attempts: list[FeatureAttempt] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)


@dataclass
class PlotInfo:
    name: str
    title: str
    path: str  # relative to the run directory
    insight: str = ""


@dataclass
class PlotResult:
    plots: list[PlotInfo] = field(default_factory=list)
    sample_note: str = ""


@dataclass
class CandidateResult:
    name: str
    family: str
    params: dict[str, Any] = field(default_factory=dict)
    cv_metrics: dict[str, float] = field(default_factory=dict)
    cv_score: float | None = None
    fit_seconds: float = 0.0
    iteration: int = 0
    error: str = ""


@dataclass
class TrainResult:
    metric: str = ""
    candidates: list[CandidateResult] = field(default_factory=list)
    best: str = ""
    best_params: dict[str, Any] = field(default_factory=dict)
    cv_metrics: dict[str, float] = field(default_factory=dict)
    cv_score: float | None = None
    train_metrics: dict[str, float] = field(default_factory=dict)
    threshold: float | None = None
    trials: list[dict[str, Any]] = field(default_factory=list)
    feature_importance: list[dict[str, Any]] = field(default_factory=list)
    model_path: str = ""
    regularisation: int = 0  # how many times the critic asked for a stronger one
    refit_seconds: float = 0.0  # the final refit on the training part: what refitting on more rows will cost
    refit_rows: int = 0
    spare_refit_s: float = 0.0  # the tuned family's refit on every training row, as tuning estimated it
    spare_ready: bool = False  # the best family's screening CV is kept: a spare-time round can go straight to tuning


@dataclass
class EvalResult:
    holdout_metrics: dict[str, float] = field(default_factory=dict)
    confusion: dict[str, Any] = field(default_factory=dict)
    curves: dict[str, Any] = field(default_factory=dict)
    overfit_gap: float | None = None
    overfit_risk: str = ""
    plots: list[PlotInfo] = field(default_factory=list)
    summary_md: str = ""


@dataclass
class CriticDecision:
    iteration: int
    action: str  # one of CRITIC_ACTIONS
    reason: str
    source: str = "offline"
    extra_tuning: bool = False  # a retrain that spends budget left over when the critic would finalize


@dataclass
class IterationSummary:
    """What one loop of the graph achieved; the final model is the best of these by CV."""

    iteration: int
    cv_score: float | None
    model: str
    feature_code: str
    model_path: str
    cv_metrics: dict[str, float] = field(default_factory=dict)
    holdout_metrics: dict[str, float] = field(default_factory=dict)
    refit_seconds: float = 0.0
    refit_rows: int = 0


@dataclass
class PhaseRecord:
    phase: str
    iteration: int
    status: str  # running, done, failed, cancelled
    started_at: float
    ended_at: float | None = None
    duration_s: float | None = None
    fit_s: float = 0.0  # of which fitting and predicting models (pipeline.ml.fitclock)
    error: str = ""


@dataclass
class Event:
    kind: str  # run_started, phase_started, phase_finished, phase_failed, candidate,
    phase: str = ""  # decision, note, run_finished, run_failed, run_cancelled
    iteration: int = 0
    message: str = ""
    time: float = field(default_factory=time.time)
    duration_s: float | None = None


@dataclass
class Gate:
    """An approval checkpoint: what is about to happen, and what the human said."""

    id: str  # unique within the run, e.g. "features-it1-1"
    name: str  # one of GATES
    iteration: int
    title: str
    summary: str = ""  # markdown: what approving does
    details: dict[str, Any] = field(default_factory=dict)
    status: str = "waiting"  # waiting, approved, rejected
    feedback: str = ""
    decided_by: str = ""  # user, decisions file, auto
    opened_at: float = field(default_factory=time.time)
    decided_at: float | None = None
    waited_s: float = 0.0


@dataclass
class RunState:
    run_id: str
    config: RunConfig
    status: str = QUEUED  # one of LIVE_STATUSES or TERMINAL_STATUSES
    error: str = ""
    error_detail: str = ""
    objective: Objective = field(default_factory=Objective)
    profile: ProfileResult = field(default_factory=ProfileResult)
    features: FeatureResult = field(default_factory=FeatureResult)
    plots: PlotResult = field(default_factory=PlotResult)
    training: TrainResult = field(default_factory=TrainResult)
    evaluation: EvalResult = field(default_factory=EvalResult)
    decisions: list[CriticDecision] = field(default_factory=list)
    iterations: list[IterationSummary] = field(default_factory=list)
    history: list[PhaseRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    code_log: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    selected_iteration: int | None = None
    pending_gate: Gate | None = None  # the approval gate the run waits at, if any
    gate_log: list[Gate] = field(default_factory=list)
    user_feedback: dict[str, str] = field(default_factory=dict)  # per gate: what the user asked, merged; the
    # brain sees it on every later loop and resume
    iteration: int = 1
    current_phase: str = ""
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _build(cls: type, data: Any) -> Any:
    """Rebuild nested dataclasses from `asdict` output (used when reading runs back from disk)."""
    if not dataclasses.is_dataclass(cls) or not isinstance(data, dict):
        return data
    hints = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        if name not in hints:
            continue
        kwargs[name] = _convert(hints[name].type, value)
    return cls(**kwargs)


_NESTED: dict[str, type] = {}


def _convert(type_name: Any, value: Any) -> Any:
    text = type_name if isinstance(type_name, str) else getattr(type_name, "__name__", "")
    text = text.removesuffix(" | None")
    for name, cls in _NESTED.items():
        if text == name:
            return _build(cls, value)
        if text == f"list[{name}]" and isinstance(value, list):
            return [_build(cls, v) for v in value]
    return value


for _cls in (
    RunConfig,
    Objective,
    ColumnProfile,
    ProfileResult,
    FeatureAttempt,
    FeatureResult,
    PlotInfo,
    PlotResult,
    CandidateResult,
    TrainResult,
    EvalResult,
    CriticDecision,
    IterationSummary,
    PhaseRecord,
    Event,
    Gate,
):
    _NESTED[_cls.__name__] = _cls


def run_state_from_dict(data: dict[str, Any]) -> RunState:
    """Inverse of `RunState.to_dict`; unknown keys are ignored so old run files still load."""
    return _build(RunState, data)


def as_found(state: RunState) -> RunState:
    """A recorded state as it stands when no process works on it: a live status means it was cut off."""
    if state.status in LIVE_STATUSES:
        state.status, state.error = INTERRUPTED, state.error or INTERRUPTED_ERROR
    return state

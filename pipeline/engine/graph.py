"""The pipeline as data: six phases, their edges, and the Critic's router.

`walk` runs the graph over a state and a context, records every phase in the history and
reports transitions through `ctx.emit`, so any listener (CLI progress, the app) can follow.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pipeline import heap
from pipeline.ml import fitclock
from pipeline.phases import critic, evaluator, features, profiler, trainer, visualizer
from pipeline.run.context import Cancelled, PhaseContext
from pipeline.state import PHASE_TITLES, PHASES, IterationSummary, PhaseRecord, RunState

END = "end"
EDGES: list[tuple[str, str]] = [
    ("profiler", "features"),
    ("features", "visualizer"),
    ("visualizer", "trainer"),
    ("trainer", "evaluator"),
    ("evaluator", "critic"),
]
ROUTES: dict[str, str] = {"finalize": END, "refine_features": "features", "retrain_model": "trainer"}


def _apply_profile(state: RunState, value) -> None:
    state.profile = value


def _apply_features(state: RunState, value) -> None:
    state.features = value


def _apply_plots(state: RunState, value) -> None:
    state.plots = value


def _apply_training(state: RunState, value) -> None:
    state.training = value


def _apply_evaluation(state: RunState, value) -> None:
    state.evaluation = value
    state.iterations = [s for s in state.iterations if s.iteration != state.iteration]
    state.iterations.append(
        IterationSummary(
            iteration=state.iteration,
            cv_score=state.training.cv_score,
            model=state.training.best,
            feature_code=state.features.code,
            model_path=state.training.model_path,
            cv_metrics=dict(state.training.cv_metrics),
            holdout_metrics=dict(value.holdout_metrics),
            refit_seconds=state.training.refit_seconds,
            refit_rows=state.training.refit_rows,
        )
    )


def _apply_decision(state: RunState, value) -> None:
    state.decisions.append(value)


NODES: dict[str, tuple[Callable, Callable]] = {
    "profiler": (profiler.run, _apply_profile),
    "features": (features.run, _apply_features),
    "visualizer": (visualizer.run, _apply_plots),
    "trainer": (trainer.run, _apply_training),
    "evaluator": (evaluator.run, _apply_evaluation),
    "critic": (critic.run, _apply_decision),
}


def next_phase(phase: str, state: RunState) -> str:
    """The forward edge, or, after the critic, the route its last decision names."""
    if phase == "critic":
        return ROUTES[state.decisions[-1].action]
    return next(dst for src, dst in EDGES if src == phase)


def will_rerun(action: str) -> list[str]:
    """Phases a critic decision sends the work back through."""
    start = ROUTES.get(action, END)
    return [] if start == END else list(PHASES[PHASES.index(start) :])


def walk(state: RunState, ctx: PhaseContext, start: str = "profiler") -> None:
    """Run phases from `start` until the critic finalizes. Raises Cancelled or the failing phase's error."""
    phase = start
    while phase != END:
        ctx.check_cancelled()
        func, apply = NODES[phase]
        record = PhaseRecord(phase=phase, iteration=state.iteration, status="running", started_at=time.time())
        state.history.append(record)
        state.current_phase = phase
        ctx.emit("phase_started", phase, f"{PHASE_TITLES[phase]} (iteration {state.iteration})")
        ctx.publish()
        t0, fit0 = time.monotonic(), fitclock.seconds()
        try:
            value = func(state, ctx)
        except Cancelled:
            record.status, record.ended_at = "cancelled", time.time()
            record.duration_s = round(time.monotonic() - t0, 3)
            raise
        except Exception as exc:
            record.status, record.ended_at = "failed", time.time()
            record.duration_s = round(time.monotonic() - t0, 3)
            record.error = f"{type(exc).__name__}: {exc}"[:500]
            ctx.emit("phase_failed", phase, record.error, duration_s=record.duration_s)
            raise
        apply(state, value)
        state.usage = ctx.brain.usage()
        record.status, record.ended_at = "done", time.time()
        record.duration_s = round(time.monotonic() - t0, 3)
        record.fit_s = round(fitclock.seconds() - fit0, 3)
        message = f"{PHASE_TITLES[phase]} done in {record.duration_s:.1f} s"
        if phase == "critic":
            decision = state.decisions[-1]
            message = f"Critic: {decision.action} — {decision.reason}"
            ctx.emit("decision", phase, message, duration_s=record.duration_s)
        ctx.emit("phase_finished", phase, message, duration_s=record.duration_s)
        heap.give_back_free_memory()  # a phase's frames are gone; their pages should be too
        nxt = next_phase(phase, state)
        if phase == "critic" and nxt != END:
            state.iteration += 1
        ctx.publish()
        phase = nxt
    state.current_phase = ""


def to_mermaid() -> str:
    lines = ["flowchart LR"]
    for name in PHASES:
        lines.append(f'    {name}["{PHASE_TITLES[name]}"]')
    for src, dst in EDGES:
        lines.append(f"    {src} --> {dst}")
    lines.append("    critic -. refine_features .-> features")
    lines.append("    critic -. retrain_model .-> trainer")
    lines.append("    critic -- finalize --> end((done))")
    return "\n".join(lines)


def to_dot(
    status: dict[str, str] | None = None, current: str = "", colors: dict[str, str] | None = None, dark: bool = True
) -> str:
    """Graphviz DOT with nodes coloured by status (waiting, running, done, failed, rerun)."""
    status = status or {}
    fills = {
        "waiting": "#1b2340" if dark else "#eef0f7",
        "running": "#7c5cff",
        "done": "#1f6f5c",
        "failed": "#b4233c",
        "rerun": "#8a5a12",
        "cancelled": "#4b5168",
    }
    ink = "#e6e9f5" if dark else "#1f2340"
    lines = [
        "digraph pipeline {",
        '  bgcolor="transparent"; rankdir=LR; nodesep=0.35; ranksep=0.45;',
        f'  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, fontcolor="{ink}", '
        f'color="#3a4470", penwidth=1.4];',
        '  edge [color="#6b7499", fontcolor="#9aa3c7", fontname="Helvetica", fontsize=9];',
    ]
    for name in PHASES:
        st = status.get(name, "waiting")
        border = (colors or {}).get(name, "#3a4470")
        extra = ', penwidth=3, color="#facc15"' if name == current else f', color="{border}"'
        fontcolor = ', fontcolor="#ffffff"' if st != "waiting" else ""
        label = PHASE_TITLES[name] + ("\\n(will re-run)" if st == "rerun" else "")
        lines.append(f'  {name} [label="{label}", fillcolor="{fills.get(st, fills["waiting"])}"{extra}{fontcolor}];')
    for src, dst in EDGES:
        lines.append(f"  {src} -> {dst};")
    lines.append('  critic -> features [label="refine features", style=dashed, constraint=false];')
    lines.append('  critic -> trainer [label="retrain", style=dashed, constraint=false];')
    lines.append("}")
    return "\n".join(lines)

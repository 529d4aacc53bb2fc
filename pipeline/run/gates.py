"""Human approval gates: optional checkpoints where the run pauses until someone approves or rejects.

Three gates (`GATES`): before engineered features replace the feature set, before training (the model plan),
and before finalizing (the critic's decision). A phase calls `ask`; the run's `decide` callable blocks until
an answer comes (the app's RunHandle, a terminal prompt, a decisions file). The gate is put on the RunState
(`pending_gate`) and checkpointed first, so a reloaded page finds it; the time spent waiting is taken out
of the run's budget. A rejection's feedback goes to the brain (`state.user_feedback`) and the phase is redone.
This module is the mechanism only: each phase owns its own review (the features phase its gate, the trainer
the plan's, the critic the decision's), and `pipeline.run.feedback` reads what the user wrote.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pandas as pd

from pipeline.run.context import PhaseContext
from pipeline.run.feedback import apply_keep_feedback, apply_objective_feedback
from pipeline.state import GATES, Gate, RunState

TITLES = {
    "features": "Apply the engineered features?",
    "training": "Train these candidate models?",
    "finalize": "Finalize the run?",
}
GATE_PHASE = {"features": "features", "training": "trainer", "finalize": "critic"}
MAX_REJECTIONS = 5  # per gate and iteration; after that the run goes on without asking


def parse_gates(value: str | list[str] | None) -> list[str]:
    """`features,training` or `all` -> the gate names, in pipeline order. Raises ValueError on unknown names."""
    if not value:
        return []
    items = value if isinstance(value, list) else re.split(r"[,\s]+", value)
    names = {i.strip().lower() for i in items if i and i.strip()}
    if "all" in names:
        return list(GATES)
    unknown = sorted(names - set(GATES))
    if unknown:
        raise ValueError(f"Unknown approval gate(s) {', '.join(unknown)}; choose from {', '.join(GATES)} (or all).")
    return [g for g in GATES if g in names]


def merge_feedback(old: str, new: str) -> str:
    """Feedback accumulates over rejections (the brain sees every wish), newest last."""
    new = (new or "").strip()
    if not new or new in (old or ""):
        return old or ""
    return f"{old.strip()}\n{new}" if old and old.strip() else new


def ask(state: RunState, ctx: PhaseContext, name: str, summary: str, details: dict[str, Any]) -> tuple[bool, str]:
    """Pause at gate `name` if it is switched on; returns (approved, feedback). Raises Cancelled on Stop."""
    if name not in (state.config.gates or []):
        return True, ""
    same = [g for g in state.gate_log if g.name == name and g.iteration == state.iteration]
    rejected = 0
    for g in reversed(same):
        if g.status != "rejected":
            break
        rejected += 1
    if rejected >= MAX_REJECTIONS:
        state.notes.append(
            f"The {name} gate was rejected {rejected} times in iteration {state.iteration}; "
            "going on without asking again."
        )
        return True, ""
    gate = Gate(
        id=f"{name}-it{state.iteration}-{len(same) + 1}",
        name=name,
        iteration=state.iteration,
        title=TITLES[name],
        summary=summary,
        details=_plain(details),
    )
    state.pending_gate = gate
    ctx.emit("gate", GATE_PHASE[name], f"Waiting for approval: {gate.title}")
    ctx.publish()  # checkpointed to run.json: a reloaded page finds the gate
    t0 = time.monotonic()
    try:
        if ctx.decide is None:
            approve, feedback, by = True, "", "auto"
        else:
            approve, feedback, by = ctx.decide(gate)
    except BaseException:
        state.pending_gate = None
        raise
    finally:
        waited = time.monotonic() - t0
        ctx.budget.exclude(waited)  # waiting for a human does not spend the time budget
        ctx.brain.set_deadline(ctx.budget.deadline)
    gate.status = "approved" if approve else "rejected"
    gate.feedback, gate.decided_by = (feedback or "").strip(), by
    gate.decided_at, gate.waited_s = time.time(), round(waited, 3)
    state.pending_gate = None
    state.gate_log.append(gate)
    message = f"{gate.title} {gate.status} ({by})" + (f": {gate.feedback}" if gate.feedback else "")
    ctx.emit("gate", GATE_PHASE[name], message)
    if not approve and gate.feedback:
        for note in (apply_objective_feedback(state, gate.feedback), apply_keep_feedback(state, gate.feedback)):
            if note:
                state.notes.append(note)
                ctx.emit("note", GATE_PHASE[name], note)
    ctx.publish()
    return approve, gate.feedback


def _plain(value: Any) -> Any:
    """JSON-safe copy (numpy scalars, tuples) so the gate checkpoints cleanly."""
    return json.loads(json.dumps(value, default=str))


def waited_at(state: RunState, name: str, since: float, iteration: int | None = None) -> float:
    """Seconds spent waiting at gate `name` (this iteration) since `since` (time.monotonic)."""
    wall = time.time() - (time.monotonic() - since)
    it = state.iteration if iteration is None else iteration
    return sum(
        g.waited_s for g in state.gate_log if g.name == name and g.iteration == it and (g.decided_at or 0) >= wall
    )


def frame_rows(frame: pd.DataFrame, n: int = 5) -> list[dict[str, Any]]:
    head = frame.head(n)
    return [
        {
            str(k): (None if pd.isna(v) else (v if isinstance(v, (int, float, bool)) else str(v)[:60]))
            for k, v in row.items()
        }
        for row in head.astype(object).to_dict("records")
    ]

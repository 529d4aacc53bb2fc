"""How far a run is: the pipeline graph, the phase chips, the timeline and the status line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from pipeline.engine.graph import to_dot, will_rerun
from pipeline.state import PHASE_TITLES, PHASES, RunState
from pipeline.theme import PHASE_COLORS
from ui.charts import is_dark, vega_spec
from ui.loading import LoadedRun
from ui.runner import max_concurrent
from ui.text import PHASE_MICONS, fmt, fmt_seconds, md_escape


def phase_status(state: RunState) -> dict[str, str]:
    """waiting / running / done / failed / cancelled / rerun for every phase, from the history."""
    status: dict[str, str] = {}
    last = {r.phase: r for r in state.history}
    pending_rerun: set[str] = set()
    if state.status in ("running", "queued") and state.decisions:
        pending_rerun = set(will_rerun(state.decisions[-1].action))
    for phase in PHASES:
        rec = last.get(phase)
        if rec is None:
            status[phase] = "waiting"
        elif rec.iteration < state.iteration and phase in pending_rerun:
            status[phase] = "rerun"
        else:
            status[phase] = {"running": "running", "done": "done", "failed": "failed", "cancelled": "cancelled"}.get(
                rec.status, "waiting"
            )
    return status


LEGEND = {
    "waiting": "○ waiting",
    "running": "◉ running",
    "done": "● done",
    "rerun": "↺ will re-run",
    "failed": "✕ failed",
    "cancelled": "■ cancelled",
}


def phase_key(state: RunState) -> tuple[Any, ...]:
    """What changes when a phase starts or ends, a gate opens or the run ends: the live page redraws its
    panels at once on a change of this, and at most every few seconds for progress within a phase."""
    last = state.history[-1] if state.history else None
    gate = state.pending_gate
    return (
        state.status,
        state.current_phase,
        state.iteration,
        len(state.history),
        last and last.status,
        gate and (gate.id, gate.status),
        len(state.decisions),
    )


def render_graph(state: RunState) -> None:
    """The pipeline as a graph, coloured by phase status; it changes only when a phase starts or ends."""
    status = phase_status(state)
    current = state.current_phase if state.status == "running" else ""
    st.graphviz_chart(to_dot(status, current, PHASE_COLORS, dark=is_dark()), width="stretch")
    seen = [LEGEND[s] for s in LEGEND if s in status.values()]
    st.caption(" · ".join(seen) + " · dashed arrows: the Critic's routes back")


def render_chips(state: RunState) -> None:
    """One chip per phase: icon, state, time spent (growing while it runs) and how many times it ran."""
    status = phase_status(state)
    cols = st.columns(3)
    for i, phase in enumerate(PHASES):
        recs = [r for r in state.history if r.phase == phase]
        spent = sum(r.duration_s or 0 for r in recs)
        if recs and recs[-1].status == "running":
            spent += max(0.0, time.time() - recs[-1].started_at)
        runs = f" · ×{len(recs)}" if len(recs) > 1 else ""
        mark = LEGEND[status[phase]].split(" ")[0]
        detail = f"{spent:.1f} s{runs}" if recs else "—"
        word = "will re-run" if status[phase] == "rerun" else status[phase]
        cols[i % 3].markdown(f"{PHASE_MICONS[phase]} **{PHASE_TITLES[phase]}**  \n:gray[{mark} {word} · {detail}]")


TIMELINE_COLUMNS = ["phase", "key", "iteration", "start", "end", "seconds", "status", "label"]


def timeline_frame(state: RunState) -> pd.DataFrame:
    t0 = state.created_at
    now = time.time()
    rows = []
    for rec in state.history:
        end = rec.ended_at or (now if rec.status == "running" else rec.started_at)
        rows.append(
            {
                "phase": PHASE_TITLES.get(rec.phase, rec.phase),
                "key": rec.phase,
                "iteration": rec.iteration,
                "start": round(rec.started_at - t0, 2),
                "end": round(max(end, rec.started_at + 0.15) - t0, 2),
                "seconds": round(rec.duration_s if rec.duration_s is not None else end - rec.started_at, 2),
                "status": rec.status,
                "label": f"it{rec.iteration}",
            }
        )
    return pd.DataFrame(rows, columns=TIMELINE_COLUMNS)


def render_timeline(state: RunState) -> None:
    frame = timeline_frame(state)
    order = [PHASE_TITLES[p] for p in PHASES]
    if frame.empty:
        st.caption("The timeline fills in as phases start.")
        frame = pd.DataFrame(
            {
                "phase": order,
                "start": 0.0,
                "end": 0.0,
                "seconds": 0.0,
                "iteration": 0,
                "status": "waiting",
                "label": "",
                "key": list(PHASES),
            }
        )
    # The spec is built once and the rows go with it: a running phase's bar grows every second, so a spec keyed on
    # the rows was rebuilt by Altair on every rerun of a live run (about half of the live fragment's script time).
    st.vega_lite_chart(frame, _timeline_spec(), width="stretch")
    status = phase_status(state)
    again = [PHASE_TITLES[p] for p in PHASES if status[p] == "rerun"]
    if again:
        st.caption("↺ will re-run: " + ", ".join(again))


@st.cache_data(show_spinner=False)
def _timeline_spec() -> dict[str, Any]:
    """The timeline's Vega-Lite spec without rows: the same for every frame of timeline_frame's columns."""
    spec = vega_spec(_timeline_chart(pd.DataFrame(columns=TIMELINE_COLUMNS)))
    spec.pop("data", None)
    spec.pop("datasets", None)
    return spec


def _timeline_chart(frame: pd.DataFrame) -> alt.LayerChart:
    order = [PHASE_TITLES[p] for p in PHASES]
    colors = alt.Scale(domain=order, range=[PHASE_COLORS[p] for p in PHASES])
    base = alt.Chart(frame).encode(
        y=alt.Y("phase:N", sort=order, title=None, scale=alt.Scale(domain=order)),
        tooltip=[
            alt.Tooltip("phase:N"),
            alt.Tooltip("iteration:Q"),
            alt.Tooltip("status:N"),
            alt.Tooltip("seconds:Q", format=".1f", title="seconds"),
            alt.Tooltip("start:Q", format=".1f", title="started at (s)"),
        ],
    )
    bars = base.mark_bar(cornerRadius=4, height=16).encode(
        x=alt.X("start:Q", title="seconds since start"),
        x2="end:Q",
        color=alt.Color("phase:N", scale=colors, legend=None),
        opacity=alt.condition(alt.datum.status == "running", alt.value(0.55), alt.value(0.95)),
        strokeDash=alt.condition(alt.datum.status == "running", alt.value([4, 2]), alt.value([0])),
        stroke=alt.condition(alt.datum.status == "failed", alt.value("#ef4444"), alt.value(None)),
    )
    text = base.mark_text(align="left", dx=4, fontSize=10, color="#9aa3c7").encode(x="end:Q", text="label:N")
    return (bars + text).properties(height=alt.Step(26))


def elapsed(state: RunState) -> float:
    return (state.finished_at or time.time()) - state.created_at


def render_status(loaded: LoadedRun) -> None:
    state, handle = loaded.state, loaded.handle
    metric = state.objective.metric
    if state.status == "finished":
        best = next((s for s in state.iterations if s.iteration == state.selected_iteration), None)
        detail = ""
        if best is not None:
            detail = (
                f" · {best.model} · CV {metric} {fmt(best.cv_score)} · holdout {metric} "
                f"{fmt(best.holdout_metrics.get(metric))}"
            )
        st.success(f"**Finished**{detail} · {fmt_seconds(elapsed(state))}", icon=":material/check_circle:")
    elif state.status == "failed":
        st.error(f"**Failed:** {md_escape(state.error or 'the run stopped with an error.')}", icon=":material/error:")
        if state.error_detail:
            with st.expander("Technical details"):
                st.code(state.error_detail, language="text")
    elif state.status == "cancelled":
        st.warning(f"**Cancelled:** {md_escape(state.error or 'stopped by the user.')}", icon=":material/stop_circle:")
    elif state.status == "interrupted":
        st.warning(
            f"**Interrupted:** {md_escape(state.error or 'the server stopped during this run.')}",
            icon=":material/warning:",
        )
    elif (handle is not None and handle.queue_position > 0) or (handle is None and state.status == "queued"):
        # a live run that has left the queue is starting, even before its first snapshot says "running"
        pos = handle.queue_position if handle is not None else 0
        st.info(
            f"**Queued** — position {pos} in line; at most {max_concurrent()} runs at once on this server.",
            icon=":material/hourglass_top:",
        )
    else:
        phase = state.current_phase
        where = f"{PHASE_MICONS[phase]} {PHASE_TITLES[phase]}" if phase in PHASES else "starting"
        budget = state.config.time_budget_s
        spent = elapsed(state)
        st.info(
            f"**Running** — {where} · iteration {state.iteration} · {spent:.0f} s of a {budget:.0f} s budget",
            icon=":material/autorenew:",
        )
        st.progress(min(1.0, spent / max(budget, 1e-9)))


def render_header(state: RunState) -> None:
    cfg = state.config
    parts = [
        f"**Run** `{state.run_id}`",
        f"dataset {md_escape(cfg.dataset_name or Path(cfg.data_path).name)}",
        f"target {md_escape(state.profile.target or cfg.target or '?')}",
        f"{md_escape(state.profile.task or cfg.task)}",
        f"metric {md_escape(state.objective.metric or '—')}",
        f"brain {md_escape(cfg.brain)}",
    ]
    st.markdown(" · ".join(parts))


def render_pulse(loaded: LoadedRun) -> None:
    """What moves every second of a live run: the status line, the phase chips and the timeline."""
    render_status(loaded)
    left, right = st.columns([1, 1.15], gap="medium")
    with left:
        with st.container(border=True, height=250):
            st.markdown("##### Phases")
            render_chips(loaded.state)
    with right:
        with st.container(border=True, height=250):
            st.markdown("##### Timeline")
            render_timeline(loaded.state)

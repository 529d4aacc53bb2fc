"""Renderers shared by the pages: the run registry, the pipeline graph, the timeline and the phase panels.

Rendering only. Everything shown comes from a `RunState` snapshot (live, from the runner's handle)
or from a run directory on disk (finished runs, after a restart). Text that comes from the data or
a model (column names, class labels, insights) is never passed through HTML; where it lands in
markdown it is escaped with `md_escape`, otherwise it goes into dataframes, charts or code blocks.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import pickle
import re
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import access
from pipeline.graph import to_dot, will_rerun
from pipeline.runner import RunHandle, Runner
from pipeline.state import PHASE_TITLES, PHASES, RunState
from pipeline.store import load_state
from pipeline.theme import PALETTE, PHASE_COLORS

TERMINAL = ("finished", "failed", "cancelled", "interrupted")
PANEL_TITLES = {"profiler": "Data profile", "features": "Features", "visualizer": "Visualizations",
                "trainer": "Model", "evaluator": "Evaluation", "critic": "Critic"}
# Material icons ship with Streamlit's own font, so they render on any machine (emoji need a system font).
PHASE_MICONS = {"profiler": ":material/biotech:", "features": ":material/genetics:", "visualizer": ":material/palette:",
                "trainer": ":material/model_training:", "evaluator": ":material/target:",
                "critic": ":material/rate_review:"}
UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "xls", "parquet", "pq", "json", "jsonl"]


# --------------------------------------------------------------------------- registry and helpers

def max_concurrent() -> int:
    try:
        return max(1, int(os.environ.get("MLPIPELINE_MAX_CONCURRENT", "2")))
    except ValueError:
        return 2


@st.cache_resource(show_spinner=False)
def get_runner() -> Runner:
    """One Runner per server process: every session and tab shares its registry of live runs."""
    return Runner(max_concurrent=max_concurrent())


def home() -> Path:
    return get_runner().home


def is_dark() -> bool:
    try:
        return (st.context.theme.type or "dark") != "light"
    except Exception:  # AppTest and very old browsers report no theme
        return True


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&])")


def md_escape(text: Any) -> str:
    """Make data-derived text inert inside Streamlit markdown (no formatting, links, LaTeX or directives)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def phase_label(phase: str) -> str:
    return f"{PHASE_MICONS[phase]} {PANEL_TITLES[phase]}"


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if f != f:
        return "—"
    return f"{f:.{digits}f}"


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def save_upload(name: str, data: bytes) -> Path:
    """Keep an uploaded file in the runs folder under a content hash (runs read it from disk)."""
    digest = hashlib.sha256(data).hexdigest()[:16]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._") or "data.csv"
    path = home() / "uploads" / digest / safe
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


@st.cache_data(show_spinner=False, max_entries=16)
def read_cached(path: str, mtime: float) -> pd.DataFrame:
    from pipeline.data import read_table

    return read_table(path)


def read_preview(path: Path) -> pd.DataFrame:
    return read_cached(str(path), path.stat().st_mtime)


MAX_IMAGE_WIDTH = 1460  # Streamlit's widest image (2 × 730 px): st.image resizes wider ones on every rerun


@st.cache_data(show_spinner=False, max_entries=64)
def image_bytes(path: str, mtime: float) -> bytes:
    """The bytes st.image would send for a picture file, worked out once per (path, mtime).

    st.image decodes a file on every rerun, resizes it when it is wider than MAX_IMAGE_WIDTH and re-encodes
    it (PNG when it has an alpha channel, else JPEG); the plots are 150-DPI PNGs up to 2,400 px wide, so that
    cost a few hundred milliseconds a render. Same rule, same bytes, so st.image passes them through as they are.
    """
    from PIL import Image

    data = Path(path).read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        fmt = "GIF" if img.format == "GIF" else "PNG" if img.mode in ("RGBA", "LA", "P") else "JPEG"
        if img.width <= MAX_IMAGE_WIDTH and img.format == fmt:
            return data
        out = img
        if img.width > MAX_IMAGE_WIDTH:
            out = img.resize((MAX_IMAGE_WIDTH, int(1.0 * img.height * MAX_IMAGE_WIDTH / img.width)),
                             resample=Image.BILINEAR)
        buf = io.BytesIO()
        out.save(buf, format=fmt, quality=90)
        return buf.getvalue()


def show_image(path: Path, target: Any = st, **kwargs: Any) -> None:
    """st.image of a file, with the decoding and resizing cached (see image_bytes)."""
    target.image(image_bytes(str(path), path.stat().st_mtime), **kwargs)


# --------------------------------------------------------------------------- charts as cached Vega-Lite specs
# st.altair_chart builds the Vega-Lite spec with Chart.to_dict(), which validates it against the JSON schema on
# every rerun: with building the charts, 40 ms to several hundred a render (by machine load) for the seven charts
# of a finished run. The charts are built by @st.cache_data functions keyed on the frames they show (a live run's
# charts follow their data) and drawn with st.vega_lite_chart: the same spec, the same Arrow data and the same
# Streamlit theme as before.

try:  # st.altair_chart holds this lock while it switches Altair's global theme and data transformer
    from streamlit.elements.vega_charts import _altair_globals_lock as _ALTAIR_LOCK
except ImportError:  # another Streamlit version: at least our own conversions do not interleave
    _ALTAIR_LOCK = threading.Lock()


def _arrow_dataset(data: Any, datasets: dict[str, Any]) -> dict[str, str]:
    """Altair data transformer, as st.altair_chart's: the frame as Arrow IPC bytes named by a content hash."""
    from streamlit import dataframe_util

    raw = dataframe_util.convert_anything_to_arrow_bytes(data)
    name = hashlib.blake2b(raw, digest_size=16).hexdigest()
    datasets[name] = raw
    return {"name": name}


alt.data_transformers.register("mlpipeline_arrow", _arrow_dataset)


def vega_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The Vega-Lite dict st.altair_chart would send for `chart`, without the schema validation."""
    datasets: dict[str, Any] = {}
    with _ALTAIR_LOCK:
        # no Altair default width/height (Streamlit sizes the chart), as st.altair_chart does
        theme = alt.theme.enable("none") if alt.theme.active == "default" else contextlib.nullcontext()
        with theme, alt.data_transformers.enable("mlpipeline_arrow", datasets=datasets):
            spec = chart.to_dict(validate=False)
    spec["datasets"] = {**(spec.get("datasets") or {}), **datasets}
    return spec


def show_chart(spec: dict[str, Any], target: Any = st) -> None:
    target.vega_lite_chart(spec=spec, width="stretch")


def _frame_digest(frame: pd.DataFrame) -> str:
    """Cache key of a chart's frame: its pickle's digest (Streamlit's own frame hashing costs ~4 ms a frame)."""
    return hashlib.blake2b(pickle.dumps(frame, protocol=5), digest_size=16).hexdigest()


cached_spec = st.cache_data(show_spinner=False, max_entries=32, hash_funcs={pd.DataFrame: _frame_digest})


# --------------------------------------------------------------------------- loading a run

@dataclass
class LoadedRun:
    state: RunState
    run_dir: Path
    handle: RunHandle | None
    version: int = 0          # snapshots the live run had published; 0 for a recorded run


def load_run(run_id: str) -> LoadedRun | None:
    """A live run from the registry, else a recorded one from the store (after a restart too)."""
    if not run_id:
        return None
    runner = get_runner()
    handle = runner.get(run_id)
    if handle is not None:
        snap, version = handle.versioned_snapshot()
        if snap is not None:
            return LoadedRun(snap, handle.run_dir, handle, version) if access.may_see(snap.config.owner) else None
    try:
        row = runner.store.get(run_id)
    except Exception:
        row = None
    if not row or not access.may_see(row.get("owner") or ""):
        return None
    run_dir = Path(row["run_dir"])
    try:
        state = load_state(run_dir)
    except (OSError, ValueError, KeyError):
        return None
    if state.status in ("running", "queued"):
        state.status = "interrupted"
        state.error = "The server stopped while this run was in progress; start it again to finish it."
    return LoadedRun(state, run_dir, None)


# --------------------------------------------------------------------------- graph and timeline

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
            status[phase] = {"running": "running", "done": "done", "failed": "failed",
                             "cancelled": "cancelled"}.get(rec.status, "waiting")
    return status


LEGEND = {"waiting": "○ waiting", "running": "◉ running", "done": "● done", "rerun": "↺ will re-run",
          "failed": "✕ failed", "cancelled": "■ cancelled"}


def phase_key(state: RunState) -> tuple[Any, ...]:
    """What changes when a phase starts or ends, a gate opens or the run ends: the live page redraws its
    panels at once on a change of this, and at most every few seconds for progress within a phase."""
    last = state.history[-1] if state.history else None
    gate = state.pending_gate
    return (state.status, state.current_phase, state.iteration, len(state.history), last and last.status,
            gate and (gate.id, gate.status), len(state.decisions))


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
        rows.append({"phase": PHASE_TITLES.get(rec.phase, rec.phase), "key": rec.phase, "iteration": rec.iteration,
                     "start": round(rec.started_at - t0, 2), "end": round(max(end, rec.started_at + 0.15) - t0, 2),
                     "seconds": round(rec.duration_s if rec.duration_s is not None else end - rec.started_at, 2),
                     "status": rec.status, "label": f"it{rec.iteration}"})
    return pd.DataFrame(rows, columns=TIMELINE_COLUMNS)


def render_timeline(state: RunState) -> None:
    frame = timeline_frame(state)
    order = [PHASE_TITLES[p] for p in PHASES]
    if frame.empty:
        st.caption("The timeline fills in as phases start.")
        frame = pd.DataFrame({"phase": order, "start": 0.0, "end": 0.0, "seconds": 0.0, "iteration": 0,
                              "status": "waiting", "label": "", "key": list(PHASES)})
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
        tooltip=[alt.Tooltip("phase:N"), alt.Tooltip("iteration:Q"), alt.Tooltip("status:N"),
                 alt.Tooltip("seconds:Q", format=".1f", title="seconds"),
                 alt.Tooltip("start:Q", format=".1f", title="started at (s)")])
    bars = base.mark_bar(cornerRadius=4, height=16).encode(
        x=alt.X("start:Q", title="seconds since start"), x2="end:Q",
        color=alt.Color("phase:N", scale=colors, legend=None),
        opacity=alt.condition(alt.datum.status == "running", alt.value(0.55), alt.value(0.95)),
        strokeDash=alt.condition(alt.datum.status == "running", alt.value([4, 2]), alt.value([0])),
        stroke=alt.condition(alt.datum.status == "failed", alt.value("#ef4444"), alt.value(None)))
    text = base.mark_text(align="left", dx=4, fontSize=10, color="#9aa3c7").encode(x="end:Q", text="label:N")
    return (bars + text).properties(height=alt.Step(26))


# --------------------------------------------------------------------------- status line

def elapsed(state: RunState) -> float:
    return (state.finished_at or time.time()) - state.created_at


def render_status(loaded: LoadedRun) -> None:
    state, handle = loaded.state, loaded.handle
    metric = state.objective.metric
    if state.status == "finished":
        best = next((s for s in state.iterations if s.iteration == state.selected_iteration), None)
        detail = ""
        if best is not None:
            detail = (f" · {best.model} · CV {metric} {fmt(best.cv_score)} · holdout {metric} "
                      f"{fmt(best.holdout_metrics.get(metric))}")
        st.success(f"**Finished**{detail} · {fmt_seconds(elapsed(state))}", icon=":material/check_circle:")
    elif state.status == "failed":
        st.error(f"**Failed:** {md_escape(state.error or 'the run stopped with an error.')}", icon=":material/error:")
        if state.error_detail:
            with st.expander("Technical details"):
                st.code(state.error_detail, language="text")
    elif state.status == "cancelled":
        st.warning(f"**Cancelled:** {md_escape(state.error or 'stopped by the user.')}", icon=":material/stop_circle:")
    elif state.status == "interrupted":
        st.warning(f"**Interrupted:** {md_escape(state.error or 'the server stopped during this run.')}", icon=":material/warning:")
    elif (handle is not None and handle.queue_position > 0) or (handle is None and state.status == "queued"):
        # a live run that has left the queue is starting, even before its first snapshot says "running"
        pos = handle.queue_position if handle is not None else 0
        st.info(f"**Queued** — position {pos} in line; at most {max_concurrent()} runs at once on this server.",
                icon=":material/hourglass_top:")
    else:
        phase = state.current_phase
        where = f"{PHASE_MICONS[phase]} {PHASE_TITLES[phase]}" if phase in PHASES else "starting"
        budget = state.config.time_budget_s
        spent = elapsed(state)
        st.info(f"**Running** — {where} · iteration {state.iteration} · {spent:.0f} s of a {budget:.0f} s budget",
                icon=":material/autorenew:")
        st.progress(min(1.0, spent / max(budget, 1e-9)))


# --------------------------------------------------------------------------- panels

def _waiting(phase: str, state: RunState) -> None:
    if state.status in TERMINAL:
        st.caption(f"{PANEL_TITLES[phase]} did not run in this run.")
    else:
        st.caption(f"{PHASE_MICONS[phase]} {PANEL_TITLES[phase]} appears here when the {PHASE_TITLES[phase]} "
                   f"finishes.")


def _ran(state: RunState, phase: str) -> bool:
    return any(r.phase == phase and r.status == "done" for r in state.history)


def _code_entries(state: RunState, kind: str) -> list[dict[str, Any]]:
    return [e for e in state.code_log if e.get("kind") == kind]


def render_code_log(state: RunState, run_dir: Path, kind: str, key: str) -> None:
    """Every generated snippet of one kind with its sandbox check and run results."""
    entries = _code_entries(state, kind)
    if not entries:
        return
    rows = [{"#": e.get("seq"), "iteration": e.get("iteration"), "attempt": e.get("attempt"),
             "source": e.get("source", ""), "check": "passed" if e.get("check_ok") else "rejected",
             "run": "ran" if e.get("run_ok") else ("—" if not e.get("check_ok") else "failed"),
             "seconds": e.get("duration_s"), "error": (f"{e.get('error_type', '')}: {e.get('error', '')}"
                                                      if e.get("error") else "")} for e in entries]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"seconds": st.column_config.NumberColumn(format="%.2f")})
    labels = [f"#{e.get('seq')} · iteration {e.get('iteration')} · try {e.get('attempt')} · "
              f"{'ok' if e.get('run_ok') else 'failed'}" for e in entries]
    choice = st.selectbox("Show the code of", range(len(entries)), index=len(entries) - 1,
                          format_func=lambda i: labels[i], key=f"{key}_code_pick")
    entry = entries[choice]
    path = run_dir / str(entry.get("file", ""))
    code = path.read_text() if entry.get("file") and path.is_file() else entry.get("code", "")
    if code:
        st.code(code, language="python", line_numbers=True)
    for err in entry.get("check_errors") or []:
        st.caption("Sandbox check: " + md_escape(err))
    if entry.get("stdout"):
        with st.expander("Output"):
            st.code(str(entry["stdout"])[-4000:], language="text")
    if entry.get("isolation"):
        st.caption("Isolation: " + md_escape(entry["isolation"]))


def render_leakage(state: RunState, full: bool = True) -> None:
    """The leakage suspects in a warning box: a column that knows the outcome would make every score here
    optimistic, and new rows would not have it. `full` lists each suspect's reason (the profile panel); otherwise
    one line for the top of the run page."""
    suspects = state.profile.leakage_suspects
    out = [s for s in suspects if not s.get("kept")]
    kept = [s for s in suspects if s.get("kept")]
    def names(items: list[dict[str, Any]]) -> str:
        return ", ".join(f"**{md_escape(s.get('column', ''))}**" for s in items)

    if out:
        text = f"**Possible target leakage, excluded from the features:** {names(out)}."
        if full:
            text += "\n\n" + "\n".join(f"- **{md_escape(s.get('column', ''))}**: {md_escape(s.get('reason', ''))}"
                                        for s in out)
            text += ("\n\nKnown before the outcome after all? Start the run again with it under *Keep flagged "
                     "columns* in the settings (`--keep-columns` on the command line), or reject the features gate "
                     "with \u201ckeep column …\u201d.")
        else:
            text += " The Data Profiler panel says why."
        st.warning(text, icon=":material/warning:")
    if kept:
        text = (f"**Kept at your request although it looks like target leakage:** {names(kept)}. The model uses it: "
                "the holdout score may be optimistic, and predictions need the column.")
        if full:
            text += "\n\n" + "\n".join(f"- **{md_escape(s.get('column', ''))}**: {md_escape(s.get('reason', ''))}"
                                        for s in kept)
        st.error(text, icon=":material/warning:")


def render_profile(state: RunState, run_dir: Path, key: str) -> None:
    prof = state.profile
    if not _ran(state, "profiler"):
        return _waiting("profiler", state)
    render_leakage(state)
    c = st.columns(5)
    c[0].metric("Rows", f"{prof.n_rows:,}")
    c[1].metric("Columns", f"{prof.n_cols:,}")
    c[2].metric("Task", prof.task or "—")
    c[3].metric("Metric", state.objective.metric or "—")
    c[4].metric("Duplicate rows", f"{prof.duplicates:,}")
    st.caption(md_escape(prof.summary))
    flags = []
    for label, items in (("constant", prof.constant_columns), ("id-like", prof.id_like_columns),
                         ("dates", prof.date_columns), ("free text", prof.text_columns)):
        flags += [{"flag": label, "column": c, "detail": ""} for c in items]
    flags += [{"flag": "possible leakage" + (" (kept by you)" if s.get("kept") else " (excluded)"),
               "column": str(s.get("column", s)), "detail": str(s.get("reason", ""))} for s in prof.leakage_suspects]
    left, right = st.columns([1.3, 1], gap="medium")
    with left:
        st.markdown("##### Key findings")
        findings = prof.findings_md or ""
        if prof.leakage_note and findings.startswith(prof.leakage_note):   # already in the warning box above
            findings = findings[len(prof.leakage_note):].lstrip()
        st.markdown(findings or "_No findings recorded._")
        if state.objective.explanation:
            st.caption("Objective: " + md_escape(state.objective.explanation))
        if prof.sample_note:
            st.caption(md_escape(prof.sample_note))
        if flags:
            st.markdown("##### Flagged columns")
            st.dataframe(pd.DataFrame(flags), hide_index=True, width="stretch")
    with right:
        if prof.class_balance:
            cb = pd.DataFrame({"class": list(map(str, prof.class_balance)), "rows": list(prof.class_balance.values())})
            st.markdown("##### Class balance")
            show_chart(_class_balance_spec(cb))
        else:
            target = next((cp for cp in prof.columns if cp.name == prof.target), None)
            if target is not None and target.stats:
                st.markdown("##### Target")
                stats = pd.DataFrame({"statistic": list(target.stats), "value": list(target.stats.values())})
                st.dataframe(stats, hide_index=True, width="stretch",
                             column_config={"value": st.column_config.NumberColumn(format="%.3f")})
        if prof.top_correlations:
            st.markdown("##### Most correlated pairs")
            st.dataframe(pd.DataFrame(prof.top_correlations).rename(columns={"a": "column a", "b": "column b"}),
                         hide_index=True, width="stretch", height=min(38 + 35 * len(prof.top_correlations), 250))
    cols = pd.DataFrame([{"column": cp.name, "kind": cp.kind, "dtype": cp.dtype, "missing %": cp.missing_pct,
                          "unique": cp.unique, "association": cp.target_association,
                          "examples": ", ".join(cp.sample_values[:4])} for cp in prof.columns])
    if not cols.empty:
        st.markdown("##### Columns")
        st.dataframe(cols, hide_index=True, width="stretch", height=min(38 + 35 * len(cols), 400),
                     column_config={
                         "missing %": st.column_config.ProgressColumn(format="%.1f%%", min_value=0, max_value=100),
                         "association": st.column_config.ProgressColumn(
                             "association with target", format="%.2f", min_value=0, max_value=1)})


@cached_spec
def _class_balance_spec(cb: pd.DataFrame) -> dict[str, Any]:
    return vega_spec(alt.Chart(cb).mark_bar(cornerRadius=3).encode(
        x=alt.X("rows:Q", title="training rows"), y=alt.Y("class:N", sort="-x", title=None),
        color=alt.Color("class:N", legend=None, scale=alt.Scale(range=PALETTE)),
        tooltip=["class:N", "rows:Q"]).properties(height=alt.Step(26)))


def render_features(state: RunState, run_dir: Path, key: str) -> None:
    feats = state.features
    if not _ran(state, "features"):
        return _waiting("features", state)
    attempts = pd.DataFrame([{"iteration": a.iteration, "source": a.source, "kept": a.kept,
                              "new columns": len(a.new_columns), "dropped": len(a.dropped_columns),
                              "CV before": a.cv_before, "CV after": a.cv_after, "reason": a.reason}
                             for a in feats.attempts])
    c = st.columns(3)
    c[0].metric("Columns into the model", f"{len(feats.columns):,}")
    kept = [a for a in feats.attempts if a.kept]
    c[1].metric("Feature sets tried", len(feats.attempts), f"{len(kept)} kept", delta_color="off")
    last = feats.attempts[-1] if feats.attempts else None
    if last is not None and last.cv_after is not None and last.cv_before is not None:
        c[2].metric(f"Quick CV {state.objective.metric}", fmt(last.cv_after), f"{last.cv_after - last.cv_before:+.4f}",
                    delta_color="normal" if state.objective.greater_is_better else "inverse")
    if not attempts.empty:
        st.dataframe(attempts, hide_index=True, width="stretch",
                     column_config={"CV before": st.column_config.NumberColumn(format="%.4f"),
                                    "CV after": st.column_config.NumberColumn(format="%.4f"),
                                    "kept": st.column_config.CheckboxColumn()})
    if last is not None and (last.new_columns or last.dropped_columns):
        a, b = st.columns(2)
        a.dataframe(pd.DataFrame({"new column": last.new_columns}), hide_index=True, width="stretch",
                    height=min(38 + 35 * max(len(last.new_columns), 1), 250))
        b.dataframe(pd.DataFrame({"dropped column": last.dropped_columns}), hide_index=True, width="stretch",
                    height=min(38 + 35 * max(len(last.dropped_columns), 1), 250))
    st.markdown("##### Feature code in force")
    st.code(feats.code or "# identity: the raw columns go straight to the model", language="python",
            line_numbers=True)
    with st.expander("Every generated snippet, with its sandbox check and run result"):
        render_code_log(state, run_dir, "features", key + "_feat")


def render_plots(state: RunState, run_dir: Path, key: str) -> None:
    if not _ran(state, "visualizer"):
        return _waiting("visualizer", state)
    plots = [p for p in state.plots.plots if (run_dir / p.path).is_file()]
    if not plots:
        st.info("No exploratory plots were drawn in this run; the generated plot code and the sandbox's verdict "
                "are below.", icon=":material/palette:")
    for i in range(0, len(plots), 2):
        cols = st.columns(2)
        for col, plot in zip(cols, plots[i:i + 2]):
            with col:
                show_image(run_dir / plot.path, width="stretch")
                st.caption(f"**{md_escape(plot.title)}** — {md_escape(plot.insight)}")
    if state.plots.sample_note:
        st.caption(md_escape(state.plots.sample_note))
    notes = [n for n in state.notes if n.lower().startswith("plots")]
    for n in notes:
        st.caption(md_escape(n))
    with st.expander("Plot code, with its sandbox check and run result", expanded=not plots):
        render_code_log(state, run_dir, "plots", key + "_plots")


def render_model(state: RunState, run_dir: Path, key: str) -> None:
    tr = state.training
    if not _ran(state, "trainer"):
        if tr.candidates or tr.trials:
            st.caption("Training in progress — candidates appear as they finish.")
        else:
            return _waiting("trainer", state)
    metric = tr.metric or state.objective.metric
    st.markdown(f"##### Best model: {md_escape(tr.best or '—')}")
    c = st.columns(3)
    c[0].metric(f"CV {metric}", fmt(tr.cv_score))
    c[1].metric(f"Train {metric}", fmt(tr.train_metrics.get(metric)))
    c[2].metric("Decision threshold", fmt(tr.threshold, 3) if tr.threshold is not None else "default")
    cands = pd.DataFrame([{"candidate": f"{cd.name} (it {cd.iteration})", "model": cd.name, "iteration": cd.iteration,
                           "cv": cd.cv_score, "fit seconds": cd.fit_seconds, "note": cd.error,
                           "params": json.dumps(cd.params, default=str)} for cd in tr.candidates])
    left, right = st.columns(2)
    with left:
        scored = cands.dropna(subset=["cv"]) if not cands.empty else cands
        if not scored.empty:
            st.markdown("##### Candidates (cross-validation)")
            show_chart(_candidates_spec(scored, metric, state.objective.greater_is_better))
    with right:
        trials = pd.DataFrame(tr.trials)
        if not trials.empty and "value" in trials:
            trials["params"] = trials.get("params", pd.Series([{}] * len(trials))).map(
                lambda p: json.dumps(p, default=str))
            st.markdown("##### Optuna trials")
            show_chart(_trials_spec(trials, metric, state.objective.greater_is_better))
            st.caption(f"{len(trials)} trials: {int((trials['state'] == 'COMPLETE').sum())} complete, "
                       f"{int((trials['state'] == 'PRUNED').sum())} pruned.")
        elif tr.feature_importance:
            _importance_chart(tr.feature_importance)
    if tr.feature_importance and not pd.DataFrame(tr.trials).empty:
        _importance_chart(tr.feature_importance)
    if not cands.empty:
        st.dataframe(cands.drop(columns=["candidate"]), hide_index=True, width="stretch",
                     column_config={"cv": st.column_config.NumberColumn(f"CV {metric}", format="%.4f"),
                                    "fit seconds": st.column_config.NumberColumn(format="%.1f")})
    if tr.best_params:
        with st.expander("Tuned parameters of the best model"):
            st.json(tr.best_params)


@cached_spec
def _candidates_spec(scored: pd.DataFrame, metric: str, better: bool) -> dict[str, Any]:
    return vega_spec(alt.Chart(scored).mark_bar(cornerRadius=3).encode(
        x=alt.X("cv:Q", title=f"CV {metric}", scale=alt.Scale(zero=False)),
        y=alt.Y("candidate:N", sort="-x" if better else "x", title=None, axis=alt.Axis(labelLimit=260)),
        color=alt.Color("iteration:O", scale=alt.Scale(range=PALETTE), title="iteration"),
        tooltip=["model:N", "iteration:O", alt.Tooltip("cv:Q", format=".4f"),
                 alt.Tooltip("fit seconds:Q", format=".1f"), "params:N"],
    ).properties(height=alt.Step(30)))


@cached_spec
def _trials_spec(trials: pd.DataFrame, metric: str, better: bool) -> dict[str, Any]:
    done = trials[trials["value"].notna()].copy()
    done["best so far"] = done["value"].cummax() if better else done["value"].cummin()
    points = alt.Chart(trials.dropna(subset=["value"])).mark_circle(size=70, opacity=0.85).encode(
        x=alt.X("number:Q", title="trial"), y=alt.Y("value:Q", title=f"CV {metric}", scale=alt.Scale(zero=False)),
        color=alt.Color("state:N", scale=alt.Scale(domain=["COMPLETE", "PRUNED", "FAIL"],
                                                   range=["#22d3ee", "#f472b6", "#ef4444"])),
        tooltip=["number:Q", "state:N", alt.Tooltip("value:Q", format=".4f"), "params:N"])
    line = alt.Chart(done).mark_line(color="#facc15", interpolate="step-after").encode(
        x="number:Q", y="best so far:Q")
    return vega_spec((points + line).properties(height=280))


def _importance_chart(items: list[dict[str, Any]]) -> None:
    imp = pd.DataFrame(items).head(20)
    if imp.empty or "feature" not in imp:
        return
    st.markdown("##### Feature importance (top 20)")
    show_chart(_importance_spec(imp))


@cached_spec
def _importance_spec(imp: pd.DataFrame) -> dict[str, Any]:
    return vega_spec(alt.Chart(imp).mark_bar(cornerRadius=3, color="#facc15").encode(
        x=alt.X("importance:Q", title="importance"),
        y=alt.Y("feature:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260)),
        tooltip=["feature:N", alt.Tooltip("importance:Q", format=".4f")],
    ).properties(height=alt.Step(20)))


def render_evaluation(state: RunState, run_dir: Path, key: str) -> None:
    ev = state.evaluation
    if not _ran(state, "evaluator"):
        return _waiting("evaluator", state)
    metric = state.objective.metric
    c = st.columns(4)
    c[0].metric(f"Holdout {metric}", fmt(ev.holdout_metrics.get(metric)))
    c[1].metric(f"CV {metric}", fmt(state.training.cv_score))
    c[2].metric("Overfitting risk", ev.overfit_risk or "—")
    c[3].metric("Train–CV gap", f"{ev.overfit_gap:.1%}" if ev.overfit_gap is not None else "—")
    st.markdown(ev.summary_md or "")
    curves = ev.curves or {}
    charts = []
    if curves.get("roc"):
        roc = pd.concat([pd.DataFrame({"fpr": v["fpr"], "tpr": v["tpr"], "class": str(k)})
                         for k, v in curves["roc"].items()], ignore_index=True)
        charts.append(("ROC (holdout)", _roc_spec(roc)))
    if curves.get("pr"):
        pr = pd.concat([pd.DataFrame({"recall": v["recall"], "precision": v["precision"], "class": str(k)})
                        for k, v in curves["pr"].items()], ignore_index=True)
        charts.append(("Precision–recall (holdout)", _pr_spec(pr)))
    if ev.confusion.get("matrix"):
        labels = [str(x) for x in ev.confusion.get("labels", [])]
        cells = [{"actual": labels[i], "predicted": labels[j], "rows": v}
                 for i, row in enumerate(ev.confusion["matrix"]) for j, v in enumerate(row)]
        charts.append(("Confusion matrix (holdout)", _confusion_spec(pd.DataFrame(cells), labels)))
    if curves.get("pred_vs_actual"):
        pva = pd.DataFrame(curves["pred_vs_actual"])
        charts.append(("Predicted vs actual (holdout)", _pred_vs_actual_spec(pva)))
        pva["residual"] = pva["predicted"] - pva["actual"]
        charts.append(("Residuals (holdout)", _residuals_spec(pva)))
    for i in range(0, len(charts), 2):
        cols = st.columns(2)
        for col, (title, spec) in zip(cols, charts[i:i + 2]):
            col.markdown(f"##### {title}")
            show_chart(spec, col)
    if ev.holdout_metrics:
        table = pd.DataFrame([{"metric": k, "holdout": v, "cv": state.training.cv_metrics.get(k)}
                              for k, v in ev.holdout_metrics.items()])
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={"holdout": st.column_config.NumberColumn(format="%.4f"),
                                    "cv": st.column_config.NumberColumn("CV", format="%.4f")})
    pngs = [p for p in ev.plots if (run_dir / p.path).is_file()]
    if pngs:
        with st.expander("Static evaluation plots (as in the report)"):
            cols = st.columns(min(3, len(pngs)))
            for col, plot in zip(cols * 3, pngs):
                show_image(run_dir / plot.path, col, caption=plot.title, width="stretch")


@cached_spec
def _roc_spec(roc: pd.DataFrame) -> dict[str, Any]:
    diag = alt.Chart(pd.DataFrame({"fpr": [0, 1], "tpr": [0, 1]})).mark_line(strokeDash=[4, 4], color="#6b7499").encode(
        x="fpr:Q", y="tpr:Q")
    lines = alt.Chart(roc).mark_line(strokeWidth=2.5, interpolate="step-after").encode(
        x=alt.X("fpr:Q", title="false positive rate"), y=alt.Y("tpr:Q", title="true positive rate"),
        color=alt.Color("class:N", scale=alt.Scale(range=PALETTE)),
        tooltip=["class:N", alt.Tooltip("fpr:Q", format=".3f"), alt.Tooltip("tpr:Q", format=".3f")])
    return vega_spec((diag + lines).properties(height=300))


@cached_spec
def _pr_spec(pr: pd.DataFrame) -> dict[str, Any]:
    return vega_spec(alt.Chart(pr).mark_line(strokeWidth=2.5).encode(
        x=alt.X("recall:Q"), y=alt.Y("precision:Q", scale=alt.Scale(zero=False)),
        color=alt.Color("class:N", scale=alt.Scale(range=PALETTE)),
        tooltip=["class:N", alt.Tooltip("recall:Q", format=".3f"), alt.Tooltip("precision:Q", format=".3f")],
    ).properties(height=300))


@cached_spec
def _confusion_spec(cm: pd.DataFrame, labels: list[str]) -> dict[str, Any]:
    heat = alt.Chart(cm).mark_rect(cornerRadius=3).encode(
        x=alt.X("predicted:N", sort=labels), y=alt.Y("actual:N", sort=labels),
        color=alt.Color("rows:Q", scale=alt.Scale(scheme="purples"), legend=None),
        tooltip=["actual:N", "predicted:N", "rows:Q"])
    txt = alt.Chart(cm).mark_text(fontSize=13, fontWeight="bold").encode(
        x=alt.X("predicted:N", sort=labels), y=alt.Y("actual:N", sort=labels), text="rows:Q",
        color=alt.condition(alt.datum.rows > cm["rows"].max() / 2, alt.value("#ffffff"), alt.value("#1f2340")))
    return vega_spec((heat + txt).properties(height=300))


@cached_spec
def _pred_vs_actual_spec(pva: pd.DataFrame) -> dict[str, Any]:
    lo, hi = float(min(pva.min())), float(max(pva.max()))
    ref = alt.Chart(pd.DataFrame({"actual": [lo, hi], "predicted": [lo, hi]})).mark_line(
        strokeDash=[4, 4], color="#6b7499").encode(x="actual:Q", y="predicted:Q")
    pts = alt.Chart(pva).mark_circle(size=45, opacity=0.7, color="#22d3ee").encode(
        x=alt.X("actual:Q", scale=alt.Scale(zero=False)), y=alt.Y("predicted:Q", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("actual:Q", format=".3f"), alt.Tooltip("predicted:Q", format=".3f")])
    return vega_spec((ref + pts).properties(height=300))


@cached_spec
def _residuals_spec(pva: pd.DataFrame) -> dict[str, Any]:
    return vega_spec(alt.Chart(pva).mark_bar(color="#a78bfa").encode(
        x=alt.X("residual:Q", bin=alt.Bin(maxbins=30)), y=alt.Y("count():Q", title="rows"),
    ).properties(height=300))


def render_critic(state: RunState, run_dir: Path, key: str) -> None:
    if not state.decisions:
        return _waiting("critic", state)
    icons = {"finalize": ":material/flag:", "refine_features": ":material/genetics:",
             "retrain_model": ":material/model_training:"}
    labels = {"finalize": "Finalize", "refine_features": "Refine features", "retrain_model": "Retrain the model"}
    for d in state.decisions:
        with st.container(border=True):
            st.markdown(f"{icons.get(d.action, ':material/rate_review:')} **Iteration {d.iteration}: {labels.get(d.action, d.action)}**"
                        f" · _{md_escape(d.source)}_")
            st.markdown(md_escape(d.reason))
    metric = state.objective.metric
    if state.iterations:
        its = pd.DataFrame([{"selected": "★" if s.iteration == state.selected_iteration else "",
                             "iteration": s.iteration, "model": s.model, f"CV {metric}": s.cv_score,
                             f"holdout {metric}": s.holdout_metrics.get(metric)} for s in state.iterations])
        st.markdown("##### Iterations")
        st.dataframe(its, hide_index=True, width="stretch",
                     column_config={f"CV {metric}": st.column_config.NumberColumn(format="%.4f"),
                                    f"holdout {metric}": st.column_config.NumberColumn(format="%.4f")})
        st.caption("The final model is the iteration with the best cross-validated score; the holdout is only "
                   "reported, never used to choose.")
    if state.notes:
        with st.expander(f"Run notes ({len(state.notes)})"):
            for n in state.notes:
                st.text("• " + n)
    if state.usage:
        render_usage(state.usage)


def render_usage(usage: dict[str, Any]) -> None:
    """Tokens, dollars, fallbacks and repairs of a language-model brain, per phase and in total."""
    total = usage.get("total", {})
    st.markdown("##### Language model")
    cols = st.columns(4)
    cols[0].metric("Model", str(usage.get("model") or usage.get("brain", "—")))
    cols[1].metric("Calls", total.get("calls", 0))
    cols[2].metric("Tokens in / out", f"{total.get('tokens_in', 0):,} / {total.get('tokens_out', 0):,}")
    cost = total.get("cost_usd")
    cols[3].metric("Cost", f"${cost:.4f}" if cost is not None else "tokens only")
    if usage.get("phases"):
        st.dataframe(pd.DataFrame([{"phase": k, **v} for k, v in usage["phases"].items()]), hide_index=True,
                     width="stretch")
    for reason_key, label in (("provider_down", "Provider down"), ("budget_exhausted", "Cost limit reached")):
        if usage.get(reason_key):
            st.warning(f"{label}: {md_escape(usage[reason_key])} — the offline brain finished the work.")
    if usage.get("fallbacks"):
        st.markdown("Fallbacks to the offline brain")
        st.dataframe(pd.DataFrame(usage["fallbacks"]).astype(str), hide_index=True, width="stretch")
    if usage.get("repairs"):
        st.markdown("Repair attempts")
        st.dataframe(pd.DataFrame(usage["repairs"]).astype(str), hide_index=True, width="stretch")
    with st.expander("Every call"):
        st.dataframe(pd.DataFrame(usage.get("calls", [])).astype(str), hide_index=True, width="stretch")


RENDERERS = {"profiler": render_profile, "features": render_features, "visualizer": render_plots,
             "trainer": render_model, "evaluator": render_evaluation, "critic": render_critic}


def render_panels(state: RunState, run_dir: Path, key: str) -> None:
    # The labels never change (the phase chips above show each phase's state): Streamlit selects the first tab
    # again when the selected tab's label changes, which took a person's chosen panel away mid-run. The choice is
    # also kept on the server (on_change="rerun"): a click the browser alone held was lost when it landed while a
    # live run's redraw was on its way.
    tabs = st.tabs([phase_label(p) for p in PHASES], key=f"{key}_tabs", on_change="rerun")
    for phase, tab in zip(PHASES, tabs):
        with tab:
            try:
                RENDERERS[phase](state, run_dir, key)
            except Exception as exc:  # a panel must never take the whole page down
                st.warning(f"This panel could not be drawn: {md_escape(type(exc).__name__)}")


# --------------------------------------------------------------------------- downloads

@st.cache_data(show_spinner=False, max_entries=8)
def export_zip(export_dir: str, mtime: float) -> bytes:
    buf = io.BytesIO()
    root = Path(export_dir)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, Path("export") / path.relative_to(root))
    return buf.getvalue()


def render_downloads(loaded: LoadedRun, key: str) -> None:
    state, run_dir = loaded.state, loaded.run_dir
    if state.status != "finished":
        return
    files = [(":material/neurology: Model", "model.joblib", "application/octet-stream"),
             (":material/description: Report", "report.md", "text/markdown"),
             (":material/table_view: Holdout predictions", "holdout_predictions.csv", "text/csv")]
    # The files are read when a button is pressed, not on every render: the holdout predictions of a 1M-row
    # run are 9 MB, and reading and hashing them for the media store took tens of milliseconds a rerun.
    cols = st.columns(4)
    for col, (label, name, mime) in zip(cols, files):
        path = run_dir / name
        if path.is_file():
            col.download_button(label, path.read_bytes, file_name=f"{state.run_id}_{name}", mime=mime,
                                key=f"{key}_dl_{name}", on_click="ignore", width="stretch")
    export = run_dir / "export"
    if export.is_dir():
        cols[3].download_button(":material/inventory_2: Export bundle (.zip)",
                                functools.partial(export_zip, str(export), export.stat().st_mtime),
                                file_name=f"{state.run_id}_export.zip", mime="application/zip",
                                key=f"{key}_dl_export", on_click="ignore", width="stretch")


# --------------------------------------------------------------------------- approval gates

GATE_LABELS = {"features": "Before applying features", "training": "Before training", "finalize": "Before finalizing"}


def _answer_gate(handle: RunHandle, gate_id: str, approve: bool, box: str) -> None:
    handle.answer_gate(gate_id, approve, st.session_state.get(box, "") if not approve else "")


def render_gate(loaded: LoadedRun, key: str) -> None:
    """The gate a run waits at: what is about to happen, Approve / Reject and a feedback box."""
    gate = loaded.state.pending_gate
    if gate is None or gate.status != "waiting" or loaded.state.status in TERMINAL:
        return
    d = gate.details
    with st.container(border=True, key=f"{key}_gate"):
        st.markdown(f"#### :material/pan_tool: Waiting for your approval — {md_escape(gate.title)}")
        st.caption(f"Gate `{gate.name}`, iteration {gate.iteration}. The run is paused; the time budget is not "
                   "running while it waits.")
        st.markdown(md_escape(gate.summary).replace("\\*\\*", "**"))
        if gate.name == "features":
            c = st.columns(4)
            c[0].metric("Shape before", " × ".join(str(v) for v in d.get("shape_before", [])))
            c[1].metric("Shape after", " × ".join(str(v) for v in d.get("shape_after", [])))
            c[2].metric("New columns", len(d.get("new_columns") or []))
            c[3].metric("Dropped columns", len(d.get("dropped_columns") or []))
            if d.get("dropped_columns"):
                st.caption("Dropped: " + ", ".join(f"`{md_escape(c)}`" for c in d["dropped_columns"]))
            if d.get("new_columns"):
                st.caption("New: " + ", ".join(f"`{md_escape(c)}`" for c in d["new_columns"][:40]))
            st.caption(f"Quick CV {md_escape(d.get('metric'))}: {fmt(d.get('cv_before'))} → {fmt(d.get('cv_after'))}")
            st.code(d.get("code") or "", language="python")
            if d.get("sample_after"):
                st.markdown("First rows after the transform")
                st.dataframe(pd.DataFrame(d["sample_after"]), hide_index=True, width="stretch")
        elif gate.name == "training":
            rows = [{"candidate": c["name"], "family": c["family"], "params": json.dumps(c["params"]),
                     "search space": json.dumps(c["search_space"])} for c in d.get("candidates") or []]
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        else:
            st.markdown(f"Critic proposes **{md_escape(d.get('action'))}**: {md_escape(d.get('reason'))}")
            if d.get("cv_history"):
                st.dataframe(pd.DataFrame(d["cv_history"]), hide_index=True, width="stretch")
        if loaded.handle is None:
            st.warning("This run is not live on this server any more, so the gate cannot be answered.",
                       icon=":material/link_off:")
            return
        box = f"{key}_gate_feedback_{gate.id}"
        st.text_area("Feedback for the brain (sent when you reject)", key=box, height=70,
                     placeholder='e.g. "drop column customer_id", "optimise recall", "do not use lightgbm", "retrain"')
        a, r = st.columns(2)
        a.button("Approve", type="primary", icon=":material/check_circle:", key=f"{key}_gate_approve",
                 on_click=_answer_gate, args=(loaded.handle, gate.id, True, box), width="stretch")
        r.button("Reject", icon=":material/cancel:", key=f"{key}_gate_reject",
                 on_click=_answer_gate, args=(loaded.handle, gate.id, False, box), width="stretch")


# --------------------------------------------------------------------------- the whole run view

def render_header(state: RunState) -> None:
    cfg = state.config
    parts = [f"**Run** `{state.run_id}`", f"dataset {md_escape(cfg.dataset_name or Path(cfg.data_path).name)}",
             f"target {md_escape(state.profile.target or cfg.target or '?')}",
             f"{md_escape(state.profile.task or cfg.task)}", f"metric {md_escape(state.objective.metric or '—')}",
             f"brain {md_escape(cfg.brain)}"]
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


def render_details(loaded: LoadedRun, key: str, show_downloads: bool = True) -> None:
    """What changes only when a phase starts or ends or reports progress: downloads, graph and panels."""
    state = loaded.state
    if state.profile.leakage_suspects:
        render_leakage(state, full=False)
    if show_downloads and state.status == "finished":
        render_downloads(loaded, key)
    with st.expander("Pipeline graph", icon=":material/account_tree:", expanded=True):
        render_graph(state)
    render_panels(state, loaded.run_dir, key)


# --------------------------------------------------------------------------- several files: join keys

DEDUP_LABELS = {"first": "Keep the first matching row per key", "mean": "Average numeric columns per key",
                "skip": "Leave this file out"}


@st.cache_data(show_spinner=False, max_entries=32)
def _proposals(main_path: str, other_path: str, mtimes: tuple[float, float]) -> list[dict[str, Any]]:
    from pipeline.joins import propose_keys

    return [p.to_dict() for p in propose_keys(read_preview(Path(main_path)), read_preview(Path(other_path)))]


@st.cache_data(show_spinner=False, max_entries=64)
def _evaluate(main_path: str, other_path: str, mk: str, ok: str, mtimes: tuple[float, float]) -> dict[str, Any]:
    from pipeline.joins import evaluate_key

    return evaluate_key(read_preview(Path(main_path)), read_preview(Path(other_path)), mk, ok).to_dict()


@st.cache_data(show_spinner=False, max_entries=16)
def _joined(main: tuple[str, str], specs: tuple[tuple[str, str, str, str, str], ...],
            mtimes: tuple[float, ...]) -> tuple[str, dict[str, str], list[str]]:
    """Join and write the Parquet the run reads (content-hashed under uploads/); returns (path, origin, notes)."""
    from pipeline.joins import join_tables, save_joined

    others = [{"name": name, "frame": read_preview(Path(p)), "main_key": mk, "other_key": ok, "dedup": how or None}
              for p, name, mk, ok, how in specs]
    result = join_tables(read_preview(Path(main[0])), others, main_name=main[1])
    path = save_joined(result, home() / "uploads", [main[1]] + [s[1] for s in specs])
    return str(path), result.origin, result.notes


def _proposal_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame({"main key": [r["main_key"] for r in rows], "other key": [r["other_key"] for r in rows],
                         "same name": [r["name_match"] for r in rows],
                         "overlap": [f"{r['overlap']:.0%}" for r in rows],
                         "rows matched": [f"{r['matched_rows']:.0%}" for r in rows],
                         "unique in other": [r["other_unique"] for r in rows],
                         "distinct": [f"{r['uniqueness']:.0%}" for r in rows],
                         "rows after join": [f"{r['rows_after']:,}" for r in rows]})


def choose_joins(files: list[tuple[Path, str]]) -> tuple[Path | None, str, list[str] | None]:
    """Several uploads: pick the main table, confirm or edit the proposed key per other file, resolve duplicates.

    Returns (joined Parquet path, display name, the main table's columns) or (None, "", None) while a join is
    blocked (a key that would duplicate rows and no resolution, a key that matches nothing, an unreadable file)."""
    from pipeline.data import DataError

    st.markdown("##### Join the tables")
    names = [name for _, name in files]
    by_name = dict(zip(names, [p for p, _ in files]))
    main_name = st.selectbox("Main table (holds the target; every one of its rows is kept)", names, key="join_main")
    main_path = by_name[main_name]
    try:
        main_cols = [str(c) for c in read_preview(main_path).columns]
    except DataError as exc:
        st.error(f"**Cannot read {md_escape(main_name)}:** {md_escape(exc)}", icon=":material/description:")
        return None, "", None
    specs, blocked = [], False
    for other_path, other_name in files:
        if other_name == main_name:
            continue
        ident = hashlib.sha1(f"{main_path}|{other_path}".encode()).hexdigest()[:10]
        mtimes = (main_path.stat().st_mtime, other_path.stat().st_mtime)
        with st.container(border=True):
            st.markdown(f"**{md_escape(other_name)}** → {md_escape(main_name)}")
            try:
                other_cols = [str(c) for c in read_preview(other_path).columns]
            except DataError as exc:
                st.error(f"**Cannot read this file:** {md_escape(exc)}", icon=":material/description:")
                blocked = True
                continue
            proposals = _proposals(str(main_path), str(other_path), mtimes)
            if proposals:
                st.caption("Proposed keys, best first (overlap: share of the main table's key values found here):")
                st.dataframe(_proposal_table(proposals), hide_index=True, width="stretch")
                top = proposals[0]
            else:
                st.caption("No key proposed: no column pair shares enough values. Pick the keys below.")
                top = {"main_key": main_cols[0], "other_key": other_cols[0]}
            a, b = st.columns(2)
            mk = a.selectbox(f"Key in {main_name}", main_cols, index=main_cols.index(top["main_key"]),
                             key=f"join_mk_{ident}")
            ok = b.selectbox(f"Key in {other_name}", other_cols, index=other_cols.index(top["other_key"]),
                             key=f"join_ok_{ident}")
            p = _evaluate(str(main_path), str(other_path), mk, ok, mtimes)
            st.caption(f"{p['overlap']:.0%} of the main key values found, {p['matched_rows']:.0%} of main rows "
                       f"matched (the others keep missing values), key "
                       f"{'unique' if p['other_unique'] else 'not unique'} here ({p['uniqueness']:.0%} distinct).")
            how = ""
            if p["overlap"] == 0:
                st.error("**This key joins nothing:** no main key value appears here. Pick other keys.",
                         icon=":material/link_off:")
                blocked = True
                continue
            if p["rows_after"] > p["rows_before"]:
                st.warning(f"**Duplicate rows:** {p['duplicated_keys']:,} key values repeat in "
                           f"{md_escape(other_name)}, so joining on {md_escape(ok)} would turn "
                           f"{p['rows_before']:,} rows into {p['rows_after']:,} (+{p['rows_after'] - p['rows_before']:,}). "
                           "Choose how to resolve it before running.", icon=":material/warning:")
                how = st.selectbox("Resolve duplicate keys", list(DEDUP_LABELS), index=None,
                                   format_func=DEDUP_LABELS.get, key=f"join_dup_{ident}",
                                   placeholder="Choose, or pick a unique key above") or ""
                if not how:
                    blocked = True
                    continue
            if how != "skip":
                specs.append((str(other_path), other_name, mk, ok, how))
    if blocked:
        st.info("Resolve the joins above to preview the joined table and run.", icon=":material/block:")
        return None, "", None
    if not specs:
        return main_path, main_name, main_cols
    mtimes = tuple(Path(p).stat().st_mtime for p in [str(main_path)] + [s[0] for s in specs])
    try:
        path, _origin, notes = _joined((str(main_path), main_name), tuple(specs), mtimes)
    except DataError as exc:
        st.error(f"**Cannot join:** {md_escape(exc)}", icon=":material/error:")
        return None, "", None
    for note in notes:
        st.caption(md_escape(note))
    keys = {s[2] for s in specs}   # the target comes from the main table, and is not a join key
    return Path(path), " + ".join([main_name] + [s[1] for s in specs]), [c for c in main_cols if c not in keys]

"""The Observatory: upload a table, set the goal, press Run pipeline, watch every phase live."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from pipeline.artifacts.templates import (
    TemplateBrain,
    apply_template,
    check_columns,
    list_templates,
    load_template,
)
from pipeline.engine.prepare import prepare
from pipeline.state import GATES, TERMINAL_STATUSES, RunConfig
from pipeline.tables.reader import DataError, infer_target
from pipeline.tables.samples import SAMPLES, sample_path
from ui import access
from ui.gate import GATE_LABELS, render_gate
from ui.joins import choose_joins
from ui.loading import load_run
from ui.progress import phase_key, render_header, render_pulse
from ui.run_view import render_details
from ui.runner import get_runner, home, max_concurrent
from ui.text import md_escape
from ui.uploads import UPLOAD_TYPES, read_preview, save_upload

SOURCE_UPLOAD, SOURCE_SAMPLE = "Upload a file", "Try a sample dataset"
BRAINS = {
    "offline": "Offline (rule-based, no API key)",
    "auto": "Auto (LLM when a key is given)",
    "anthropic": "Anthropic Claude",
    "openai": "OpenAI / compatible",
}
KEY_NAMES = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
PULSE_S = 0.5  # status line, phase chips and timeline of a live run: "at least once a second" with margin
IDLE_PULSE_S = 2.0  # a run still queued or waiting at a gate: only its place in line or an answer can change
DETAILS_EVERY_S = 3.0  # panels redraw at most this often for progress within a phase (trials, candidates)


def attached_run_id() -> str:
    """The run this tab shows: the URL wins (reload, second tab), then the session."""
    rid = st.query_params.get("run", "")
    if rid:
        st.session_state["run_id"] = rid
        return rid
    rid = st.session_state.get("run_id", "")
    if rid:
        st.query_params["run"] = rid
    return rid


def choose_data() -> tuple[Path | None, str, str | None, list[str] | None]:
    """Returns (path, display name, sample key, target choices: None for all columns).

    Several uploads are joined onto the main table first (ui.joins.choose_joins); the path is then the
    joined table's Parquet and the target choices are the main table's columns."""
    source = st.radio(
        "Data source", [SOURCE_UPLOAD, SOURCE_SAMPLE], horizontal=True, key="source", label_visibility="collapsed"
    )
    if source == SOURCE_UPLOAD:
        ups = st.file_uploader(
            "Drop a table here — CSV, TSV, Excel, Parquet or JSON (several files: they are joined on proposed keys)",
            type=UPLOAD_TYPES,
            key="upload",
            accept_multiple_files=True,
        )
        if not ups:
            return None, "", None, None
        if len(ups) == 1:
            return save_upload(ups[0].name, ups[0].getvalue()), ups[0].name, None, None
        return _joined_upload(ups)
    key = st.selectbox("Sample dataset", list(SAMPLES), format_func=lambda k: SAMPLES[k].title, key="sample")
    st.caption(SAMPLES[key].description)
    return sample_path(key, home() / "samples"), f"{key}.csv", key, None


def _joined_upload(ups) -> tuple[Path | None, str, str | None, list[str] | None]:
    files, seen = [], set()
    for u in ups:
        name = u.name if u.name not in seen else f"{Path(u.name).stem}-{len(seen)}{Path(u.name).suffix}"
        seen.add(name)
        files.append((save_upload(u.name, u.getvalue()), name))
    path, name, columns = choose_joins(files)
    return path, name, None, columns


def preview(frame: pd.DataFrame) -> None:
    c = st.columns(3)
    c[0].metric("Rows", f"{len(frame):,}")
    c[1].metric("Columns", f"{frame.shape[1]:,}")
    c[2].metric("Missing cells", f"{int(frame.isna().sum().sum()):,}")
    first, schema = st.tabs(["First rows", "Columns"], key="preview_tabs")
    with first:
        st.dataframe(frame.head(50), width="stretch", height=260)
    with schema:
        info = pd.DataFrame(
            {
                "column": [str(c) for c in frame.columns],
                "dtype": [str(t) for t in frame.dtypes],
                "missing": frame.isna().sum().to_numpy(),
                "unique": frame.nunique().to_numpy(),
            }
        )
        st.dataframe(info, hide_index=True, width="stretch", height=260)


def secrets_for(brain: str, provider_key: str, model: str, base_url: str) -> dict[str, str]:
    """The session's key (never stored) as the dict the brains read; st.secrets fills what is left."""
    secrets: dict[str, str] = {}
    try:
        for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "LLM_PROVIDER", "LLM_MODEL"):
            if name in st.secrets:
                secrets[name] = str(st.secrets[name])
    except Exception:  # no secrets.toml: fine
        pass
    if provider_key:
        secrets[KEY_NAMES.get(brain, "ANTHROPIC_API_KEY")] = provider_key
    if brain in KEY_NAMES:
        secrets["LLM_PROVIDER"] = brain
    if model:
        secrets["LLM_MODEL"] = model
    if base_url:
        secrets["OPENAI_BASE_URL"] = base_url
    return secrets


def new_run_form() -> None:
    data_col, settings_col = st.columns([1.25, 1], gap="large")
    with data_col:
        st.markdown("#### 1 · Data")
        path, name, sample, target_choices = choose_data()
        frame = None
        if path is not None:
            try:
                frame = read_preview(path)
            except DataError as exc:
                st.error(f"**Cannot read this file:** {md_escape(exc)}", icon=":material/description:")
            if frame is not None:
                preview(frame)
    with settings_col:
        st.markdown("#### 2 · Goal and settings")
        if frame is None:
            st.caption("Choose a file or a sample to set the target.")
            return
        columns = [str(c) for c in frame.columns if target_choices is None or str(c) in target_choices]
        suggested = SAMPLES[sample].target if sample else None
        try:
            suggested = suggested or infer_target(frame[columns])
        except DataError:
            suggested = columns[-1]
        ident = hashlib.sha1(str(path).encode()).hexdigest()[:10]
        target = st.selectbox(
            "Target column",
            columns,
            index=columns.index(suggested) if suggested in columns else len(columns) - 1,
            key=f"target_{ident}",
            help="Pre-filled with the inferred target.",
        )
        task = st.selectbox(
            "Task",
            ["auto", "binary", "multiclass", "regression"],
            key="task",
            help="Auto infers it from the target's values.",
        )
        objective = st.text_area(
            "Objective (plain English)",
            value=SAMPLES[sample].objective if sample else "",
            key=f"objective_{ident}",
            height=80,
            placeholder="e.g. predict churn; catching churners matters more than false alarms",
        )
        with st.expander("Settings", icon=":material/tune:"):
            brain = st.selectbox("Brain", list(BRAINS), format_func=BRAINS.get, key="brain")
            llm = brain != "offline"
            model = st.text_input(
                "Model",
                key="llm_model",
                disabled=not llm,
                placeholder="provider default, e.g. claude-sonnet-4-6 / gpt-4.1-mini",
            )
            api_key = st.text_input(
                "API key",
                type="password",
                key="api_key",
                disabled=not llm,
                help="Kept in this browser session only; never written to disk.",
            )
            base_url = st.text_input(
                "OpenAI-compatible base URL (optional)", key="base_url", disabled=brain not in ("openai", "auto")
            )
            a, b = st.columns(2)
            budget = a.number_input("Time budget (s)", min_value=10, max_value=3600, value=120, step=10, key="budget")
            loops = b.number_input(
                "Max loops",
                min_value=0,
                max_value=10,
                value=3,
                step=1,
                key="loops",
                help="How often the Critic may send the work back.",
            )
            gates = st.multiselect(
                "Approval gates",
                list(GATES),
                key="gates",
                format_func=GATE_LABELS.get,
                help="Pause the run for your approval before these steps (off by default).",
            )
            keep = st.multiselect(
                "Keep flagged columns",
                [str(c) for c in frame.columns if str(c) != target],
                key=f"keep_{ident}",
                help="Columns the profile flags as possible target leakage (recorded after the "
                "outcome) are left out of the features. Name here any you know are available "
                "before the outcome, to use them anyway.",
            )
            saved = [t["name"] for t in list_templates(get_runner().home)]
            template_name = st.selectbox(
                "Replay a template",
                ["(none)"] + saved,
                key="template",
                disabled=not saved,
                help="A finished run's recipe saved on the Runs page: objective, target, "
                "budget, gates, feature code and model family. Settings above are "
                "replaced by the template's.",
            )
        if st.button(
            "Run pipeline", type="primary", icon=":material/rocket_launch:", width="stretch", key="run_pipeline"
        ):
            config = RunConfig(
                data_path=str(path),
                target=target,
                objective=objective,
                task=task,
                brain=brain,
                model=model or None,
                time_budget_s=float(budget),
                max_loops=int(loops),
                dataset_name=name,
                owner=access.current_user() or "",
                gates=list(gates),
                keep_columns=list(keep),
            )
            try:
                template = None
                if template_name != "(none)":
                    template = load_template(template_name, get_runner().home)
                    check_columns(template, [str(c) for c in frame.columns])
                    config = apply_template(
                        config, template, keep={"brain", "model"} | ({"keep_columns"} if keep else set())
                    )
                with st.spinner("Reading the data and locking the holdout…"):
                    prepared = prepare(config, secrets_for(brain, api_key, model, base_url))
                if template is not None:
                    prepared.brain = TemplateBrain(prepared.brain, template)
            except DataError as exc:
                st.error(f"**Cannot start:** {md_escape(exc)}", icon=":material/error:")
                return
            handle = get_runner().start(prepared)
            st.session_state["run_id"] = handle.run_id
            st.query_params["run"] = handle.run_id
            st.rerun()
        active = len(get_runner().running())
        st.caption(
            f"This server runs at most {max_concurrent()} pipelines at once ({active} active now); "
            "more wait in a queue."
        )


def resume_run(run_dir: Path) -> None:
    from pipeline.engine.resume import prepare_resume

    try:
        prepared = prepare_resume(run_dir, secrets_for("auto", "", "", ""))
    except DataError as exc:
        st.session_state["resume_error"] = str(exc)
        return
    get_runner().start(prepared, run_dir)
    st.session_state["resumed"] = True


def live_view(run_id: str) -> None:
    """A run's page. While it is live, a small fragment redraws the status line, phase chips and timeline twice a
    second; the graph and the six panels (tables, charts, images: most of what a redraw costs the browser) are
    drawn again only when the run has moved on, so a busy browser tab keeps up with the clock."""
    first = load_run(run_id)
    if first is None:
        st.warning(f"No run with id {md_escape(run_id)} was found on this server.", icon=":material/search_off:")
        if st.button("Start a new run", key="forget_missing"):
            st.session_state.pop("run_id", None)
            st.query_params.clear()
            st.rerun()
        return
    was_live = first.state.status not in TERMINAL_STATUSES
    if st.session_state.get("resume_error"):
        st.error(f"**Cannot resume:** {md_escape(st.session_state.pop('resume_error'))}", icon=":material/error:")
    drawn_key, drawn_version, drawn_at = phase_key(first.state), first.version, time.monotonic()
    gate = first.state.pending_gate
    idle = (gate is not None and gate.status == "waiting") or (
        first.handle is not None and first.handle.queue_position > 0
    )

    # a run leaving the queue or a gate changes the phase key, and the page redraws with the faster pulse
    @st.fragment(run_every=(IDLE_PULSE_S if idle else PULSE_S) if was_live else None)
    def pulse() -> None:
        if st.session_state.pop("resumed", False):
            st.rerun(scope="app")  # the page starts polling the resumed run
        loaded = load_run(run_id) or first
        head, action = st.columns([6, 1], vertical_alignment="center")
        with head:
            render_header(loaded.state)
        if loaded.handle is not None and loaded.state.status not in TERMINAL_STATUSES:
            action.button(
                "Stop",
                icon=":material/stop_circle:",
                key="stop",
                on_click=loaded.handle.cancel,
                width="stretch",
                help="Cancel the run: the sandbox child is killed and the run is marked cancelled.",
            )
        if loaded.handle is None and loaded.state.status == "interrupted":
            action.button(
                "Resume",
                icon=":material/play_circle:",
                key="resume",
                on_click=resume_run,
                args=(loaded.run_dir,),
                type="primary",
                width="stretch",
                help="Continue from the last completed phase (the same data split and holdout).",
            )
        render_pulse(loaded)
        if was_live and (
            loaded.state.status in TERMINAL_STATUSES
            or phase_key(loaded.state) != drawn_key
            or (loaded.version != drawn_version and time.monotonic() - drawn_at >= DETAILS_EVERY_S)
        ):
            st.rerun(scope="app")  # the run moved on: draw the panels (and, at the end, the downloads) again

    pulse()
    render_gate(first, key="live")
    render_details(first, key="live", show_downloads=not was_live)


def main() -> None:
    st.title(":material/radar: Observatory")
    run_id = attached_run_id()
    if run_id:
        with st.expander("New run", icon=":material/add_circle:"):
            new_run_form()
        live_view(run_id)
    else:
        st.caption("Drop a dataset, write what you want in plain English, and press **Run pipeline**.")
        new_run_form()


main()

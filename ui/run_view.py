"""A run's details below its live status: downloads, the pipeline graph and the six phase panels as tabs."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pipeline.state import PHASES, RunState
from ui.downloads import render_downloads
from ui.isolation import render_isolation
from ui.loading import LoadedRun
from ui.panels.critic import render_critic
from ui.panels.evaluation import render_evaluation
from ui.panels.features import render_features
from ui.panels.model import render_model
from ui.panels.plots import render_plots
from ui.panels.profile import render_leakage, render_profile
from ui.progress import render_graph
from ui.text import md_escape, phase_label

RENDERERS = {
    "profiler": render_profile,
    "features": render_features,
    "visualizer": render_plots,
    "trainer": render_model,
    "evaluator": render_evaluation,
    "critic": render_critic,
}


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


def render_details(loaded: LoadedRun, key: str, show_downloads: bool = True) -> None:
    """What changes only when a phase starts or ends or reports progress: downloads, graph and panels."""
    state = loaded.state
    render_isolation(state)
    if state.profile.leakage_suspects:
        render_leakage(state, full=False)
    if show_downloads and state.status == "finished":
        render_downloads(loaded, key)
    with st.expander("Pipeline graph", icon=":material/account_tree:", expanded=True):
        render_graph(state)
    render_panels(state, loaded.run_dir, key)

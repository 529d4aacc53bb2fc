"""The Visualizations panel: the EDA plots and their code."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pipeline.state import RunState
from ui.charts import show_image
from ui.panels.common import ran, render_code_log, waiting_note
from ui.text import md_escape


def render_plots(state: RunState, run_dir: Path, key: str) -> None:
    if not ran(state, "visualizer"):
        return waiting_note("visualizer", state)
    plots = [p for p in state.plots.plots if (run_dir / p.path).is_file()]
    if not plots:
        st.info(
            "No exploratory plots were drawn in this run; the generated plot code and the sandbox's verdict are below.",
            icon=":material/palette:",
        )
    for i in range(0, len(plots), 2):
        cols = st.columns(2)
        for col, plot in zip(cols, plots[i : i + 2]):
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

"""The Features panel: the feature attempts, what was kept, and their code."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from pipeline.state import RunState
from ui.panels.common import ran, render_code_log, waiting_note
from ui.text import fmt


def render_features(state: RunState, run_dir: Path, key: str) -> None:
    feats = state.features
    if not ran(state, "features"):
        return waiting_note("features", state)
    attempts = pd.DataFrame(
        [
            {
                "iteration": a.iteration,
                "source": a.source,
                "kept": a.kept,
                "new columns": len(a.new_columns),
                "dropped": len(a.dropped_columns),
                "CV before": a.cv_before,
                "CV after": a.cv_after,
                "reason": a.reason,
            }
            for a in feats.attempts
        ]
    )
    c = st.columns(3)
    c[0].metric("Columns into the model", f"{len(feats.columns):,}")
    kept = [a for a in feats.attempts if a.kept]
    c[1].metric("Feature sets tried", len(feats.attempts), f"{len(kept)} kept", delta_color="off")
    last = feats.attempts[-1] if feats.attempts else None
    if last is not None and last.cv_after is not None and last.cv_before is not None:
        c[2].metric(
            f"Quick CV {state.objective.metric}",
            fmt(last.cv_after),
            f"{last.cv_after - last.cv_before:+.4f}",
            delta_color="normal" if state.objective.greater_is_better else "inverse",
        )
    if not attempts.empty:
        st.dataframe(
            attempts,
            hide_index=True,
            width="stretch",
            column_config={
                "CV before": st.column_config.NumberColumn(format="%.4f"),
                "CV after": st.column_config.NumberColumn(format="%.4f"),
                "kept": st.column_config.CheckboxColumn(),
            },
        )
    if last is not None and (last.new_columns or last.dropped_columns):
        a, b = st.columns(2)
        a.dataframe(
            pd.DataFrame({"new column": last.new_columns}),
            hide_index=True,
            width="stretch",
            height=min(38 + 35 * max(len(last.new_columns), 1), 250),
        )
        b.dataframe(
            pd.DataFrame({"dropped column": last.dropped_columns}),
            hide_index=True,
            width="stretch",
            height=min(38 + 35 * max(len(last.dropped_columns), 1), 250),
        )
    st.markdown("##### Feature code in force")
    st.code(feats.code or "# identity: the raw columns go straight to the model", language="python", line_numbers=True)
    with st.expander("Every generated snippet, with its sandbox check and run result"):
        render_code_log(state, run_dir, "features", key + "_feat")

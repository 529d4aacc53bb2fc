"""The Data profile panel, and the leakage warning shown above every panel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from pipeline.state import RunState
from pipeline.theme import PALETTE
from ui.charts import cached_spec, show_chart, vega_spec
from ui.panels.common import ran, waiting_note
from ui.text import md_escape


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
            text += "\n\n" + "\n".join(
                f"- **{md_escape(s.get('column', ''))}**: {md_escape(s.get('reason', ''))}" for s in out
            )
            text += (
                "\n\nKnown before the outcome after all? Start the run again with it under *Keep flagged "
                "columns* in the settings (`--keep-columns` on the command line), or reject the features gate "
                "with \u201ckeep column …\u201d."
            )
        else:
            text += " The Data Profiler panel says why."
        st.warning(text, icon=":material/warning:")
    if kept:
        text = (
            f"**Kept at your request although it looks like target leakage:** {names(kept)}. The model uses it: "
            "the holdout score may be optimistic, and predictions need the column."
        )
        if full:
            text += "\n\n" + "\n".join(
                f"- **{md_escape(s.get('column', ''))}**: {md_escape(s.get('reason', ''))}" for s in kept
            )
        st.error(text, icon=":material/warning:")


def render_profile(state: RunState, run_dir: Path, key: str) -> None:
    prof = state.profile
    if not ran(state, "profiler"):
        return waiting_note("profiler", state)
    render_leakage(state)
    c = st.columns(5)
    c[0].metric("Rows", f"{prof.n_rows:,}")
    c[1].metric("Columns", f"{prof.n_cols:,}")
    c[2].metric("Task", prof.task or "—")
    c[3].metric("Metric", state.objective.metric or "—")
    c[4].metric("Duplicate rows", f"{prof.duplicates:,}")
    st.caption(md_escape(prof.summary))
    flags = []
    for label, items in (
        ("constant", prof.constant_columns),
        ("id-like", prof.id_like_columns),
        ("dates", prof.date_columns),
        ("free text", prof.text_columns),
    ):
        flags += [{"flag": label, "column": c, "detail": ""} for c in items]
    flags += [
        {
            "flag": "possible leakage" + (" (kept by you)" if s.get("kept") else " (excluded)"),
            "column": str(s.get("column", s)),
            "detail": str(s.get("reason", "")),
        }
        for s in prof.leakage_suspects
    ]
    left, right = st.columns([1.3, 1], gap="medium")
    with left:
        st.markdown("##### Key findings")
        findings = prof.findings_md or ""
        if prof.leakage_note and findings.startswith(prof.leakage_note):  # already in the warning box above
            findings = findings[len(prof.leakage_note) :].lstrip()
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
                st.dataframe(
                    stats,
                    hide_index=True,
                    width="stretch",
                    column_config={"value": st.column_config.NumberColumn(format="%.3f")},
                )
        if prof.top_correlations:
            st.markdown("##### Most correlated pairs")
            st.dataframe(
                pd.DataFrame(prof.top_correlations).rename(columns={"a": "column a", "b": "column b"}),
                hide_index=True,
                width="stretch",
                height=min(38 + 35 * len(prof.top_correlations), 250),
            )
    cols = pd.DataFrame(
        [
            {
                "column": cp.name,
                "kind": cp.kind,
                "dtype": cp.dtype,
                "missing %": cp.missing_pct,
                "unique": cp.unique,
                "association": cp.target_association,
                "examples": ", ".join(cp.sample_values[:4]),
            }
            for cp in prof.columns
        ]
    )
    if not cols.empty:
        st.markdown("##### Columns")
        st.dataframe(
            cols,
            hide_index=True,
            width="stretch",
            height=min(38 + 35 * len(cols), 400),
            column_config={
                "missing %": st.column_config.ProgressColumn(format="%.1f%%", min_value=0, max_value=100),
                "association": st.column_config.ProgressColumn(
                    "association with target", format="%.2f", min_value=0, max_value=1
                ),
            },
        )


@cached_spec
def _class_balance_spec(cb: pd.DataFrame) -> dict[str, Any]:
    return vega_spec(
        alt.Chart(cb)
        .mark_bar(cornerRadius=3)
        .encode(
            x=alt.X("rows:Q", title="training rows"),
            y=alt.Y("class:N", sort="-x", title=None),
            color=alt.Color("class:N", legend=None, scale=alt.Scale(range=PALETTE)),
            tooltip=["class:N", "rows:Q"],
        )
        .properties(height=alt.Step(26))
    )

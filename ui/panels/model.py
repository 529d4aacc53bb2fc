"""The Model panel: screened candidates, tuning trials, the chosen model and its importances."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from pipeline.state import RunState
from pipeline.theme import PALETTE
from ui.charts import cached_spec, show_chart, vega_spec
from ui.panels.common import ran, waiting_note
from ui.text import fmt, md_escape


def render_model(state: RunState, run_dir: Path, key: str) -> None:
    tr = state.training
    if not ran(state, "trainer"):
        if tr.candidates or tr.trials:
            st.caption("Training in progress — candidates appear as they finish.")
        else:
            return waiting_note("trainer", state)
    metric = tr.metric or state.objective.metric
    st.markdown(f"##### Best model: {md_escape(tr.best or '—')}")
    c = st.columns(3)
    c[0].metric(f"CV {metric}", fmt(tr.cv_score))
    c[1].metric(f"Train {metric}", fmt(tr.train_metrics.get(metric)))
    c[2].metric("Decision threshold", fmt(tr.threshold, 3) if tr.threshold is not None else "default")
    cands = pd.DataFrame(
        [
            {
                "candidate": f"{cd.name} (it {cd.iteration})",
                "model": cd.name,
                "iteration": cd.iteration,
                "cv": cd.cv_score,
                "fit seconds": cd.fit_seconds,
                "note": cd.error,
                "params": json.dumps(cd.params, default=str),
            }
            for cd in tr.candidates
        ]
    )
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
                lambda p: json.dumps(p, default=str)
            )
            st.markdown("##### Optuna trials")
            show_chart(_trials_spec(trials, metric, state.objective.greater_is_better))
            st.caption(
                f"{len(trials)} trials: {int((trials['state'] == 'COMPLETE').sum())} complete, "
                f"{int((trials['state'] == 'PRUNED').sum())} pruned."
            )
        elif tr.feature_importance:
            _importance_chart(tr.feature_importance)
    if tr.feature_importance and not pd.DataFrame(tr.trials).empty:
        _importance_chart(tr.feature_importance)
    if not cands.empty:
        st.dataframe(
            cands.drop(columns=["candidate"]),
            hide_index=True,
            width="stretch",
            column_config={
                "cv": st.column_config.NumberColumn(f"CV {metric}", format="%.4f"),
                "fit seconds": st.column_config.NumberColumn(format="%.1f"),
            },
        )
    if tr.best_params:
        with st.expander("Tuned parameters of the best model"):
            st.json(tr.best_params)


@cached_spec
def _candidates_spec(scored: pd.DataFrame, metric: str, better: bool) -> dict[str, Any]:
    return vega_spec(
        alt.Chart(scored)
        .mark_bar(cornerRadius=3)
        .encode(
            x=alt.X("cv:Q", title=f"CV {metric}", scale=alt.Scale(zero=False)),
            y=alt.Y("candidate:N", sort="-x" if better else "x", title=None, axis=alt.Axis(labelLimit=260)),
            color=alt.Color("iteration:O", scale=alt.Scale(range=PALETTE), title="iteration"),
            tooltip=[
                "model:N",
                "iteration:O",
                alt.Tooltip("cv:Q", format=".4f"),
                alt.Tooltip("fit seconds:Q", format=".1f"),
                "params:N",
            ],
        )
        .properties(height=alt.Step(30))
    )


@cached_spec
def _trials_spec(trials: pd.DataFrame, metric: str, better: bool) -> dict[str, Any]:
    """Trials in the order they ended (searches of several families follow one another), coloured by family
    when more than one was tuned, else by state; the line is the best score so far."""
    trials = trials.reset_index(drop=True).assign(trial=lambda t: t.index + 1)
    if "family" not in trials:
        trials["family"] = ""
    done = trials[trials["value"].notna()].copy()
    done["best so far"] = done["value"].cummax() if better else done["value"].cummin()
    by_state = alt.Color(
        "state:N",
        scale=alt.Scale(domain=["COMPLETE", "PRUNED", "FAIL"], range=["#22d3ee", "#f472b6", "#ef4444"]),
    )
    several = trials["family"].nunique() > 1
    points = (
        alt.Chart(trials.dropna(subset=["value"]))
        .mark_circle(size=70, opacity=0.85)
        .encode(
            x=alt.X("trial:Q", title="trial"),
            y=alt.Y("value:Q", title=f"CV {metric}", scale=alt.Scale(zero=False)),
            color=alt.Color("family:N", title="family") if several else by_state,
            tooltip=["trial:Q", "family:N", "state:N", alt.Tooltip("value:Q", format=".4f"), "params:N"],
        )
    )
    line = alt.Chart(done).mark_line(color="#facc15", interpolate="step-after").encode(x="trial:Q", y="best so far:Q")
    return vega_spec((points + line).properties(height=280))


def _importance_chart(items: list[dict[str, Any]]) -> None:
    imp = pd.DataFrame(items).head(20)
    if imp.empty or "feature" not in imp:
        return
    st.markdown("##### Feature importance (top 20)")
    show_chart(_importance_spec(imp))


@cached_spec
def _importance_spec(imp: pd.DataFrame) -> dict[str, Any]:
    return vega_spec(
        alt.Chart(imp)
        .mark_bar(cornerRadius=3, color="#facc15")
        .encode(
            x=alt.X("importance:Q", title="importance"),
            y=alt.Y("feature:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260)),
            tooltip=["feature:N", alt.Tooltip("importance:Q", format=".4f")],
        )
        .properties(height=alt.Step(20))
    )

"""The Evaluation panel: holdout metrics and their charts (ROC, PR, confusion, residuals)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from pipeline.state import RunState
from pipeline.theme import PALETTE
from ui.charts import cached_spec, show_chart, show_image, vega_spec
from ui.panels.common import ran, waiting_note
from ui.text import fmt


def render_evaluation(state: RunState, run_dir: Path, key: str) -> None:
    ev = state.evaluation
    if not ran(state, "evaluator"):
        return waiting_note("evaluator", state)
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
        roc = pd.concat(
            [pd.DataFrame({"fpr": v["fpr"], "tpr": v["tpr"], "class": str(k)}) for k, v in curves["roc"].items()],
            ignore_index=True,
        )
        charts.append(("ROC (holdout)", _roc_spec(roc)))
    if curves.get("pr"):
        pr = pd.concat(
            [
                pd.DataFrame({"recall": v["recall"], "precision": v["precision"], "class": str(k)})
                for k, v in curves["pr"].items()
            ],
            ignore_index=True,
        )
        charts.append(("Precision–recall (holdout)", _pr_spec(pr)))
    if ev.confusion.get("matrix"):
        labels = [str(x) for x in ev.confusion.get("labels", [])]
        cells = [
            {"actual": labels[i], "predicted": labels[j], "rows": v}
            for i, row in enumerate(ev.confusion["matrix"])
            for j, v in enumerate(row)
        ]
        charts.append(("Confusion matrix (holdout)", _confusion_spec(pd.DataFrame(cells), labels)))
    if curves.get("pred_vs_actual"):
        pva = pd.DataFrame(curves["pred_vs_actual"])
        charts.append(("Predicted vs actual (holdout)", _pred_vs_actual_spec(pva)))
        pva["residual"] = pva["predicted"] - pva["actual"]
        charts.append(("Residuals (holdout)", _residuals_spec(pva)))
    for i in range(0, len(charts), 2):
        cols = st.columns(2)
        for col, (title, spec) in zip(cols, charts[i : i + 2]):
            col.markdown(f"##### {title}")
            show_chart(spec, col)
    if ev.holdout_metrics:
        table = pd.DataFrame(
            [{"metric": k, "holdout": v, "cv": state.training.cv_metrics.get(k)} for k, v in ev.holdout_metrics.items()]
        )
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={
                "holdout": st.column_config.NumberColumn(format="%.4f"),
                "cv": st.column_config.NumberColumn("CV", format="%.4f"),
            },
        )
    pngs = [p for p in ev.plots if (run_dir / p.path).is_file()]
    if pngs:
        with st.expander("Static evaluation plots (as in the report)"):
            cols = st.columns(min(3, len(pngs)))
            for col, plot in zip(cols * 3, pngs):
                show_image(run_dir / plot.path, col, caption=plot.title, width="stretch")


@cached_spec
def _roc_spec(roc: pd.DataFrame) -> dict[str, Any]:
    diag = (
        alt.Chart(pd.DataFrame({"fpr": [0, 1], "tpr": [0, 1]}))
        .mark_line(strokeDash=[4, 4], color="#6b7499")
        .encode(x="fpr:Q", y="tpr:Q")
    )
    lines = (
        alt.Chart(roc)
        .mark_line(strokeWidth=2.5, interpolate="step-after")
        .encode(
            x=alt.X("fpr:Q", title="false positive rate"),
            y=alt.Y("tpr:Q", title="true positive rate"),
            color=alt.Color("class:N", scale=alt.Scale(range=PALETTE)),
            tooltip=["class:N", alt.Tooltip("fpr:Q", format=".3f"), alt.Tooltip("tpr:Q", format=".3f")],
        )
    )
    return vega_spec((diag + lines).properties(height=300))


@cached_spec
def _pr_spec(pr: pd.DataFrame) -> dict[str, Any]:
    return vega_spec(
        alt.Chart(pr)
        .mark_line(strokeWidth=2.5)
        .encode(
            x=alt.X("recall:Q"),
            y=alt.Y("precision:Q", scale=alt.Scale(zero=False)),
            color=alt.Color("class:N", scale=alt.Scale(range=PALETTE)),
            tooltip=["class:N", alt.Tooltip("recall:Q", format=".3f"), alt.Tooltip("precision:Q", format=".3f")],
        )
        .properties(height=300)
    )


@cached_spec
def _confusion_spec(cm: pd.DataFrame, labels: list[str]) -> dict[str, Any]:
    heat = (
        alt.Chart(cm)
        .mark_rect(cornerRadius=3)
        .encode(
            x=alt.X("predicted:N", sort=labels),
            y=alt.Y("actual:N", sort=labels),
            color=alt.Color("rows:Q", scale=alt.Scale(scheme="purples"), legend=None),
            tooltip=["actual:N", "predicted:N", "rows:Q"],
        )
    )
    txt = (
        alt.Chart(cm)
        .mark_text(fontSize=13, fontWeight="bold")
        .encode(
            x=alt.X("predicted:N", sort=labels),
            y=alt.Y("actual:N", sort=labels),
            text="rows:Q",
            color=alt.condition(alt.datum.rows > cm["rows"].max() / 2, alt.value("#ffffff"), alt.value("#1f2340")),
        )
    )
    return vega_spec((heat + txt).properties(height=300))


@cached_spec
def _pred_vs_actual_spec(pva: pd.DataFrame) -> dict[str, Any]:
    lo, hi = float(min(pva.min())), float(max(pva.max()))
    ref = (
        alt.Chart(pd.DataFrame({"actual": [lo, hi], "predicted": [lo, hi]}))
        .mark_line(strokeDash=[4, 4], color="#6b7499")
        .encode(x="actual:Q", y="predicted:Q")
    )
    pts = (
        alt.Chart(pva)
        .mark_circle(size=45, opacity=0.7, color="#22d3ee")
        .encode(
            x=alt.X("actual:Q", scale=alt.Scale(zero=False)),
            y=alt.Y("predicted:Q", scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip("actual:Q", format=".3f"), alt.Tooltip("predicted:Q", format=".3f")],
        )
    )
    return vega_spec((ref + pts).properties(height=300))


@cached_spec
def _residuals_spec(pva: pd.DataFrame) -> dict[str, Any]:
    return vega_spec(
        alt.Chart(pva)
        .mark_bar(color="#a78bfa")
        .encode(
            x=alt.X("residual:Q", bin=alt.Bin(maxbins=30)),
            y=alt.Y("count():Q", title="rows"),
        )
        .properties(height=300)
    )

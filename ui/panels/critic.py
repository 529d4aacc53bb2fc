"""The Critic panel: each decision with its reason, and the language model's usage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from pipeline.state import RunState
from ui.panels.common import waiting_note
from ui.text import md_escape


def render_critic(state: RunState, run_dir: Path, key: str) -> None:
    if not state.decisions:
        return waiting_note("critic", state)
    icons = {
        "finalize": ":material/flag:",
        "refine_features": ":material/genetics:",
        "retrain_model": ":material/model_training:",
    }
    labels = {"finalize": "Finalize", "refine_features": "Refine features", "retrain_model": "Retrain the model"}
    for d in state.decisions:
        with st.container(border=True):
            st.markdown(
                f"{icons.get(d.action, ':material/rate_review:')} **Iteration {d.iteration}: {labels.get(d.action, d.action)}**"
                f" · _{md_escape(d.source)}_"
            )
            st.markdown(md_escape(d.reason))
    metric = state.objective.metric
    if state.iterations:
        its = pd.DataFrame(
            [
                {
                    "selected": "★" if s.iteration == state.selected_iteration else "",
                    "iteration": s.iteration,
                    "model": s.model,
                    f"CV {metric}": s.cv_score,
                    f"holdout {metric}": s.holdout_metrics.get(metric),
                }
                for s in state.iterations
            ]
        )
        st.markdown("##### Iterations")
        st.dataframe(
            its,
            hide_index=True,
            width="stretch",
            column_config={
                f"CV {metric}": st.column_config.NumberColumn(format="%.4f"),
                f"holdout {metric}": st.column_config.NumberColumn(format="%.4f"),
            },
        )
        st.caption(
            "The final model is the iteration with the best cross-validated score; the holdout is only "
            "reported, never used to choose."
        )
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
        st.dataframe(
            pd.DataFrame([{"phase": k, **v} for k, v in usage["phases"].items()]), hide_index=True, width="stretch"
        )
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

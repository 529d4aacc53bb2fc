"""The approval-gate widget: what the run waits for, with Approve and Reject."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from pipeline.engine.service import RunHandle
from pipeline.state import TERMINAL_STATUSES
from ui.loading import LoadedRun
from ui.text import fmt, md_escape

GATE_LABELS = {"features": "Before applying features", "training": "Before training", "finalize": "Before finalizing"}


def _answer_gate(handle: RunHandle, gate_id: str, approve: bool, box: str) -> None:
    handle.answer_gate(gate_id, approve, st.session_state.get(box, "") if not approve else "")


def render_gate(loaded: LoadedRun, key: str) -> None:
    """The gate a run waits at: what is about to happen, Approve / Reject and a feedback box."""
    gate = loaded.state.pending_gate
    if gate is None or gate.status != "waiting" or loaded.state.status in TERMINAL_STATUSES:
        return
    d = gate.details
    with st.container(border=True, key=f"{key}_gate"):
        st.markdown(f"#### :material/pan_tool: Waiting for your approval — {md_escape(gate.title)}")
        st.caption(
            f"Gate `{gate.name}`, iteration {gate.iteration}. The run is paused; the time budget is not "
            "running while it waits."
        )
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
            rows = [
                {
                    "candidate": c["name"],
                    "family": c["family"],
                    "params": json.dumps(c["params"]),
                    "search space": json.dumps(c["search_space"]),
                }
                for c in d.get("candidates") or []
            ]
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        else:
            st.markdown(f"Critic proposes **{md_escape(d.get('action'))}**: {md_escape(d.get('reason'))}")
            if d.get("cv_history"):
                st.dataframe(pd.DataFrame(d["cv_history"]), hide_index=True, width="stretch")
        if loaded.handle is None:
            st.warning(
                "This run is not live on this server any more, so the gate cannot be answered.",
                icon=":material/link_off:",
            )
            return
        box = f"{key}_gate_feedback_{gate.id}"
        st.text_area(
            "Feedback for the brain (sent when you reject)",
            key=box,
            height=70,
            placeholder='e.g. "drop column customer_id", "optimise recall", "do not use lightgbm", "retrain"',
        )
        a, r = st.columns(2)
        a.button(
            "Approve",
            type="primary",
            icon=":material/check_circle:",
            key=f"{key}_gate_approve",
            on_click=_answer_gate,
            args=(loaded.handle, gate.id, True, box),
            width="stretch",
        )
        r.button(
            "Reject",
            icon=":material/cancel:",
            key=f"{key}_gate_reject",
            on_click=_answer_gate,
            args=(loaded.handle, gate.id, False, box),
            width="stretch",
        )

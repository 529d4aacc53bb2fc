"""What the phase panels share: the not-yet-run caption and the generated-code log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from pipeline.state import PHASE_TITLES, TERMINAL_STATUSES, RunState
from ui.text import PANEL_TITLES, PHASE_MICONS, md_escape


def waiting_note(phase: str, state: RunState) -> None:
    if state.status in TERMINAL_STATUSES:
        st.caption(f"{PANEL_TITLES[phase]} did not run in this run.")
    else:
        st.caption(f"{PHASE_MICONS[phase]} {PANEL_TITLES[phase]} appears here when the {PHASE_TITLES[phase]} finishes.")


def ran(state: RunState, phase: str) -> bool:
    return any(r.phase == phase and r.status == "done" for r in state.history)


def code_entries(state: RunState, kind: str) -> list[dict[str, Any]]:
    return [e for e in state.code_log if e.get("kind") == kind]


def render_code_log(state: RunState, run_dir: Path, kind: str, key: str) -> None:
    """Every generated snippet of one kind with its sandbox check and run results."""
    entries = code_entries(state, kind)
    if not entries:
        return
    rows = [
        {
            "#": e.get("seq"),
            "iteration": e.get("iteration"),
            "attempt": e.get("attempt"),
            "source": e.get("source", ""),
            "check": "passed" if e.get("check_ok") else "rejected",
            "run": "ran" if e.get("run_ok") else ("—" if not e.get("check_ok") else "failed"),
            "seconds": e.get("duration_s"),
            "error": (f"{e.get('error_type', '')}: {e.get('error', '')}" if e.get("error") else ""),
        }
        for e in entries
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={"seconds": st.column_config.NumberColumn(format="%.2f")},
    )
    labels = [
        f"#{e.get('seq')} · iteration {e.get('iteration')} · try {e.get('attempt')} · "
        f"{'ok' if e.get('run_ok') else 'failed'}"
        for e in entries
    ]
    choice = st.selectbox(
        "Show the code of",
        range(len(entries)),
        index=len(entries) - 1,
        format_func=lambda i: labels[i],
        key=f"{key}_code_pick",
    )
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

"""The sandbox layers a run's generated code got on this host, said at the top of the run when some are missing."""

from __future__ import annotations

import streamlit as st

import sandbox
from pipeline.state import RunState


def render_isolation(state: RunState) -> None:
    """A warning naming each kernel layer the host refused and what it would have stopped; one quiet line naming
    the layers when all are active (nothing before any generated code has run)."""
    layers = next((e.get("isolation") for e in reversed(state.code_log) if e.get("isolation")), "")
    if not layers:
        return
    missing = sandbox.missing_layers(layers)
    if not missing:
        st.caption(
            ":material/shield: Generated code runs in the full process sandbox on this host: a fresh process per "
            f"run with no keys, namespaces, Landlock, seccomp, limits and an audit hook (`{layers}`)."
        )
        return
    lines = "\n".join(f"- **{name}**: {meaning}" for name, meaning in missing.items())
    st.warning(
        "**This host refuses part of the code sandbox.** Missing here:\n"
        f"{lines}\n\n{sandbox.REMAINING}\n\nActive: `{layers}`",
        icon=":material/shield:",
    )

"""The one `Runner` of this server process (shared by every session) and where runs live on disk."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from pipeline.engine.service import Runner


def max_concurrent() -> int:
    try:
        return max(1, int(os.environ.get("MLPIPELINE_MAX_CONCURRENT", "2")))
    except ValueError:
        return 2


@st.cache_resource(show_spinner=False)
def get_runner() -> Runner:
    """One Runner per server process: every session and tab shares its registry of live runs."""
    return Runner(max_concurrent=max_concurrent())


def home() -> Path:
    return get_runner().home

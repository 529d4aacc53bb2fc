"""Text the pages show: escaping for markdown, numbers and durations, phase names and icons."""

from __future__ import annotations

import re
from typing import Any

PANEL_TITLES = {
    "profiler": "Data profile",
    "features": "Features",
    "visualizer": "Visualizations",
    "trainer": "Model",
    "evaluator": "Evaluation",
    "critic": "Critic",
}
# Material icons ship with Streamlit's own font, so they render on any machine (emoji need a system font).
PHASE_MICONS = {
    "profiler": ":material/biotech:",
    "features": ":material/genetics:",
    "visualizer": ":material/palette:",
    "trainer": ":material/model_training:",
    "evaluator": ":material/target:",
    "critic": ":material/rate_review:",
}


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&])")


def md_escape(text: Any) -> str:
    """Make data-derived text inert inside Streamlit markdown (no formatting, links, LaTeX or directives)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def phase_label(phase: str) -> str:
    return f"{PHASE_MICONS[phase]} {PANEL_TITLES[phase]}"


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if f != f:
        return "—"
    return f"{f:.{digits}f}"


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"

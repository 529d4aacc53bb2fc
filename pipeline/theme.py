"""The Neural Observatory look, shared by every plot so charts match the app's dark theme."""

from __future__ import annotations

from typing import Any

BACKGROUND = "#0b1020"
PANEL = "#111830"
TEXT = "#e6e9f5"
GRID = "#26304f"
PALETTE = ["#7c5cff", "#22d3ee", "#f472b6", "#facc15", "#34d399", "#fb923c", "#a3e635", "#60a5fa"]

PHASE_COLORS: dict[str, str] = {
    "profiler": "#22d3ee",
    "features": "#a78bfa",
    "visualizer": "#f472b6",
    "trainer": "#facc15",
    "evaluator": "#34d399",
    "critic": "#fb923c",
}


def rc_params(dark: bool = True) -> dict[str, Any]:
    """Matplotlib rc for seaborn's set_theme(rc=...): dark panels, light ink, the app's palette."""
    bg, panel, ink, grid = (BACKGROUND, PANEL, TEXT, GRID) if dark else ("#ffffff", "#f6f7fb", "#1f2340", "#dde1ee")
    return {
        "figure.facecolor": bg,
        "axes.facecolor": panel,
        "savefig.facecolor": bg,
        "axes.edgecolor": grid,
        "axes.labelcolor": ink,
        "axes.titlecolor": ink,
        "text.color": ink,
        "xtick.color": ink,
        "ytick.color": ink,
        "grid.color": grid,
        "axes.grid": True,
        "axes.titleweight": "bold",
        "axes.titlesize": 12,
        "font.size": 10,
        "legend.frameon": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "figure.dpi": 100,
    }

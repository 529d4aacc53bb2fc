"""Visualizer: generated seaborn plot code, drawn in the sandbox on a sample of the training part."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd

from pipeline.brains.base import PlotRequest
from pipeline.run.codegen import plot_harness
from pipeline.run.context import PhaseContext
from pipeline.state import PlotInfo, PlotResult, RunState
from pipeline.theme import PALETTE

PLOT_SAMPLE = 5_000
PLOT_MAX_COLUMNS = 60
PLOTS_MIN_LEFT = 0.3  # plots are drawn only while this share of the budget is still left
PLOTS_MIN_TIMEOUT_S = 15.0


def _validate(workdir, code) -> str | None:
    manifest = workdir / "plots.json"
    if not manifest.exists():
        return "make_plots did not return any figures"
    items = json.loads(manifest.read_text())
    if not items:
        return "make_plots returned an empty list"
    return None


def run(state: RunState, ctx: PhaseContext) -> PlotResult:
    split, profile = ctx.split, state.profile
    if ctx.budget.remaining() - ctx.budget.finish_reserve() < PLOTS_MIN_LEFT * ctx.budget.seconds:
        state.notes.append(
            f"Iteration {state.iteration}: plots were skipped; less than {PLOTS_MIN_LEFT:.0%} of the "
            "time budget was left, and it goes to the trainer."
        )
        return PlotResult(plots=list(state.plots.plots), sample_note=state.plots.sample_note)
    new: list[str] = []
    if state.iteration > 1:
        kept = [a for a in state.features.attempts if a.kept and a.iteration == state.iteration]
        earlier = {
            c for a in state.features.attempts if a.kept and a.iteration < state.iteration for c in a.new_columns
        }
        frame = ctx.data.features.train
        new = [
            c
            for c in (kept[-1].new_columns if kept else [])
            if c not in earlier and c in frame.columns and pd.api.types.is_numeric_dtype(frame[c])
        ]
        if not new:
            state.notes.append(
                f"Iteration {state.iteration}: no new numeric features were kept, so the plots were not redrawn."
            )
            return PlotResult(plots=list(state.plots.plots), sample_note=state.plots.sample_note)
    else:
        frame = split.X_train.reset_index(drop=True)
    top = [
        c.name
        for c in sorted(profile.columns, key=lambda c: -(c.target_association or 0))
        if c.kind == "numeric" and c.name in frame.columns
    ]
    note = ""
    if frame.shape[1] > PLOT_MAX_COLUMNS:  # a wide table: plots draw a handful of columns, the sample needs no more
        ranked = {c.name: c.target_association or 0.0 for c in profile.columns}
        keep = new + sorted((c for c in frame.columns if c not in new), key=lambda c: -ranked.get(c, 0.0))
        frame = frame[keep[:PLOT_MAX_COLUMNS]]
        note = (
            f"Plots draw from the {PLOT_MAX_COLUMNS} of {len(keep):,} columns most associated with the "
            "target (single-column association from the profile)."
        )
    data = frame.copy()
    data[profile.target] = split.y_train.to_numpy()
    if len(data) > PLOT_SAMPLE:
        rows = np.sort(np.random.default_rng(state.config.seed).choice(len(data), PLOT_SAMPLE, replace=False))
        data = data.iloc[rows]
        note = (note + " " if note else "") + (
            f"Plots use a uniform random sample of {PLOT_SAMPLE:,} of the {len(frame):,} training rows."
        )
    data = data.loc[:, ~data.columns.duplicated()]
    sample_path = ctx.run_dir / "data" / f"plot_sample_it{state.iteration}.parquet"
    _to_parquet(data, sample_path)
    request = PlotRequest(
        profile=profile,
        objective=state.objective,
        columns=list(data.columns),
        top_features=top[:6],
        new_features=new[:6],
    )
    outcome = ctx.code.generate(
        "plots",
        state.iteration,
        request,
        ctx.brain,
        lambda: plot_harness(profile.target, profile.task, PALETTE),
        {"plot_sample.parquet": sample_path},
        _validate,
        timeout_s=min(90.0, max(PLOTS_MIN_TIMEOUT_S, ctx.budget.remaining() * 0.25)),
    )
    result = PlotResult(plots=list(state.plots.plots), sample_note=note)
    if not outcome.ok:
        state.notes.append(f"Plots could not be drawn this iteration: {outcome.error}")
        return result
    plots_dir = ctx.run_dir / "plots"
    plots_dir.mkdir(exist_ok=True)
    fresh = []
    for item in json.loads((outcome.workdir / "plots.json").read_text()):
        src = outcome.workdir / item["file"]
        if not src.is_file() or src.is_symlink():
            continue
        name = f"it{state.iteration}_{item['file']}"
        shutil.copyfile(src, plots_dir / name)
        fresh.append(PlotInfo(name=item["name"], title=item["title"], path=f"plots/{name}", insight=item["insight"]))
    result.plots = fresh + [p for p in result.plots if p.name not in {f.name for f in fresh}]
    return result


def _to_parquet(frame: pd.DataFrame, path) -> None:
    try:
        frame.to_parquet(path)
    except (TypeError, ValueError):
        frame.astype({c: str for c in frame.columns if frame[c].dtype == object}).to_parquet(path)

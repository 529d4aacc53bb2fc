"""Runs: every recorded run, open one in the Observatory, compare runs side by side, delete; the model registry
(filter by dataset, compare two or more registered models, mark one as production per dataset)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

import sandbox
from ui import access
from ui.downloads import render_downloads
from ui.loading import LoadedRun, load_run
from ui.panels.model import render_model
from ui.progress import (
    elapsed,
    render_chips,
    render_graph,
    render_header,
    render_status,
)
from ui.runner import get_runner
from ui.text import fmt, fmt_seconds, md_escape


def runs_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "run": r["run_id"],
                "started": datetime.fromtimestamp(r["created_at"]),
                "status": r["status"],
                "dataset": r["dataset"],
                "target": r["target"],
                "task": r["task"],
                "metric": r["metric"],
                "CV": r["cv_score"],
                "holdout": r["holdout_score"],
                "model": r["model"],
                "brain": r["brain"],
                "duration s": r["duration_s"],
            }
            for r in rows
        ]
    )


def delete_run(run_id: str) -> str:
    runner = get_runner()
    handle = runner.get(run_id)
    if handle is not None and not handle.done:
        return "running"
    row = runner.store.get(run_id)
    if row is None or not access.may_see(row.get("owner") or ""):
        return "not yours"
    runner.store.delete(run_id)
    if row:
        run_dir = Path(row["run_dir"]).resolve()
        if runner.home.resolve() in run_dir.parents and run_dir.is_dir():
            sandbox.remove_tree(run_dir)
    if st.session_state.get("run_id") == run_id:
        st.session_state.pop("run_id", None)
    return "deleted"


def compare(a: LoadedRun, b: LoadedRun) -> None:
    st.markdown("### Side by side")
    metrics = sorted(set(a.state.evaluation.holdout_metrics) | set(b.state.evaluation.holdout_metrics))
    table = pd.DataFrame(
        {
            "": ["dataset", "target", "task", "metric", "brain", "best model", "CV score", "iterations", "duration"]
            + [f"holdout {m}" for m in metrics],
            a.state.run_id: _facts(a, metrics),
            b.state.run_id: _facts(b, metrics),
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    left, right = st.columns(2, gap="medium")
    for col, run in ((left, a), (right, b)):
        with col:
            with st.container(border=True):
                render_header(run.state)
                render_status(run)
                render_graph(run.state)
                render_chips(run.state)
                render_model(run.state, run.run_dir, f"cmp_{run.state.run_id}")


def _facts(run: LoadedRun, metrics: list[str]) -> list[str]:
    s = run.state
    best = next((i for i in s.iterations if i.iteration == s.selected_iteration), None)
    return [
        s.config.dataset_name,
        s.profile.target,
        s.profile.task,
        s.objective.metric,
        s.config.brain,
        best.model if best else s.training.best or "—",
        fmt(best.cv_score if best else s.training.cv_score),
        str(len(s.iterations)),
        fmt_seconds(elapsed(s)),
    ] + [fmt(s.evaluation.holdout_metrics.get(m)) for m in metrics]


def save_template_form(run: LoadedRun) -> None:
    """Save this run's recipe as a named template (replayed with `python -m pipeline run DATA --template NAME`)."""
    from pipeline.artifacts.templates import save_template
    from pipeline.tables.reader import DataError

    name_col, button_col = st.columns([2, 1])
    name = name_col.text_input("Template name", key="template_name", placeholder="e.g. churn-recipe")
    if button_col.button("Save as template", icon=":material/bookmark_add:", key="save_template", disabled=not name):
        try:
            path = save_template(run.run_dir, name, get_runner().home)
        except DataError as exc:
            st.error(md_escape(exc), icon=":material/error:")
        else:
            st.success(f"Saved template **{md_escape(name)}** (`{md_escape(path.name)}`).", icon=":material/bookmark:")


def registry_section(picked: list[str], dataset_hash: str | None) -> None:
    """Registered models among the picked runs: lineage side by side, score against run, production mark."""
    from pipeline.artifacts.registry import compare_table, score_frame

    store = get_runner().store
    entries = store.registry(dataset_hash)
    if not entries:
        return
    chosen = [e for e in entries if e["run_id"] in picked] if picked else []
    st.markdown("### Model registry")
    chart = score_frame(chosen if len(chosen) >= 2 else entries)
    if not chart.empty:
        import altair as alt

        st.altair_chart(
            alt.Chart(chart)
            .mark_line(point=True)
            .encode(
                x=alt.X("run:N", sort=None, title="run (oldest first)"),
                y=alt.Y("score:Q", scale=alt.Scale(zero=False)),
                color="kind:N",
                tooltip=["run", "kind", "metric", alt.Tooltip("score:Q", format=".4f")],
            ),
            width="stretch",
        )
    if len(chosen) >= 2:
        st.markdown("#### Registered models compared")
        st.dataframe(compare_table(chosen), width="stretch", key="registry_compare")
    if len(chosen) == 1:
        entry = chosen[0]
        if entry["production"]:
            st.success(
                f"**{md_escape(entry['run_id'])}** is the production model for `{entry['dataset']}`.",
                icon=":material/verified:",
            )
        elif st.button("Mark as production", icon=":material/verified:", key="mark_production"):
            store.set_production(entry["run_id"])
            st.toast(f"{entry['run_id']} is now the production model for {entry['dataset']}.")
            st.rerun()


def main() -> None:
    st.title(":material/history: Runs")
    runner = get_runner()
    rows = runner.store.list(owner=access.owner_filter())
    if not rows:
        st.info("No runs yet. Start one in the Observatory.", icon=":material/radar:")
        return
    registered = runner.store.registry()
    datasets = {}
    for e in registered:
        datasets.setdefault(e["dataset_hash"], f"{e['dataset']} ({e['dataset_hash'][:8]})")
    label = st.selectbox("Dataset", ["All datasets"] + list(datasets.values()), key="runs_dataset")
    dataset_hash = next((h for h, name in datasets.items() if name == label), None)
    if dataset_hash:
        keep = {e["run_id"] for e in registered if e["dataset_hash"] == dataset_hash}
        rows = [r for r in rows if r["run_id"] in keep]
    production = {e["run_id"] for e in registered if e["production"]}
    frame = runs_frame(rows)
    frame.insert(1, "production", frame["run"].isin(production))
    c = st.columns(4)
    c[0].metric("Runs", len(frame))
    c[1].metric("Finished", int((frame["status"] == "finished").sum()))
    c[2].metric("Running or queued", int(frame["status"].isin(["running", "queued"]).sum()))
    c[3].metric("Failed or stopped", int(frame["status"].isin(["failed", "cancelled", "interrupted"]).sum()))
    st.caption("Select one run to open or delete it, two to compare them.")
    event = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="multi-row",
        key="runs_table",
        column_config={
            "started": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "CV": st.column_config.NumberColumn(format="%.4f"),
            "holdout": st.column_config.NumberColumn(format="%.4f"),
            "duration s": st.column_config.NumberColumn(format="%.0f"),
        },
    )
    picked = [frame.iloc[i]["run"] for i in event.selection.rows]
    if not picked:
        picked = [r for r in st.session_state.get("runs_pick", []) if r in set(frame["run"])]
    else:
        st.session_state["runs_pick"] = picked
    a, b, c_, _ = st.columns([1, 1, 1, 2])
    if a.button(
        "Open in Observatory", icon=":material/radar:", disabled=len(picked) != 1, key="open_run", width="stretch"
    ):
        st.session_state["run_id"] = picked[0]
        st.switch_page("app_pages/observatory.py", query_params={"run": picked[0]})
    confirm = c_.checkbox("Really delete", key="confirm_delete", disabled=not picked)
    if b.button(
        "Delete", icon=":material/delete:", disabled=not (picked and confirm), key="delete_runs", width="stretch"
    ):
        results = {rid: delete_run(rid) for rid in picked}
        kept = [rid for rid, res in results.items() if res == "running"]
        st.session_state.pop("runs_pick", None)
        if kept:
            st.warning("Still running, stop it first: " + ", ".join(kept), icon=":material/autorenew:")
        st.toast(f"Deleted {sum(1 for r in results.values() if r == 'deleted')} run(s).")
        st.rerun()
    registry_section(picked, dataset_hash)
    if len(picked) == 2:
        loaded = [load_run(rid) for rid in picked]
        if all(loaded):
            compare(loaded[0], loaded[1])
    elif len(picked) == 1:
        run = load_run(picked[0])
        if run is not None:
            with st.container(border=True):
                render_header(run.state)
                render_status(run)
                render_downloads(run, key="runs_one")
            if run.state.status == "finished":
                save_template_form(run)


main()

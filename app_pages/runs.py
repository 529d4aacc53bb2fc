"""Runs: every recorded run, open one in the Observatory, compare two side by side, delete."""
from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from app_pages import components as C


def runs_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{
        "run": r["run_id"], "started": datetime.fromtimestamp(r["created_at"]), "status": r["status"],
        "dataset": r["dataset"], "target": r["target"], "task": r["task"], "metric": r["metric"],
        "CV": r["cv_score"], "holdout": r["holdout_score"], "model": r["model"], "brain": r["brain"],
        "duration s": r["duration_s"]} for r in rows])


def delete_run(run_id: str) -> str:
    runner = C.get_runner()
    handle = runner.get(run_id)
    if handle is not None and not handle.done:
        return "running"
    row = runner.store.get(run_id)
    runner.store.delete(run_id)
    if row:
        run_dir = Path(row["run_dir"]).resolve()
        if runner.home.resolve() in run_dir.parents and run_dir.is_dir():
            shutil.rmtree(run_dir, ignore_errors=True)
    if st.session_state.get("run_id") == run_id:
        st.session_state.pop("run_id", None)
    return "deleted"


def compare(a: C.LoadedRun, b: C.LoadedRun) -> None:
    st.markdown("### Side by side")
    metrics = sorted(set(a.state.evaluation.holdout_metrics) | set(b.state.evaluation.holdout_metrics))
    table = pd.DataFrame({
        "": ["dataset", "target", "task", "metric", "brain", "best model", "CV score", "iterations", "duration"]
        + [f"holdout {m}" for m in metrics],
        a.state.run_id: _facts(a, metrics), b.state.run_id: _facts(b, metrics)})
    st.dataframe(table, hide_index=True, width="stretch")
    left, right = st.columns(2, gap="medium")
    for col, run in ((left, a), (right, b)):
        with col:
            with st.container(border=True):
                C.render_header(run.state)
                C.render_status(run)
                C.render_graph(run.state)
                C.render_model(run.state, run.run_dir, f"cmp_{run.state.run_id}")


def _facts(run: C.LoadedRun, metrics: list[str]) -> list[str]:
    s = run.state
    best = next((i for i in s.iterations if i.iteration == s.selected_iteration), None)
    return ([s.config.dataset_name, s.profile.target, s.profile.task, s.objective.metric, s.config.brain,
             best.model if best else s.training.best or "—", C.fmt(best.cv_score if best else s.training.cv_score),
             str(len(s.iterations)), C.fmt_seconds(C.elapsed(s))]
            + [C.fmt(s.evaluation.holdout_metrics.get(m)) for m in metrics])


def main() -> None:
    st.title(":material/history: Runs")
    runner = C.get_runner()
    rows = runner.store.list()
    if not rows:
        st.info("No runs yet. Start one in the Observatory.", icon=":material/radar:")
        return
    frame = runs_frame(rows)
    c = st.columns(4)
    c[0].metric("Runs", len(frame))
    c[1].metric("Finished", int((frame["status"] == "finished").sum()))
    c[2].metric("Running or queued", int(frame["status"].isin(["running", "queued"]).sum()))
    c[3].metric("Failed or stopped", int(frame["status"].isin(["failed", "cancelled", "interrupted"]).sum()))
    st.caption("Select one run to open or delete it, two to compare them.")
    event = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="multi-row",
                         key="runs_table", column_config={
                             "started": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
                             "CV": st.column_config.NumberColumn(format="%.4f"),
                             "holdout": st.column_config.NumberColumn(format="%.4f"),
                             "duration s": st.column_config.NumberColumn(format="%.0f")})
    picked = [frame.iloc[i]["run"] for i in event.selection.rows]
    if not picked:
        picked = [r for r in st.session_state.get("runs_pick", []) if r in set(frame["run"])]
    else:
        st.session_state["runs_pick"] = picked
    a, b, c_, _ = st.columns([1, 1, 1, 2])
    if a.button("Open in Observatory", icon=":material/radar:", disabled=len(picked) != 1, key="open_run", width="stretch"):
        st.session_state["run_id"] = picked[0]
        st.switch_page("app_pages/observatory.py", query_params={"run": picked[0]})
    confirm = c_.checkbox("Really delete", key="confirm_delete", disabled=not picked)
    if b.button("Delete", icon=":material/delete:", disabled=not (picked and confirm), key="delete_runs", width="stretch"):
        results = {rid: delete_run(rid) for rid in picked}
        kept = [rid for rid, res in results.items() if res == "running"]
        st.session_state.pop("runs_pick", None)
        if kept:
            st.warning("Still running, stop it first: " + ", ".join(kept), icon=":material/autorenew:")
        st.toast(f"Deleted {sum(1 for r in results.values() if r == 'deleted')} run(s).")
        st.rerun()
    if len(picked) == 2:
        loaded = [C.load_run(rid) for rid in picked]
        if all(loaded):
            compare(loaded[0], loaded[1])
    elif len(picked) == 1:
        run = C.load_run(picked[0])
        if run is not None:
            with st.container(border=True):
                C.render_header(run.state)
                C.render_status(run)
                C.render_downloads(run, key="runs_one")


main()

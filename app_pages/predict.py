"""Predict: score new rows with a finished run's model and download the predictions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from pipeline.artifacts.predict import load_model, predict_frame
from pipeline.tables.reader import DataError
from ui import access
from ui.runner import get_runner
from ui.text import fmt, md_escape
from ui.uploads import UPLOAD_TYPES, read_preview, save_upload


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_model(run_dir: str, mtime: float):
    return load_model(run_dir)


def main() -> None:
    st.title(":material/online_prediction: Predict")
    runner = get_runner()
    finished = [
        r
        for r in runner.store.list(owner=access.owner_filter())
        if r["status"] == "finished" and (Path(r["run_dir"]) / "model.joblib").is_file()
    ]
    if not finished:
        st.info("No finished run with a model yet. Finish a run in the Observatory first.", icon=":material/radar:")
        return
    by_id = {r["run_id"]: r for r in finished}
    default = st.session_state.get("run_id")
    ids = list(by_id)
    run_id = st.selectbox(
        "Finished run",
        ids,
        index=ids.index(default) if default in by_id else 0,
        key="predict_run",
        format_func=lambda i: (
            f"{by_id[i]['dataset']} → {by_id[i]['target']} · {by_id[i]['model']} "
            f"· {by_id[i]['metric']} {fmt(by_id[i]['holdout_score'])} · {i}"
        ),
    )
    row = by_id[run_id]
    run_dir = Path(row["run_dir"])
    model_path = run_dir / "model.joblib"
    model = cached_model(str(run_dir), model_path.stat().st_mtime)
    need = list(getattr(model, "required_columns", []) or getattr(model, "input_columns", []) or [])
    if need:
        with st.expander(f"Columns this model needs ({len(need)})"):
            st.dataframe(pd.DataFrame({"column": need}), hide_index=True, width="stretch")
    up = st.file_uploader(
        "New rows to score — CSV, TSV, Excel, Parquet or JSON", type=UPLOAD_TYPES, key="predict_upload"
    )
    use_holdout = st.button("Or score this run's holdout rows", key="predict_holdout", icon=":material/science:")
    frame = None
    try:
        if up is not None:
            frame = read_preview(save_upload(up.name, up.getvalue()))
        elif use_holdout and (run_dir / "data" / "holdout_X.parquet").is_file():
            frame = pd.read_parquet(run_dir / "data" / "holdout_X.parquet")
    except DataError as exc:
        st.error(f"**Cannot read this file:** {md_escape(exc)}", icon=":material/description:")
        return
    if frame is None:
        return
    target = row["target"]
    if target in frame.columns:
        frame = frame.drop(columns=[target])
    try:
        with st.spinner(f"Scoring {len(frame):,} rows…"):
            preds = predict_frame(model, frame)
    except DataError as exc:
        st.error(f"**Cannot score this data:** {md_escape(exc)}", icon=":material/error:")
        return
    out = pd.concat([preds.reset_index(drop=True), frame.reset_index(drop=True)], axis=1)
    st.success(f"Scored {len(out):,} rows.", icon=":material/check_circle:")
    c = st.columns(3)
    c[0].metric("Rows", f"{len(out):,}")
    if "prediction" in preds:
        if pd.api.types.is_numeric_dtype(preds["prediction"]) and row["task"] == "regression":
            c[1].metric("Mean prediction", fmt(preds["prediction"].mean(), 3))
        else:
            top = preds["prediction"].astype(str).value_counts()
            c[1].metric(
                "Most common prediction",
                str(top.index[0]),
                f"{top.iloc[0] / len(preds):.0%} of rows",
                delta_color="off",
            )
    st.dataframe(out.head(500), hide_index=True, width="stretch", height=360)
    st.download_button(
        "Download predictions (.csv)",
        out.to_csv(index=False).encode(),
        icon=":material/download:",
        file_name=f"predictions_{run_id}.csv",
        mime="text/csv",
        key="predict_download",
        on_click="ignore",
        type="primary",
    )


main()

"""The downloads of a finished run: model, report, holdout predictions and the export bundle."""

from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path

import streamlit as st

from ui.loading import LoadedRun


@st.cache_data(show_spinner=False, max_entries=8)
def export_zip(export_dir: str, mtime: float) -> bytes:
    buf = io.BytesIO()
    root = Path(export_dir)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, Path("export") / path.relative_to(root))
    return buf.getvalue()


def render_downloads(loaded: LoadedRun, key: str) -> None:
    state, run_dir = loaded.state, loaded.run_dir
    if state.status != "finished":
        return
    files = [
        (":material/neurology: Model", "model.joblib", "application/octet-stream"),
        (":material/description: Report", "report.md", "text/markdown"),
        (":material/table_view: Holdout predictions", "holdout_predictions.csv", "text/csv"),
    ]
    # The files are read when a button is pressed, not on every render: the holdout predictions of a 1M-row
    # run are 9 MB, and reading and hashing them for the media store took tens of milliseconds a rerun.
    cols = st.columns(4)
    for col, (label, name, mime) in zip(cols, files):
        path = run_dir / name
        if path.is_file():
            col.download_button(
                label,
                path.read_bytes,
                file_name=f"{state.run_id}_{name}",
                mime=mime,
                key=f"{key}_dl_{name}",
                on_click="ignore",
                width="stretch",
            )
    export = run_dir / "export"
    if export.is_dir():
        cols[3].download_button(
            ":material/inventory_2: Export bundle (.zip)",
            functools.partial(export_zip, str(export), export.stat().st_mtime),
            file_name=f"{state.run_id}_export.zip",
            mime="application/zip",
            key=f"{key}_dl_export",
            on_click="ignore",
            width="stretch",
        )

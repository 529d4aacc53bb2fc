"""Uploaded files: saved under the runs home, read (cached) for previews."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd
import streamlit as st

from ui.runner import home

UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "xls", "parquet", "pq", "json", "jsonl"]


def save_upload(name: str, data: bytes) -> Path:
    """Keep an uploaded file in the runs folder under a content hash (runs read it from disk)."""
    digest = hashlib.sha256(data).hexdigest()[:16]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._") or "data.csv"
    path = home() / "uploads" / digest / safe
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


@st.cache_data(show_spinner=False, max_entries=16)
def read_cached(path: str, mtime: float) -> pd.DataFrame:
    from pipeline.tables.reader import read_table

    return read_table(path)


def read_preview(path: Path) -> pd.DataFrame:
    return read_cached(str(path), path.stat().st_mtime)

"""Images and charts, cached so that a live run's redraws stay cheap."""

from __future__ import annotations

import contextlib
import hashlib
import io
import pickle
import threading
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st


def is_dark() -> bool:
    try:
        return (st.context.theme.type or "dark") != "light"
    except Exception:  # AppTest and very old browsers report no theme
        return True


MAX_IMAGE_WIDTH = 1460  # Streamlit's widest image (2 × 730 px): st.image resizes wider ones on every rerun


@st.cache_data(show_spinner=False, max_entries=64)
def image_bytes(path: str, mtime: float) -> bytes:
    """The bytes st.image would send for a picture file, worked out once per (path, mtime).

    st.image decodes a file on every rerun, resizes it when it is wider than MAX_IMAGE_WIDTH and re-encodes
    it (PNG when it has an alpha channel, else JPEG); the plots are 150-DPI PNGs up to 2,400 px wide, so that
    cost a few hundred milliseconds a render. Same rule, same bytes, so st.image passes them through as they are.
    """
    from PIL import Image

    data = Path(path).read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        fmt = "GIF" if img.format == "GIF" else "PNG" if img.mode in ("RGBA", "LA", "P") else "JPEG"
        if img.width <= MAX_IMAGE_WIDTH and img.format == fmt:
            return data
        out = img
        if img.width > MAX_IMAGE_WIDTH:
            out = img.resize(
                (MAX_IMAGE_WIDTH, int(1.0 * img.height * MAX_IMAGE_WIDTH / img.width)), resample=Image.BILINEAR
            )
        buf = io.BytesIO()
        out.save(buf, format=fmt, quality=90)
        return buf.getvalue()


def show_image(path: Path, target: Any = st, **kwargs: Any) -> None:
    """st.image of a file, with the decoding and resizing cached (see image_bytes)."""
    target.image(image_bytes(str(path), path.stat().st_mtime), **kwargs)


try:  # st.altair_chart holds this lock while it switches Altair's global theme and data transformer
    from streamlit.elements.vega_charts import _altair_globals_lock as _ALTAIR_LOCK
except ImportError:  # another Streamlit version: at least our own conversions do not interleave
    _ALTAIR_LOCK = threading.Lock()


def _arrow_dataset(data: Any, datasets: dict[str, Any]) -> dict[str, str]:
    """Altair data transformer, as st.altair_chart's: the frame as Arrow IPC bytes named by a content hash."""
    from streamlit import dataframe_util

    raw = dataframe_util.convert_anything_to_arrow_bytes(data)
    name = hashlib.blake2b(raw, digest_size=16).hexdigest()
    datasets[name] = raw
    return {"name": name}


alt.data_transformers.register("mlpipeline_arrow", _arrow_dataset)


def vega_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The Vega-Lite dict st.altair_chart would send for `chart`, without the schema validation."""
    datasets: dict[str, Any] = {}
    with _ALTAIR_LOCK:
        # no Altair default width/height (Streamlit sizes the chart), as st.altair_chart does
        theme = alt.theme.enable("none") if alt.theme.active == "default" else contextlib.nullcontext()
        with theme, alt.data_transformers.enable("mlpipeline_arrow", datasets=datasets):
            spec = chart.to_dict(validate=False)
    spec["datasets"] = {**(spec.get("datasets") or {}), **datasets}
    return spec


def show_chart(spec: dict[str, Any], target: Any = st) -> None:
    target.vega_lite_chart(spec=spec, width="stretch")


def _frame_digest(frame: pd.DataFrame) -> str:
    """Cache key of a chart's frame: its pickle's digest (Streamlit's own frame hashing costs ~4 ms a frame)."""
    return hashlib.blake2b(pickle.dumps(frame, protocol=5), digest_size=16).hexdigest()


cached_spec = st.cache_data(show_spinner=False, max_entries=32, hash_funcs={pd.DataFrame: _frame_digest})

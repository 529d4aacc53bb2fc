"""What the Observatory caches between reruns shows the same thing as before: images and chart specs."""

from __future__ import annotations

import io

from PIL import Image


def _png(path, size: tuple[int, int], mode: str = "RGBA") -> None:
    Image.new(mode, size, (30, 120, 200, 255)[: len(mode)]).save(path, format="PNG")


def test_wide_plot_is_resized_once_to_the_widest_streamlit_image(tmp_path):
    from ui.charts import MAX_IMAGE_WIDTH, image_bytes

    wide, narrow = tmp_path / "wide.png", tmp_path / "narrow.png"
    _png(wide, (2384, 525))
    _png(narrow, (746, 611))
    data = image_bytes(str(wide), wide.stat().st_mtime)
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG" and img.mode == "RGBA"
        assert img.size == (MAX_IMAGE_WIDTH, int(525 * MAX_IMAGE_WIDTH / 2384)), "same aspect ratio"
    assert image_bytes(str(narrow), narrow.stat().st_mtime) == narrow.read_bytes(), "narrow plots pass as they are"


def test_cached_chart_specs_are_what_altair_chart_sends(monkeypatch):
    """The charts skip Altair's schema validation but send the very spec and Arrow data st.altair_chart would."""
    import json

    import pandas as pd
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    from ui.charts import vega_spec
    from ui.panels import evaluation

    sent = []

    def both(chart):
        sent.append((vega_spec(chart), _convert_altair_to_vega_lite_spec(chart)))
        return sent[-1][0]

    cm = pd.DataFrame({"actual": ["a", "a", "b", "b"], "predicted": ["a", "b", "a", "b"], "rows": [5, 1, 2, 7]})
    pva = pd.DataFrame({"actual": [1.0, 2.0, 3.5, 4.0], "predicted": [1.2, 1.9, 3.0, 4.4]})
    monkeypatch.setattr(evaluation, "vega_spec", both)
    evaluation._confusion_spec.__wrapped__(cm, ["a", "b"])  # layered, with a condition on the data
    evaluation._pred_vs_actual_spec.__wrapped__(pva)  # two layers, two datasets
    evaluation._residuals_spec.__wrapped__(pva.assign(residual=pva["predicted"] - pva["actual"]))  # binned count
    assert len(sent) == 3
    for ours, streamlit in sent:
        assert json.dumps(ours, sort_keys=True, default=repr) == json.dumps(streamlit, sort_keys=True, default=repr)
        assert ours["datasets"] and all(isinstance(v, bytes) for v in ours["datasets"].values()), "Arrow data"


def test_timeline_spec_is_built_once_and_the_rows_go_with_it():
    """A live run's timeline changes every second; its spec does not: it is the chart's spec for any rows."""
    import json

    import pandas as pd

    from ui.charts import vega_spec
    from ui.progress import TIMELINE_COLUMNS, _timeline_chart, _timeline_spec

    frame = pd.DataFrame(
        [
            {
                "phase": "Data Profiler",
                "key": "profiler",
                "iteration": 1,
                "start": 0.1,
                "end": 3.2,
                "seconds": 3.1,
                "status": "done",
                "label": "it1",
            },
            {
                "phase": "Visualizer",
                "key": "visualizer",
                "iteration": 1,
                "start": 3.2,
                "end": 7.9,
                "seconds": 4.7,
                "status": "running",
                "label": "it1",
            },
        ]
    )
    assert list(frame.columns) == TIMELINE_COLUMNS
    with_rows = vega_spec(_timeline_chart(frame))
    assert with_rows.pop("datasets") and with_rows.pop("data")
    spec = _timeline_spec()
    assert "data" not in spec and "datasets" not in spec
    assert json.dumps(spec, sort_keys=True) == json.dumps(with_rows, sort_keys=True)

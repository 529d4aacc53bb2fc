"""Every file of the bad-input corpus uploaded into the Observatory (AppTest, one session in a row):
a clear st.error naming the problem or a usable preview; never an exception or a traceback on
screen, never HTML/JS from the file reaching markdown; the next upload still works."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from rel_fixtures import corpus  # noqa: F401  (fixture; sets the runs home first)
from streamlit.testing.v1 import AppTest

from pipeline.tables.reader import DataError, read_table

pytestmark = pytest.mark.slow  # the whole module runs real pipelines, apps or browsers

ROOT = Path(__file__).resolve().parents[2]
MIME = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".jsonl": "application/json",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xls": "application/vnd.ms-excel",
    ".parquet": "application/octet-stream",
}


def texts(at) -> str:
    parts = []
    for kind in ("markdown", "caption", "success", "error", "warning", "info", "title", "subheader", "header"):
        parts += [str(e.value) for e in getattr(at, kind)]
    for m in at.metric:
        parts += [str(m.label), str(m.value)]
    return "\n".join(parts)


def raw_markup(text: str) -> bool:
    """True when a tag from the data would reach markdown unescaped (outside a code span)."""
    no_code = re.sub(r"`[^`]*`", "", text)
    return re.search(r"(?<!\\)<(script|img|b>)", no_code, re.I) is not None


def upload(at, path: Path) -> None:
    at.file_uploader(key="upload").set_value((path.name, path.read_bytes(), MIME.get(path.suffix, "text/plain")))
    at.run()


def _preview_rows(at) -> str | None:
    return {m.label: m.value for m in at.metric}.get("Rows")


def test_every_bad_file_through_one_app_session(corpus):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    outcomes = {}
    for case, path in corpus:
        t0 = time.monotonic()
        upload(at, path)
        assert not at.exception, (case.name, at.exception)
        shown = texts(at)
        assert "Traceback" not in shown and not raw_markup(shown), case.name
        try:
            read_table(path)
            readable = True
        except DataError:
            readable = False
        if not readable:
            assert at.error, case.name
            message = at.error[0].value
            assert message.startswith("**Cannot read this file:**"), message
            assert case.expect in message.lower().replace("\\", ""), (case.name, message)
            assert _preview_rows(at) is None, "no stale preview of the previous file"
            outcomes[case.name] = "error at upload"
        else:
            assert not at.error, (case.name, [e.value for e in at.error])
            assert _preview_rows(at) not in (None, "0"), case.name
            if case.expect != "ok":  # readable but not learnable: the Run button names the problem
                at.button(key="run_pipeline").click()
                at.run()
                assert not at.exception
                assert at.error and at.error[0].value.startswith("**Cannot start:**"), case.name
                assert case.expect in at.error[0].value.lower().replace("\\", ""), (case.name, at.error[0].value)
                assert "run" not in at.query_params, "no run was started"
                outcomes[case.name] = "error at start"
            else:
                outcomes[case.name] = "preview"
        assert time.monotonic() - t0 < 60, f"{case.name} took too long in the app"
    # The session is still usable after all of that: a good file previews normally.
    good = next(p for c, p in corpus if c.name == "utf8_bom.csv")
    upload(at, good)
    assert not at.exception and not at.error and _preview_rows(at) == "80"
    assert sum(1 for v in outcomes.values() if v == "preview") >= 15
    assert sum(1 for v in outcomes.values() if v.startswith("error")) >= 25


def test_hostile_names_and_values_run_in_the_app_without_markup(corpus):
    """A full run on the HTML/JS-named file: every phase panel renders, nothing from the file becomes markup."""
    from ui.runner import get_runner

    path = next(p for c, p in corpus if c.name == "html_js_names.csv")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    upload(at, path)
    at.number_input(key="budget").set_value(10)
    at.number_input(key="loops").set_value(0)
    at.button(key="run_pipeline").click()
    at.run()
    assert not at.exception
    run_id = at.query_params["run"]
    run_id = run_id[0] if isinstance(run_id, list) else run_id
    handle = get_runner().get(run_id)
    deadline = time.time() + 180
    while not handle.done and time.time() < deadline:
        time.sleep(0.3)
    assert handle.snapshot().status == "finished", handle.snapshot().error
    at.run()
    assert not at.exception
    shown = texts(at)
    assert "<script" in "\n".join(c.name for c in handle.snapshot().profile.columns), "the name reached the engine"
    assert not raw_markup(shown)
    assert at.success and at.success[0].value.startswith("**Finished**")

"""An API key typed into the app's API-key field is never written anywhere the app writes.

AppTest session: a sample dataset, the Anthropic brain, a planted key in the "API key" field, the
provider pointed at a closed port (so every call fails and the run falls back to the offline brain),
Run pipeline, wait for Finished. Then every file under the app's runs home (run directories, the
SQLite store and its WAL, uploads, samples), every member of the export bundle the app offers for
download, and everything logged (all loggers at DEBUG) or printed meanwhile are searched for the key.
"""

from __future__ import annotations

import io
import logging
import socket
import time
import zipfile
from pathlib import Path

import pytest
from rel_fixtures import corpus  # noqa: F401  (fixture; sets the runs home first)
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.slow  # the whole module runs real pipelines, apps or browsers

ROOT = Path(__file__).resolve().parents[2]
PLANTED = "sk-ant-PLANTED-app-field-7731"


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: connections are refused


def test_key_typed_in_the_app_is_in_no_file_export_or_log(monkeypatch, capfd):
    from ui.downloads import export_zip
    from ui.runner import get_runner, home

    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "LLM_PROVIDER", "LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{_dead_port()}")
    monkeypatch.setenv("LLM_MAX_RETRIES", "1")
    monkeypatch.setenv("LLM_TIMEOUT_S", "3")
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setLevel(logging.DEBUG)
    watched = [logging.getLogger()] + [
        logging.getLogger(n) for n in ("streamlit", "anthropic", "httpx", "httpcore", "pipeline", "sandbox")
    ]
    levels = [lg.level for lg in watched]
    for lg in watched:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        at.radio(key="source").set_value("Try a sample dataset").run()
        at.selectbox(key="sample").set_value("wine").run()
        at.selectbox(key="brain").set_value("anthropic").run()
        at.text_input(key="api_key").set_value(PLANTED)
        at.number_input(key="budget").set_value(15)
        at.number_input(key="loops").set_value(0)
        at.button(key="run_pipeline").click().run()
        assert not at.exception, at.exception
        run_id = at.session_state["run_id"]
        handle = get_runner().get(run_id)
        assert handle is not None
        deadline = time.time() + 240
        while not handle.done and time.time() < deadline:
            time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception
    finally:
        for lg, level in zip(watched, levels):
            lg.removeHandler(handler)
            lg.setLevel(level)

    state = handle.snapshot()
    assert state.status == "finished", state.error
    assert state.config.brain == "anthropic"  # the LLM brain was really used, and fell back
    fallbacks = (state.usage or {}).get("fallbacks", [])
    assert any("unreachable or failing" in f["reason"] for f in fallbacks), state.usage
    assert any(s.value.startswith("**Finished**") for s in at.success)
    assert at.text_input(key="api_key").value == PLANTED  # the key really was in the field

    home = home()
    run_dir = handle.run_dir
    files = [p for p in home.rglob("*") if p.is_file()]
    assert run_dir / "run.json" in files and home / "store.sqlite" in files
    assert (run_dir / "export" / "predict.py").is_file() and (run_dir / "report.md").is_file()
    hits = [str(p) for p in files if PLANTED.encode() in p.read_bytes()]
    # The export bundle exactly as the download button serves it.
    bundle = zipfile.ZipFile(io.BytesIO(export_zip(str(run_dir / "export"), (run_dir / "export").stat().st_mtime)))
    members = bundle.namelist()
    assert "export/predict.py" in members
    hits += [f"zip:{m}" for m in members if PLANTED.encode() in bundle.read(m)]
    out, err = capfd.readouterr()
    logged = log.getvalue()
    assert logged, "the loggers were listening"
    assert not hits, hits
    assert PLANTED not in logged and PLANTED not in out + err
    # The fallback reason is recorded, scrubbed of the key, and the page says which brain did the work.
    assert PLANTED not in str(state.usage) and PLANTED not in " ".join(state.notes)
    print(
        f"key search: {len(files)} files under the runs home, {len(members)} export members, "
        f"{len(logged):,} characters of logs: no hit; {len(fallbacks)} fallbacks"
    )

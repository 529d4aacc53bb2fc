"""A real server restart: `streamlit run` is SIGKILLed mid-run and started again on the same runs home.

Finished runs are still listed with their artefacts; the interrupted run shows as interrupted in the
browser and its Resume button finishes it from the last completed phase.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from pipeline.samples import sample_frame

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(home: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, MLPIPELINE_HOME=str(home), OPENBLAS_NUM_THREADS="1")
    log = open(home / f"server-{port}.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("streamlit did not start")


def _idle(page) -> None:
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=30_000)


def test_server_killed_mid_run_then_restarted(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run([sys.executable, "-m", "pipeline", "run", str(_csv(tmp_path, "wine")), "--target", "cultivar",
                           "--time-budget", "12", "--max-loops", "0"], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, MLPIPELINE_HOME=str(home)), timeout=180)
    assert done.returncode == 0, done.stderr[-1500:]
    finished_dir = Path(done.stdout.strip().splitlines()[-1])
    proc, url = _start(home)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(url)
            page.locator("input[type=file]").first.set_input_files(str(_csv(tmp_path, "breast_cancer")))
            expect(page.get_by_text("Target column", exact=True)).to_be_visible()
            _idle(page)
            page.get_by_text("Settings", exact=True).click()
            budget = page.get_by_label("Time budget (s)")
            budget.fill("90")
            budget.press("Enter")
            _idle(page)
            page.get_by_role("button", name="Run pipeline").click()
            expect(page.get_by_text("Running", exact=False).first).to_be_visible()
            run_id = re.search(r"[?&]run=([\w-]+)", page.url).group(1)
            run_json = home / "runs" / run_id / "run.json"
            deadline = time.time() + 120
            while time.time() < deadline:      # wait until at least the Feature Engineer has been checkpointed
                try:
                    phases = [r["phase"] for r in json.loads(run_json.read_text())["state"]["history"]
                              if r["status"] == "done"]
                except (OSError, ValueError, KeyError):
                    phases = []
                if "features" in phases:
                    break
                time.sleep(0.2)
            assert "features" in phases
            os.killpg(proc.pid, signal.SIGKILL)                       # the server dies mid-run
            proc.wait(10)
            assert json.loads(run_json.read_text())["status"] == "running"
            proc, url = _start(home)                                  # ... and comes back
            page.goto(f"{url}/?run={run_id}")
            expect(page.get_by_text("interrupted", exact=False).first).to_be_visible()
            page.get_by_role("button", name="Resume").click()
            expect(page.get_by_text("Finished", exact=True).first).to_be_visible(timeout=240_000)
            state = json.loads(run_json.read_text())["state"]
            assert state["status"] == "finished" and (home / "runs" / run_id / "model.joblib").is_file()
            profiler_runs = [r for r in state["history"] if r["phase"] == "profiler"]
            assert len(profiler_runs) == 1, "resume re-ran a phase that had completed before the kill"
            from pipeline.store import RunStore

            listed = {r["run_id"]: r["status"] for r in RunStore(home / "store.sqlite").list()}
            assert listed == {finished_dir.name: "finished", run_id: "finished"}
            page.goto(f"{url}/?run={finished_dir.name}")               # the earlier run still opens, downloads too
            expect(page.get_by_text("Finished", exact=True).first).to_be_visible()
            expect(page.get_by_role("button", name=re.compile("Export bundle"))).to_be_visible()
            assert (finished_dir / "model.joblib").is_file() and (finished_dir / "report.md").is_file()
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)


def _csv(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.csv"
    if not path.exists():
        sample_frame(name).to_csv(path, index=False)
    return path


def test_disk_full_mid_run_fails_cleanly(tmp_path):
    """A file-size quota hit while the run writes its files: one plain reason, no model, an intact store."""
    import resource
    import sqlite3

    def quota() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, 150_000))

    out, store = tmp_path / "run", tmp_path / "s.sqlite"
    proc = subprocess.run([sys.executable, "-m", "pipeline", "run", str(_csv(tmp_path, "breast_cancer")), "--target",
                           "diagnosis", "--time-budget", "20", "--max-loops", "0", "--out", str(out), "--store", str(store)],
                          cwd=ROOT, capture_output=True, text=True, timeout=180, preexec_fn=quota)
    assert proc.returncode == 1
    assert "Failed: The disk is full" in proc.stderr and "Traceback" not in proc.stderr
    assert not (out / "model.joblib").exists() and not (out / "metrics.json").exists()
    with sqlite3.connect(store) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT status FROM runs").fetchall() == [("failed",)]

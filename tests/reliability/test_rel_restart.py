"""A real server restart: `streamlit run` is SIGKILLed mid-run and started again on the same runs home.

Finished runs are still listed with their artefacts; the interrupted run shows as interrupted in the
browser and its Resume button finishes it from the last completed phase.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from pipeline.tables.samples import sample_frame
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, kill_server, start_streamlit, wait_idle

pytestmark = pytest.mark.slow  # the whole module runs real pipelines, apps or browsers

ROOT = Path(__file__).resolve().parents[2]


def test_server_killed_mid_run_then_restarted(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            str(_csv(tmp_path, "wine")),
            "--target",
            "cultivar",
            "--time-budget",
            "12",
            "--max-loops",
            "0",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=dict(os.environ, MLPIPELINE_HOME=str(home)),
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-1500:]
    finished_dir = Path(done.stdout.strip().splitlines()[-1])
    proc, url, _ = start_streamlit(home)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(url)
            page.locator("input[type=file]").first.set_input_files(str(_csv(tmp_path, "breast_cancer")))
            expect(page.get_by_text("Target column", exact=True)).to_be_visible()
            wait_idle(page)
            page.get_by_text("Settings", exact=True).click()
            budget = page.get_by_label("Time budget (s)")
            budget.fill("90")
            budget.press("Enter")
            wait_idle(page)
            page.get_by_role("button", name="Run pipeline").click()
            expect(page.get_by_text("Running", exact=False).first).to_be_visible()
            run_id = re.search(r"[?&]run=([\w-]+)", page.url).group(1)
            run_json = home / "runs" / run_id / "run.json"
            deadline = time.time() + 120
            while time.time() < deadline:  # wait until at least the Feature Engineer has been checkpointed
                try:
                    phases = [
                        r["phase"]
                        for r in json.loads(run_json.read_text())["state"]["history"]
                        if r["status"] == "done"
                    ]
                except (OSError, ValueError, KeyError):
                    phases = []
                if "features" in phases:
                    break
                time.sleep(0.2)
            assert "features" in phases
            kill_server(proc)  # the server dies mid-run
            assert json.loads(run_json.read_text())["status"] == "running"
            proc, url, _ = start_streamlit(home)  # ... and comes back
            page.goto(f"{url}/?run={run_id}")
            # the first page after a cold start imports the engine (seconds on a busy machine)
            expect(page.get_by_text("interrupted", exact=False).first).to_be_visible(timeout=30_000)
            page.get_by_role("button", name="Resume").click()
            expect(page.get_by_text("Finished", exact=True).first).to_be_visible(timeout=240_000)
            state = json.loads(run_json.read_text())["state"]
            assert state["status"] == "finished" and (home / "runs" / run_id / "model.joblib").is_file()
            profiler_runs = [r for r in state["history"] if r["phase"] == "profiler"]
            assert len(profiler_runs) == 1, "resume re-ran a phase that had completed before the kill"
            from pipeline.run.store import RunStore

            listed = {r["run_id"]: r["status"] for r in RunStore(home / "store.sqlite").list()}
            assert listed == {finished_dir.name: "finished", run_id: "finished"}
            page.goto(f"{url}/?run={finished_dir.name}")  # the earlier run still opens, downloads too
            expect(page.get_by_text("Finished", exact=True).first).to_be_visible()
            expect(page.get_by_role("button", name=re.compile("Export bundle"))).to_be_visible()
            assert (finished_dir / "model.joblib").is_file() and (finished_dir / "report.md").is_file()
            browser.close()
    finally:
        kill_server(proc)


def _csv(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.csv"
    if not path.exists():
        sample_frame(name).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("quota", [60_000, 150_000, 400_000])
def test_disk_full_fails_cleanly(tmp_path, quota):
    """A file-size quota hit wherever the run writes: one plain reason, no model, an intact store.

    60 KB stops the first data file (always larger); the larger quotas stop whichever later file (plots, feature
    frames, models) outgrows them, depending on the model chosen, or none: then the run must have finished."""
    import resource
    import sqlite3

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (quota, quota))

    out, store = tmp_path / "run", tmp_path / "s.sqlite"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            str(_csv(tmp_path, "breast_cancer")),
            "--target",
            "diagnosis",
            "--time-budget",
            "20",
            "--max-loops",
            "0",
            "--out",
            str(out),
            "--store",
            str(store),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        preexec_fn=limit,
    )
    assert "Traceback" not in proc.stderr
    with sqlite3.connect(store) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        status = con.execute("SELECT status FROM runs").fetchall()
    if quota == 60_000 or proc.returncode != 0:
        assert proc.returncode == 1 and status == [("failed",)]
        assert "Failed: The disk is full" in proc.stderr
        assert not (out / "model.joblib").exists() and not (out / "metrics.json").exists()
    else:
        assert status == [("finished",)] and (out / "model.joblib").is_file()

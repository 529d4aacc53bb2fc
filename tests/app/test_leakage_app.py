"""The app says it when a column looks like target leakage, and lets the user keep such a column."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from app_support import ROOT, app_test
from sklearn.datasets import load_breast_cancer

pytestmark = pytest.mark.slow  # the whole module runs real pipelines, apps or browsers


def _planted_csv(path: Path) -> Path:
    """breast_cancer with the target, 5 % of its labels flipped, under an innocent name."""
    frame = load_breast_cancer(as_frame=True).frame
    flip = np.random.default_rng(0).random(len(frame)) < 0.05
    frame.insert(3, "review_code", np.where(flip, 1 - frame["target"], frame["target"]))
    frame.to_csv(path, index=False)
    return path


def _warnings(at) -> str:
    return "\n".join(str(w.value) for w in at.warning)


def test_a_run_page_warns_about_an_excluded_leak(home):
    data = _planted_csv(home / "planted_breast_cancer.csv")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            str(data),
            "--target",
            "target",
            "--time-budget",
            "20",
            "--max-loops",
            "0",
            "--max-trials",
            "2",
        ],
        cwd=ROOT,
        env=dict(os.environ, MLPIPELINE_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_id = Path(proc.stdout.strip().splitlines()[-1]).name
    at = app_test()
    at.query_params["run"] = run_id
    at.run()
    assert not at.exception
    warned = _warnings(at)
    # one line above the panels, and the reasons at the top of the profile panel
    assert warned.count("Possible target leakage, excluded from the features:** **review\\_code**") == 2, warned
    assert "all the other columns together get wrong" in warned and "Keep flagged columns" in warned


def test_keep_flagged_columns_reaches_the_run(home):
    from ui.runner import get_runner

    data = _planted_csv(home / "planted_keep.csv").read_bytes()
    at = app_test()
    at.run()
    at.file_uploader(key="upload").set_value(("planted.csv", data, "text/csv"))
    at.run()
    assert not at.exception
    [s for s in at.selectbox if s.label == "Target column"][0].set_value("target")
    at.number_input(key="budget").set_value(10)
    keep = [m for m in at.multiselect if m.label == "Keep flagged columns"][0]
    assert "review_code" in keep.options and "target" not in keep.options
    keep.set_value(["review_code"])
    at.button(key="run_pipeline").click()
    at.run()
    assert not at.exception
    run_id = at.session_state["run_id"]
    handle = get_runner().get(run_id)
    deadline = time.time() + 150
    while not handle.done and time.time() < deadline:
        time.sleep(0.3)
    state = handle.snapshot()
    assert state.status == "finished", state.error
    assert state.config.keep_columns == ["review_code"]
    assert [(s["column"], s["kept"]) for s in state.profile.leakage_suspects] == [("review_code", True)]
    at.run()
    assert any("Kept at your request" in str(e.value) for e in at.error)

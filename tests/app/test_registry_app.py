"""The model registry in the app: the Runs page filters by dataset, compares runs and marks the production model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from app_support import ROOT, app_test


def _runner():
    from ui.runner import get_runner

    return get_runner()


def _cli_run(home: Path, data: Path, *extra: str) -> str:
    env = dict(os.environ, MLPIPELINE_HOME=str(home))
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", str(data), "--time-budget", "8", "--max-loops", "0", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Path(proc.stdout.strip().splitlines()[-1]).name


@pytest.mark.slow
def test_runs_page_registry_filters_compares_and_marks_production(finished_run, home):
    second = _cli_run(home, finished_run["data"], "--target", "cultivar", "--objective", "balanced accuracy")
    first = finished_run["run_id"]
    store = _runner().store
    digest = next(e["dataset_hash"] for e in store.registry() if e["run_id"] == first)
    assert {first, second} <= {e["run_id"] for e in store.registry(digest)}

    at = app_test()
    at.switch_page("app_pages/runs.py").run()
    assert not at.exception
    label = next(o for o in at.selectbox(key="runs_dataset").options if digest[:8] in o)
    at.selectbox(key="runs_dataset").set_value(label).run()
    table = at.dataframe[0].value
    assert {first, second} <= set(table["run"])
    assert "production" in table.columns
    at.session_state["runs_pick"] = [first, second]
    at.run()
    assert not at.exception
    assert any("Registered models compared" in m.value for m in at.markdown)
    compared = next(d.value for d in at.dataframe if first in list(d.value.columns))
    assert second in list(compared.columns)
    assert {"CV score", "holdout score", "features", "hyperparameters", "objective"} <= set(compared.index)
    assert compared.loc["objective", second] == "balanced accuracy"
    assert compared.loc["dataset hash", first] == compared.loc["dataset hash", second] == digest[:12]
    assert at.get("vega_lite_chart"), "score-against-run chart"

    at.session_state["runs_pick"] = [second]
    at.run()
    at.button(key="mark_production").click().run()
    assert not at.exception
    assert store.production(digest) == second
    at.run()
    assert any("production model" in s.value for s in at.success)


def test_runs_page_saves_a_finished_run_as_template(finished_run, home):
    at = app_test()
    at.switch_page("app_pages/runs.py").run()
    at.session_state["runs_pick"] = [finished_run["run_id"]]
    at.run()
    at.text_input(key="template_name").input("wine-recipe").run()
    at.button(key="save_template").click().run()
    assert not at.exception
    from pipeline.artifacts.templates import load_template

    saved = load_template("wine-recipe", home)
    assert saved["target"] == "cultivar" and saved["from_run"] == finished_run["run_id"]


@pytest.mark.slow
def test_observatory_replays_a_saved_template(finished_run, home):
    """A template saved from a finished wine run drives a new run started from the Observatory."""
    import time

    from pipeline.artifacts.templates import load_template, save_template
    from ui.runner import get_runner

    save_template(finished_run["run_dir"], "wine-recipe", home)
    template = load_template("wine-recipe", home)
    at = app_test()
    at.run()
    at.radio(key="source").set_value("Try a sample dataset").run()
    at.selectbox(key="sample").set_value("wine").run()
    at.selectbox(key="template").set_value("wine-recipe").run()
    at.button(key="run_pipeline").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    handle = get_runner().get(at.session_state["run_id"])
    deadline = time.time() + 180
    while not handle.done and time.time() < deadline:
        time.sleep(0.3)
    state = handle.snapshot()
    assert state.status == "finished", state.error
    assert state.config.time_budget_s == template["config"]["time_budget_s"]
    assert state.config.max_loops == template["config"]["max_loops"]
    assert state.features.attempts[0].code.strip() == template["feature_code"].strip()
    assert any(c.name.endswith("(template)") for c in state.training.candidates)

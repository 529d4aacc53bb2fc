"""A run killed with SIGKILL mid-run (the process dies, like a server restart) is shown as interrupted,
and resumes from its last completed phase: through the CLI verb and through the app's Resume button."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rel_fixtures import corpus  # noqa: F401  (fixture; sets the runs home first)
from streamlit.testing.v1 import AppTest

from pipeline.tables.samples import sample_path

pytestmark = pytest.mark.slow  # the whole module runs real pipelines, apps or browsers

ROOT = Path(__file__).resolve().parents[2]


def _phase_done(phase: str):
    return lambda saved: any(r["phase"] == phase and r["status"] == "done" for r in saved["state"]["history"])


def _kill_after(phase_done: str, run_dir: Path, store: Path, data: Path, budget: str = "40") -> dict:
    """Start a real CLI run and SIGKILL its process group once `phase_done` has been checkpointed."""
    return _kill_when(_phase_done(phase_done), run_dir, store, data, budget)


def _kill_when(until, run_dir: Path, store: Path, data: Path, budget: str = "40", extra: tuple[str, ...] = ()) -> dict:
    """Start a real CLI run and SIGKILL its process group once its checkpoint satisfies `until`."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            str(data),
            "--time-budget",
            budget,
            "--max-loops",
            "1",
            "--out",
            str(run_dir),
            "--store",
            str(store),
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.time() + 120
    saved = {}
    try:
        while time.time() < deadline and proc.poll() is None:
            try:
                saved = json.loads((run_dir / "run.json").read_text())
            except (OSError, ValueError):
                time.sleep(0.1)
                continue
            if until(saved):
                break
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL, "the run was still going when killed"
    return json.loads((run_dir / "run.json").read_text())


def test_cli_resume_after_sigkill(tmp_path):
    data = sample_path("churn", tmp_path / "samples")
    run_dir, store = tmp_path / "run", tmp_path / "store.sqlite"
    before = _kill_after("trainer", run_dir, store, data)
    assert before["status"] == "running", "the dead process left its last checkpoint"
    done_before = [(r["phase"], r["iteration"]) for r in before["state"]["history"] if r["status"] == "done"]
    assert ("trainer", 1) in done_before
    assert not (run_dir / "model.joblib").exists()
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "resume", "--run", str(run_dir), "--store", str(store)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env=dict(os.environ, OPENBLAS_NUM_THREADS="1"),
    )
    resumed_s = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    after = json.loads((run_dir / "run.json").read_text())
    assert after["status"] == "finished"
    history = [(r["phase"], r["iteration"]) for r in after["state"]["history"]]
    assert history[: len(done_before)] == done_before, "completed phases are kept, not re-run"
    assert history.count(("profiler", 1)) == 1 and history.count(("trainer", 1)) == 1
    assert any(n.startswith("Resumed at evaluator (iteration 1)") for n in after["state"]["notes"])
    assert (run_dir / "model.joblib").is_file() and (run_dir / "holdout_predictions.csv").is_file()
    rows = subprocess.run(
        [sys.executable, "-m", "pipeline", "runs", "--store", str(store)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert after["run_id"] in rows and "finished" in rows
    print(f"resume after SIGKILL post-trainer: {resumed_s:.1f} s")
    # A finished run cannot be resumed: one clear message.
    again = subprocess.run(
        [sys.executable, "-m", "pipeline", "resume", "--run", str(run_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 2 and again.stderr.startswith("error: ") and "finished" in again.stderr


def test_a_gate_wish_survives_a_restart(tmp_path):
    """'do not use lightgbm' at the training gate, then the process dies inside the trainer: the resumed trainer
    (which runs the phase again) still leaves LightGBM out, and the wish is in the finished run's record. No loops,
    so the candidates on record are the ones the resumed trainer screened."""
    data = sample_path("churn", tmp_path / "samples")
    run_dir, store = tmp_path / "run", tmp_path / "store.sqlite"
    decisions = tmp_path / "decisions.json"
    decisions.write_text(json.dumps({"training": {"approve": False, "feedback": "do not use lightgbm"}}))

    def gate_answered_trainer_running(saved: dict) -> bool:
        answers = [g["status"] for g in saved["state"]["gate_log"] if g["name"] == "training"]
        return answers == ["rejected", "approved"] and not _phase_done("trainer")(saved)

    before = _kill_when(
        gate_answered_trainer_running,
        run_dir,
        store,
        data,
        budget="60",
        extra=("--approve", "training", "--decisions", str(decisions), "--max-loops", "0"),
    )
    assert before["status"] == "running" and not _phase_done("trainer")(before), "killed inside the trainer"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "resume", "--run", str(run_dir), "--store", str(store)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env=dict(os.environ, OPENBLAS_NUM_THREADS="1"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = json.loads((run_dir / "run.json").read_text())["state"]
    families = {c["family"] for c in after["training"]["candidates"]}
    assert families and "lightgbm" not in families, families
    assert not any("LightGBM" in s["model"] for s in after["iterations"]), [s["model"] for s in after["iterations"]]
    assert "do not use lightgbm" in after["user_feedback"]["training"]


def test_app_shows_interrupted_run_and_resumes_it(tmp_path):
    """The CLI run writes into the app's runs home; the app (another process, as after a restart) sees it
    as interrupted, lists it next to finished runs, and its Resume button finishes it."""
    from ui.runner import get_runner

    runner = get_runner()
    data = sample_path("wine", tmp_path / "samples")
    run_dir = runner.home / "runs" / "killed-run"
    before = _kill_after("visualizer", run_dir, runner.store.path, data)
    run_id = before["run_id"]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["run"] = run_id
    at.run()
    assert not at.exception
    assert any(
        "Interrupted" in e.value or "interrupted" in e.value
        for e in list(at.error) + list(at.warning) + list(at.markdown) + list(at.caption)
    ), "shown as interrupted"
    resume = [b for b in at.button if b.label == "Resume"]
    assert resume, [b.label for b in at.button]
    resume[0].click()
    at.run()
    assert not at.exception
    handle = runner.get(run_id)
    assert handle is not None
    deadline = time.time() + 180
    while not handle.done and time.time() < deadline:
        time.sleep(0.3)
    state = handle.snapshot()
    assert state.status == "finished", state.error
    phases = [(r.phase, r.iteration) for r in state.history]
    assert phases.count(("profiler", 1)) == 1 and phases.count(("visualizer", 1)) == 1
    assert any(n.startswith("Resumed at trainer (iteration 1)") for n in state.notes)
    assert runner.store.get(run_id)["status"] == "finished"
    at.run()
    assert not at.exception and at.success and at.success[0].value.startswith("**Finished**")

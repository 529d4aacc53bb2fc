"""Scale-out tuning: tune-worker processes join the run's Optuna study through a shared SQLite storage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from tests.engine.frames import churn_frame

pytestmark = pytest.mark.slow  # the whole module runs real pipelines, apps or browsers

ROOT = Path(__file__).resolve().parents[2]
TRIAL_CAP = 40


def test_tune_workers_share_the_studys_trial_cap_and_the_best_trial_is_used(tmp_path):
    data = tmp_path / "churn.csv"
    churn_frame(3000, seed=11).to_csv(data, index=False)
    out = tmp_path / "run"
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    env = {**os.environ, "OPTUNA_STORAGE": storage}
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            str(data),
            "--target",
            "churn",
            "--time-budget",
            "120",
            "--max-loops",
            "0",
            "--max-trials",
            str(TRIAL_CAP),
            "--out",
            str(out),
            "--store",
            str(tmp_path / "store.sqlite"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "pipeline", "tune-worker", "--run", str(out), "--wait", "150"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    _, run_err = run.communicate(timeout=240)
    assert run.returncode == 0, run_err[-2000:]
    worker_logs = [w.communicate(timeout=60)[1] for w in workers]
    assert all(w.returncode == 0 for w in workers), worker_logs
    state = json.loads((out / "run.json").read_text())["state"]
    study = optuna.load_study(study_name=f"{state['run_id']}-it1", storage=storage)
    finished = [t for t in study.trials if t.state.is_finished()]
    complete = [t for t in finished if t.state == optuna.trial.TrialState.COMPLETE]
    origins = {t.user_attrs.get("worker") for t in complete}
    assert len(origins) >= 2, f"trials came from {origins}: the workers did not join"
    # The cap is study-wide: the three processes share 40 trials (one in flight per other process may finish).
    assert TRIAL_CAP <= len(finished) <= TRIAL_CAP + len(workers), len(finished)
    ran_here = len(state["training"]["trials"])
    assert ran_here < TRIAL_CAP, f"the run ran {ran_here} trials itself: the workers took no share of the cap"
    # Each process samples with its own seed: no process repeats another's parameters.
    proposals = [tuple(sorted(t.params.items())) for t in complete]
    assert len(set(proposals)) == len(proposals), "workers proposed the same parameters as the run"
    best = study.best_trial
    assert {k: state["training"]["best_params"].get(k) for k in best.params} == best.params
    assert any("tune-workers on the shared study" in n for n in state["notes"])
